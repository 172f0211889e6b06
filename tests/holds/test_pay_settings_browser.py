"""The co-op's payment methods and shipping fees set in the console, in Chromium (holds,
issue 14): a receive code uploaded, a province's rate added; the API then answers them."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import png
from tests.support.browser import SHOTS, host
from tests.support.live_process import TOKEN, Live


async def test_the_co_op_sets_how_buyers_pay_in_the_console(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{live.base}/host?lang=zh-CN")
    await page.locator("input[name=token]").fill(TOKEN)
    await page.locator("form[action='/host/login'] button").click()
    await page.wait_for_selector("#dashboard")
    await page.get_by_role("link", name="付款方式与运费").click()
    await page.wait_for_selector("#pay-settings")
    await page.get_by_role("button", name="添加付款方式").click()
    method = page.locator(".method").first
    await method.locator("[name=name]").fill("微信支付")
    await method.locator("input[type=file]").set_input_files(
        {"name": "qr.png", "mimeType": "image/png", "buffer": png(200, 200)}
    )
    await expect(method.locator(".qr-preview")).to_have_attribute(
        "src", re.compile(r"^/media/[\w-]+\.webp$")
    )
    await method.locator("[name='zh-CN']").fill("扫码付款，备注付款码")
    await page.locator("#methods-form button[type=submit]").click()
    await expect(page.locator("#methods-said")).to_have_text("已保存。")
    rates = page.locator("#rates")
    await rates.locator(".rate").nth(0).locator("[name=first]").fill("12")
    await rates.locator(".rate").nth(0).locator("[name=extra_kg]").fill("6")
    await page.get_by_role("button", name="添加省份").click()
    province = rates.locator(".rate").nth(2)
    await province.locator("[name=region]").fill("广东")
    await province.locator("[name=first]").fill("8")
    await province.locator("[name=extra_kg]").fill("3")
    await page.locator("[name=free_above]").fill("99")
    await page.locator("#shipping-form button[type=submit]").click()
    await expect(page.locator("#shipping-said")).to_have_text("已保存。")
    await page.screenshot(path=str(SHOTS / "pay-settings-zh-CN.png"), full_page=True)
    methods = (await host(live, "GET", "/api/payment-methods"))["methods"]
    assert [(m["kind"], m["name"], m["instruction"]) for m in methods] == [
        ("wechat", "微信支付", {"zh-CN": "扫码付款，备注付款码"})
    ]
    assert (await host(live, "GET", "/api/shipping")) == {
        "elsewhere": {"first": 1200, "extra_kg": 600},
        "regions": {"广东": {"first": 800, "extra_kg": 300}},
        "abroad": None,
        "free_above": 9900,
    }
    # Drawn again from what was saved.
    await page.reload()
    await expect(page.locator(".method [name=name]")).to_have_value("微信支付")
    await expect(page.locator(".rate [name=region]")).to_have_value("广东")
    await ctx.close()
