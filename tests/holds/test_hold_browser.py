"""Holds (issue 14) on a phone, in Chromium: a claim shows its pay-by time counting down, and
once the hold runs out the page says the order expired and the stock is back."""

from __future__ import annotations

import re
from typing import Any

from tests.support.browser import PHONE, SHOTS, host
from tests.support.live_process import Live


async def test_the_buy_page_counts_down_the_hold_then_says_expired(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    body = {"name": "野生蜂蜜 Wild honey", "price": 8800, "stock": 4, "unit": "jar"}
    pid = (await host(live, "POST", "/api/products", body))["id"]
    show = await host(
        live, "POST", "/api/shows", {"title": "Harvest", "product_ids": [pid], "hold_seconds": 5}
    )
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": pid})
    for lang, buy, pay, expired in (
        ("en", "Buy now", r"Pay within 0:0\d", "Expired"),
        ("zh-CN", "立即购买", r"请在 0:0\d 内付款", "已过期"),
    ):
        ctx = await browser.new_context(locale=lang, **PHONE)
        page = await ctx.new_page()
        await page.goto(f"{live.base}/s/{sid}?lang={lang}")
        await page.get_by_role("button", name=buy).click()
        hold = page.locator("#pay-left")
        await expect(hold).to_have_text(re.compile(pay))
        await page.locator("#parcel").scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"hold-countdown-{lang}.png"), full_page=True)
        await expect(page.locator("#orders .badge")).to_have_text(expired, timeout=12_000)
        await expect(hold).to_have_count(0)
        assert (await host(live, "GET", f"/api/products/{pid}"))["stock"] == 4
        await page.screenshot(path=str(SHOTS / f"hold-expired-{lang}.png"), full_page=True)
        await ctx.close()
