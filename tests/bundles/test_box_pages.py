"""A gift box in real Chromium (bundles, issue 13): the buy page on a phone and the overlay show
it like a product, with the stock its parts allow and a small line of what is in it; the stock
follows a part sold on its own, live; the console's product form makes one. Screenshots:
artifacts/screenshots/box-buy-en.png, box-overlay-landscape(-phone).png, box-console-en.png."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.helpers import buyer, key
from tests.support.browser import PHONE, SHOTS, host
from tests.support.live_process import Live


async def test_the_buy_page_shows_a_box_and_its_parts(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    honey = await host(
        live, "POST", "/api/products",
        {"name": "Wild honey", "price": 8800, "stock": 0,
         "options": [{"name": "250 g", "stock": 9}, {"name": "500 g", "stock": 3}]},
    )  # fmt: skip
    chili = await host(
        live, "POST", "/api/products", {"name": "Chili sauce", "price": 2800, "stock": 6}
    )
    jar = honey["options"][1]["id"]
    parts = [
        {"product_id": honey["id"], "option_id": jar, "qty": 1},
        {"product_id": chili["id"], "qty": 1},
    ]
    box = await host(
        live, "POST", "/api/products",
        {"name": "Harvest gift box", "price": 10800, "stock": 0, "parts": parts},
    )  # fmt: skip
    show = await host(
        live, "POST", "/api/shows",
        {"title": "Harvest night", "product_ids": [box["id"], chili["id"]]},
    )  # fmt: skip
    sid = show["id"]
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    for pid in (box["id"], chili["id"]):
        await host(live, "POST", f"/api/shows/{sid}/on_sale", {"product_id": pid, "on_sale": True})
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": box["id"]})

    ctx = await browser.new_context(locale="en", **PHONE)
    page = await ctx.new_page()
    await page.goto(f"{live.base}/s/{sid}?lang=en")
    card = page.locator(".card")
    await expect(card.locator(".parts")).to_have_text("1 × Wild honey 500 g + 1 × Chili sauce")
    await expect(card.locator(".stock")).to_have_text("Only 3 left!")
    await card.locator(".button.primary").click()
    await expect(page.locator("#result")).to_contain_text("Ordered!")
    await expect(card.locator(".stock")).to_have_text("Only 2 left!")
    # Chili sold on its own (another buyer, over HTTP): the box's stock follows, live.
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": chili["id"], "qty": 4, "key": key()},
        )
        assert r.status_code == 201, r.text
    await expect(card.locator(".stock")).to_have_text("Only 1 left!")
    await page.screenshot(path=str(SHOTS / "box-buy-en.png"), full_page=True)
    await ctx.close()

    # The overlay shows the box like a product, with its parts in one line inside the card.
    from tests.e2e.test_overlay import open_overlay, screenshot

    overlay = await open_overlay(
        browser, live, {"show": await host(live, "GET", f"/api/shows/{sid}")}
    )
    await expect(overlay.locator("#options .ov-parts")).to_have_text(
        "1 × Wild honey 500 g + 1 × Chili sauce"
    )
    await expect(overlay.locator("#stock")).to_have_text("1")
    line = await overlay.locator("#options .ov-parts").bounding_box()
    card = await overlay.locator("#card").bounding_box()
    assert line is not None and card is not None
    assert line["x"] + line["width"] <= card["x"] + card["width"] + 0.5
    assert line["y"] + line["height"] <= card["y"] + card["height"] + 0.5
    await screenshot(overlay, "box-overlay-landscape")
    await overlay.context.close()


async def test_the_console_makes_a_box_from_the_catalog(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    from tests.e2e.test_console_browser import LAPTOPS, console

    honey = await host(
        live, "POST", "/api/products",
        {"name": "Mountain honey", "price": 8800, "stock": 0,
         "options": [{"name": "250 g", "stock": 9}, {"name": "500 g", "stock": 4}]},
    )  # fmt: skip
    chili = await host(
        live, "POST", "/api/products", {"name": "Red chili sauce", "price": 2800, "stock": 9}
    )
    page = await console(browser, live, LAPTOPS[0])
    form = page.locator("#product-form")
    await form.locator("input[name=name]").fill("Family gift box")
    await form.locator("input[name=price]").fill("99")
    await page.get_by_role("button", name="+ Add a part").click()
    await expect(form.locator("input[name=stock]")).to_be_disabled()
    await page.get_by_role("button", name="+ Add a part").click()
    parts = form.locator("#part-rows li")
    await parts.nth(0).locator("select").select_option(f"{honey['id']}|{honey['options'][1]['id']}")
    await parts.nth(1).locator("select").select_option(chili["id"])
    await parts.nth(1).locator("input[name=part_qty]").fill("2")
    await page.get_by_role("button", name="Save product").click()
    row = page.locator("#products tbody tr", has_text="Family gift box")
    await expect(row).to_have_count(1)
    box = next(p for p in (await host(live, "GET", "/api/products"))["products"] if p["parts"])
    assert (box["stock"], [p["name"] for p in box["parts"]]) == (
        4,
        ["Mountain honey 500 g", "Red chili sauce"],
    )
    assert [p["qty"] for p in box["parts"]] == [1, 2]
    await page.screenshot(path=str(SHOTS / "box-console-en.png"), full_page=True)
