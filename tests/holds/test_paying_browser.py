"""Paying in Chromium (holds, issue 14): a buyer taps, sees the parcel with shipping, the
reference, the pay-by time and the co-op's receive code large enough to scan, says "I have
paid" with a screenshot; the host finds it in the console's queue and marks the parcel paid;
the buyer's page says so. Phones in English and Chinese, the console; screenshots kept."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx2 as httpx
import qrcode

from tests.helpers import png
from tests.support.browser import PHONE, SHOTS, host
from tests.support.live_process import TOKEN, Live

ADDRESS = {"name": "李雷", "phone": "13800138000", "province": "广东省", "city": "广州"}


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text).save(out, format="PNG")
    return out.getvalue()


async def setup(live: Live) -> tuple[str, str]:
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        upload = await c.put(
            "/api/uploads",
            content=qr_png("wxp://f2f0-sunlit-coop"),
            headers={"Content-Type": "image/png"},
        )
        assert upload.status_code == 201, upload.text
        qr = upload.json()["url"]
    await host(
        live,
        "PUT",
        "/api/payment-methods",
        {
            "methods": [
                {
                    "kind": "wechat",
                    "name": "微信支付 WeChat Pay",
                    "image_url": qr,
                    "instruction": {
                        "zh-CN": "扫码付款，备注付款码",
                        "en": "Scan, pay, note the ref",
                    },
                },
                {"kind": "bank", "name": "Bank", "details": "ICBC 6222 0000 1111 2222"},
            ]
        },
    )
    rules = {"elsewhere": {"first": 1500}, "regions": {"广东": {"first": 800, "extra_kg": 300}}}
    await host(live, "PUT", "/api/shipping", rules)
    body = {"name": "野生蜂蜜 Wild honey", "price": 4400, "stock": 20, "unit": "500g"}
    pid = (await host(live, "POST", "/api/products", body))["id"]
    show = await host(
        live, "POST", "/api/shows", {"title": "Harvest", "product_ids": [pid], "hold_seconds": 900}
    )
    await host(live, "POST", f"/api/shows/{show['id']}/ordering", {"open": True})
    await host(live, "POST", f"/api/shows/{show['id']}/featured", {"product_id": pid})
    return show["id"], pid


async def buy_and_say_paid(browser: Any, live: Live, sid: str, lang: str) -> tuple[Any, str]:
    from playwright.async_api import expect

    buy, i_paid, noticed = {
        "en": ("Buy now", "I have paid", "We got your notice"),
        "zh-CN": ("立即购买", "我已付款", "已收到您的付款通知"),
    }[lang]
    ctx = await browser.new_context(locale=lang, **PHONE)
    page = await ctx.new_page()
    await page.goto(f"{live.base}/s/{sid}?lang={lang}")
    await page.locator(".stepper button").last.click()  # 2 jars: 1 kg
    await page.get_by_role("button", name=buy).click()
    parcel = page.locator("#parcel")
    await expect(parcel).to_be_visible()
    # The address first: shipping goes by the province (广东: ¥8 for the first kg).
    form = page.locator("#delivery-form")
    for name, value in ADDRESS.items():
        await form.locator(f"[name={name}]").fill(value)
    await form.locator("[name=street]").fill("天河路 1 号")
    await form.locator("button[type=submit]").click()
    await expect(parcel.locator(".pay-sums")).to_contain_text("88.00")
    await expect(parcel.locator(".pay-sums")).to_contain_text("8.00")
    await expect(parcel.locator(".pay-sums dd").last).to_have_text(re.compile(r"96\.00"))
    await expect(page.locator("#pay-left")).to_have_text(re.compile(r"1[45]:\d\d"))
    reference = (await parcel.locator(".pay-code").text_content()) or ""
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", reference), reference
    qr = parcel.locator(".pay-qr")
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box is not None and box["width"] >= 250  # scannable from another phone
    await parcel.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"pay-parcel-{lang}.png"), full_page=True)
    await parcel.locator("input[type=file]").set_input_files(
        {"name": "transfer.png", "mimeType": "image/png", "buffer": png(60, 120)}
    )
    await parcel.get_by_role("button", name=i_paid).click()
    await expect(parcel.locator(".pay-notice")).to_contain_text(noticed)
    return page, reference


async def test_a_buyer_pays_and_the_host_marks_the_parcel_paid(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    sid, _ = await setup(live)
    phone_en, ref_en = await buy_and_say_paid(browser, live, sid, "en")
    phone_zh, ref_zh = await buy_and_say_paid(browser, live, sid, "zh-CN")
    await phone_zh.screenshot(path=str(SHOTS / "pay-said-zh-CN.png"), full_page=True)
    # The host: log in, open the show's payments, find the parcel by its reference.
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{live.base}/host?lang=en")
    await page.locator("input[name=token]").fill(TOKEN)
    await page.locator("form[action='/host/login'] button").click()
    await page.wait_for_selector("#dashboard")
    await page.goto(f"{live.base}/host/shows/{sid}/payments?lang=en")
    queue = page.locator("#pay-queue")
    await expect(queue.locator("tbody tr")).to_have_count(2)
    await expect(page.locator("#pay-counts")).to_contain_text("2 unpaid")
    await page.locator("#pay-q").fill(ref_en.lower())
    await expect(queue.locator("tbody tr")).to_have_count(1)
    row = queue.locator(f"tr[data-reference='{ref_en}']")
    await expect(row).to_contain_text("¥96.00")
    await expect(row.get_by_role("link", name="screenshot")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "pay-console-queue.png"), full_page=True)
    await row.get_by_role("button", name="Mark paid").click()
    await expect(queue.locator("tbody tr")).to_have_count(0)
    await page.locator("#pay-q").fill("")
    await expect(page.locator("#pay-counts")).to_contain_text("1 paid")
    await expect(page.locator("#pay-counts")).to_contain_text("¥96.00")
    await page.screenshot(path=str(SHOTS / "pay-console-paid.png"), full_page=True)
    orders = (await host(live, "GET", f"/api/shows/{sid}/orders"))["orders"]
    assert sorted(o["status"] for o in orders) == ["claimed", "paid"]
    # The buyer's page says so on its next look.
    await phone_en.reload()
    await expect(phone_en.locator("#parcel .pay-done")).to_contain_text("Paid")
    await phone_en.screenshot(path=str(SHOTS / "pay-done-en.png"), full_page=True)
    assert ref_zh != ref_en
    await ctx.close()
