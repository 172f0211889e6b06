"""Options in real Chromium: the buy page's chips (sold-out ones struck, not hidden), the chosen
option's price and stock, the stepper bounded by it, the choice kept across a reload; the
overlay's row of size chips in both layouts. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from live.tools.devredis import RedisServer
from tests.e2e.test_overlay import (
    PublicLive,
    assert_inside_card,
    assert_on_screen,
    boxes,
    open_overlay,
    overlaps,
    screenshot,
)
from tests.helpers import buyer, key
from tests.support.browser import PHONE, SHOTS, host
from tests.support.live_process import Live

SHOES = [
    {"name": "36", "stock": 0},
    {"name": "37", "stock": 8},
    {"name": "38", "stock": 2},
    {"name": "39", "stock": 5, "price": 17800},
]
HONEY = [
    {"name": "250 g", "stock": 9, "price": 4800, "unit": "250 g", "weight_g": 250},
    {"name": "500 g", "stock": 6, "unit": "500 g", "weight_g": 500},
    {"name": "1 kg", "stock": 0, "price": 15800, "unit": "1 kg", "weight_g": 1000},
]


async def option_show(live: Live) -> dict[str, Any]:
    shoes = await host(
        live,
        "POST",
        "/api/products",
        {
            "name": "手工绣花鞋 Embroidered shoes",
            "price": 16800,
            "stock": 0,
            "unit": "pair",
            "limit_per_buyer": 3,
            "options": SHOES,
        },
    )
    honey = await host(
        live,
        "POST",
        "/api/products",
        {"name": "野生蜂蜜 Wild honey", "price": 8800, "stock": 0, "options": HONEY},
    )
    show = await host(
        live,
        "POST",
        "/api/shows",
        {"title": "丰收夜 Harvest night", "product_ids": [shoes["id"], honey["id"]]},
    )
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    await host(
        live, "POST", f"/api/shows/{sid}/on_sale", {"product_id": honey["id"], "on_sale": True}
    )
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": shoes["id"]})
    return {"show": show, "shoes": shoes, "honey": honey}


async def test_the_buy_page_sells_a_chosen_size(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await option_show(live)
    sid, shoes = data["show"]["id"], data["shoes"]
    ctx = await browser.new_context(locale="en", **PHONE)
    page = await ctx.new_page()
    await page.goto(f"{live.base}/s/{sid}?lang=en")
    card = page.locator(".card")
    chips = card.locator(".chip")
    await expect(chips).to_have_text(["36", "37", "38", "39"])
    # the sold-out size is there, struck through and not choosable
    await expect(chips.nth(0)).to_be_disabled()
    await expect(chips.nth(0).locator("s")).to_have_text("36")
    buy = card.locator(".button.primary")
    await expect(buy).to_have_text("Choose an option first")
    await expect(buy).to_be_disabled()
    await chips.nth(2).click()
    await expect(chips.nth(2)).to_have_attribute("aria-pressed", "true")
    await expect(card.locator(".stock")).to_have_text("Only 2 left in 38!")
    await expect(card.locator(".price .now")).to_have_text("¥168.00")
    more = card.get_by_role("button", name="More")
    await more.click()
    await expect(card.locator(".qty")).to_have_text("2")
    await expect(more).to_be_disabled()  # two left in 38
    await page.screenshot(path=str(SHOTS / "options-buy-en.png"), full_page=True)
    # the 39 has its own price; the choice survives a reload
    await chips.nth(3).click()
    await expect(card.locator(".price .now")).to_have_text("¥178.00")
    await chips.nth(2).click()
    await page.reload()
    await expect(card.locator(".chip.on")).to_have_text("38")
    await expect(card.locator(".stock")).to_have_text("Only 2 left in 38!")
    await card.get_by_role("button", name="More").click()
    await buy.click()
    await expect(page.locator("#result")).to_contain_text("Ordered!")
    await expect(card.locator(".stock")).to_have_text("38 is sold out")
    await expect(chips.nth(2).locator("s")).to_have_text("38")
    await expect(page.locator("#orders .order-name")).to_have_text([f"{shoes['name']} · 38 × 2"])
    orders = (await host(live, "GET", f"/api/shows/{sid}/orders"))["orders"]
    assert [(o["option_name"], o["qty"]) for o in orders] == [("38", 2)]
    await ctx.close()


async def test_the_buy_page_in_chinese_shows_sizes_and_price_per_kg(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await option_show(live)
    sid = data["show"]["id"]
    shoes_38 = data["shoes"]["options"][2]["id"]
    ctx = await browser.new_context(locale="zh-CN", **PHONE)
    page = await ctx.new_page()
    await page.add_init_script(
        f"localStorage.setItem('sunlit-live-options-{sid}', JSON.stringify({{'{data['shoes']['id']}': '{shoes_38}'}}))"
    )
    await page.goto(f"{live.base}/s/{sid}?lang=zh-CN")
    card = page.locator(".card")
    await expect(card.locator(".stock")).to_have_text("38 仅剩 2 件！")
    row = page.locator(".row")
    await row.locator(".chip", has_text="500 g").click()
    await expect(row.locator(".per-kg")).to_have_text("约 ¥176.00/公斤")
    await row.locator(".chip", has_text="250 g").click()
    await expect(row.locator(".per-kg")).to_have_text("约 ¥192.00/公斤")
    await expect(row.locator(".chip.out s")).to_have_text("1 kg")
    await page.screenshot(path=str(SHOTS / "options-buy-zh-CN.png"), full_page=True)
    await ctx.close()


# --- the overlay ------------------------------------------------------------------------------


@pytest.fixture
def public_live(redis_server: RedisServer) -> Iterator[PublicLive]:
    with tempfile.TemporaryDirectory() as uploads:
        server = PublicLive(redis_server, uploads)
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize("layout", ["landscape", "vertical"])
async def test_the_overlay_shows_which_sizes_are_left(
    browser: Any, public_live: PublicLive, layout: str
) -> None:
    live = public_live
    data = await option_show(live)
    sid, shoes = data["show"]["id"], data["shoes"]
    show = await host(live, "GET", f"/api/shows/{sid}")
    page = await open_overlay(browser, live, {"show": show}, layout, lang="zh-CN")
    chips = page.locator("#options .ov-chip")
    await expect_texts(chips, ["36", "37", "38", "39"])
    assert await page.locator("#options s.ov-chip.out").all_text_contents() == ["36"]

    # the last pair of 38 sells: its chip is struck a moment later (coalesced like stock)
    s38 = shoes["options"][2]["id"]
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": shoes["id"], "qty": 2, "key": key(), "option_id": s38},
        )
        assert r.status_code == 201, r.text
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#options s.ov-chip')].length === 2"
    )
    assert await page.locator("#options s.ov-chip.out").all_text_contents() == ["36", "38"]
    found = await boxes(page)
    box = await page.locator("#options").bounding_box()
    assert box is not None
    found["options"] = {"x": box["x"], "y": box["y"], "w": box["width"], "h": box["height"]}
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
    size = await page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.ov-chip')).fontSize)"
    )
    assert size >= 40  # legible after a phone-sized downscale
    await screenshot(page, f"options-overlay-{layout}")
    await page.context.close()


async def expect_texts(locator: Any, texts: list[str]) -> None:
    from playwright.async_api import expect

    await expect(locator).to_have_text(texts)


# --- the console ------------------------------------------------------------------------------


async def test_the_console_edits_options_and_moves_their_stock_live(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    from tests.e2e.test_console_browser import LAPTOPS, console

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = await console(browser, live, LAPTOPS[0])
    form = page.locator("#product-form")
    await form.locator("input[name=name]").fill("手工绣花鞋 Embroidered shoes")
    await form.locator("input[name=price]").fill("168")
    for name, stock in (("37", "3"), ("38", "2"), ("39", "0")):
        await page.get_by_role("button", name="+ Add option").click()
        row = page.locator("#option-rows li").last
        await row.locator("input[name=o_name]").fill(name)
        await row.locator("input[name=o_stock]").fill(stock)
    await expect(form.locator("input[name=stock]")).to_be_disabled()
    await page.get_by_role("button", name="Save product").click()
    row = page.locator("#products tbody tr", has_text="Embroidered shoes")
    await expect(row).to_contain_text("5 (37: 3 · 38: 2 · 39: 0)")
    products = (await host(live, "GET", "/api/products"))["products"]
    shoes = next(p for p in products if "shoes" in p["name"])
    assert [(o["name"], o["stock"]) for o in shoes["options"]] == [("37", 3), ("38", 2), ("39", 0)]

    # rename 39, move it first, add 40 with its own price
    await row.get_by_role("button", name="Edit").click()
    rows = page.locator("#option-rows li")
    await expect(rows).to_have_count(3)
    await rows.nth(2).locator("input[name=o_name]").fill("39 wide")
    await rows.nth(2).get_by_role("button", name="Move up").click()
    await page.locator("#option-rows li").nth(1).get_by_role("button", name="Move up").click()
    await page.get_by_role("button", name="+ Add option").click()
    added = page.locator("#option-rows li").last
    await added.locator("input[name=o_name]").fill("40")
    await added.locator("input[name=o_stock]").fill("4")
    await added.locator("input[name=o_price]").fill("178")
    await page.screenshot(path=str(SHOTS / "options-console-editor.png"), full_page=True)
    await page.get_by_role("button", name="Save product").click()
    await expect(row).to_contain_text("9 (39 wide: 0 · 37: 3 · 38: 2 · 40: 4)")
    shoes = await host(live, "GET", f"/api/products/{shoes['id']}")
    assert shoes["options"][3]["price"] == 17800

    # live: per-option +1, +10 and set on the show page
    show = await host(live, "POST", "/api/shows", {"title": "Night", "product_ids": [shoes["id"]]})
    await page.goto(f"{live.base}/host/shows/{show['id']}?lang=en")
    line = page.locator(".option-line", has_text="39 wide")
    await expect(line.locator(".stock")).to_have_text("SOLD OUT")
    await line.get_by_role("button", name="+10", exact=True).click()
    await expect(line.locator(".stock")).to_have_text("10 left")
    await line.get_by_role("button", name="+1", exact=True).click()
    await expect(line.locator(".stock")).to_have_text("11 left")
    page.once("dialog", lambda dialog: dialog.accept("6"))
    await (
        page.locator(".option-line", has_text="38").get_by_role("button", name="Set stock").click()
    )
    await expect(page.locator(".option-line", has_text="38").locator(".stock")).to_have_text(
        "6 left"
    )
    await page.screenshot(path=str(SHOTS / "options-console-show.png"))
    after = await host(live, "GET", f"/api/products/{shoes['id']}")
    assert [o["stock"] for o in after["options"]] == [11, 3, 6, 4] and after["stock"] == 24
    await page.context.close()


async def test_the_buy_page_says_pre_order_before_the_tap(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    honey = await host(
        live,
        "POST",
        "/api/products",
        {
            "name": "新蜜 New honey",
            "price": 8800,
            "stock": 0,
            "preorder_cap": 3,
            "ships_from": "2027-05-10",
            "unit": "jar",
        },
    )
    show = await host(live, "POST", "/api/shows", {"title": "Spring", "product_ids": [honey["id"]]})
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": honey["id"]})
    for lang, line, done in (
        ("zh-CN", "预售 · 2027-05-10 起发货 · 还可预订 3 件", "预订成功"),
        ("en", "Pre-order · ships from 2027-05-10 · 1 more can be ordered", "Pre-ordered!"),
    ):
        ctx = await browser.new_context(locale=lang, **PHONE)
        page = await ctx.new_page()
        await page.goto(f"{live.base}/s/{sid}?lang={lang}")
        card = page.locator(".card")
        await expect(card.locator(".stock")).to_have_text(line)
        await expect(card.locator(".stamp")).to_have_count(0)  # not "sold out"
        qty = 2 if lang == "zh-CN" else 1
        if qty == 2:
            await card.locator(".step").nth(1).click()
        await card.locator(".button.primary").click()
        await expect(page.locator("#result")).to_contain_text(done)
        await expect(page.locator("#result")).to_contain_text("2027-05-10")
        await expect(page.locator("#orders .order-name")).to_contain_text(
            "预售" if lang == "zh-CN" else "pre-order"
        )
        await page.screenshot(path=str(SHOTS / f"preorder-buy-{lang}.png"), full_page=True)
        await ctx.close()
    after = await host(live, "GET", f"/api/products/{honey['id']}")
    assert (after["stock"], after["preordered"]) == (0, 3)


async def test_the_console_shows_pre_orders_and_takes_the_harvest(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    from tests.e2e.test_console_browser import LAPTOPS, console

    honey = await host(
        live,
        "POST",
        "/api/products",
        {
            "name": "新蜜 New honey",
            "price": 8800,
            "stock": 0,
            "preorder_cap": 5,
            "ships_from": "2027-05-10",
        },
    )
    show = await host(live, "POST", "/api/shows", {"title": "Spring", "product_ids": [honey["id"]]})
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    await host(
        live, "POST", f"/api/shows/{sid}/on_sale", {"product_id": honey["id"], "on_sale": True}
    )
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": honey["id"], "qty": 2, "key": key()},
        )
        assert r.status_code == 201 and r.json()["preorder"], r.text
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}?lang=en")
    item = page.locator("#lineup li", has_text="New honey")
    await expect(item.locator(".badge.preorder")).to_have_text("2 pre-ordered")
    await expect(page.locator("#orders tbody tr .badge.preorder")).to_have_text(
        "pre-order · 2027-05-10"
    )
    page.once("dialog", lambda dialog: dialog.accept("12"))
    await item.get_by_role("button", name="Harvest arrived").click()
    await expect(item.locator(".badge.preorder")).to_have_text("0 pre-ordered")
    await expect(item.locator(".facts .stock")).to_have_text("10 left")
    await page.screenshot(path=str(SHOTS / "preorder-console.png"))
    after = await host(live, "GET", f"/api/products/{honey['id']}")
    assert (after["stock"], after["preordered"], after["sold"]) == (10, 0, 2)
    await page.context.close()


@pytest.mark.parametrize("layout", ["landscape", "vertical"])
async def test_the_overlay_marks_pre_orders(
    browser: Any, public_live: PublicLive, layout: str
) -> None:
    live = public_live
    honey = await host(
        live,
        "POST",
        "/api/products",
        {
            "name": "新蜜 New honey",
            "price": 8800,
            "stock": 0,
            "preorder_cap": 6,
            "ships_from": "2027-05-10",
        },
    )
    show = await host(live, "POST", "/api/shows", {"title": "Spring", "product_ids": [honey["id"]]})
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": honey["id"]})
    page = await open_overlay(browser, live, {"show": show}, layout, lang="zh-CN")
    await page.wait_for_function("() => document.getElementById('stock').textContent === '6'")
    assert await page.inner_text("#stock-label") == "件可预订 · 2027-05-10 起发货"
    assert await page.locator("#soldout").is_hidden()
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": honey["id"], "qty": 2, "key": key()},
        )
        assert r.status_code == 201 and r.json()["preorder"], r.text
    await page.wait_for_function("() => document.getElementById('stock').textContent === '4'")
    found = await boxes(page)
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
    await screenshot(page, f"preorder-overlay-{layout}")
    await page.context.close()
