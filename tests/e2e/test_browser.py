"""The buy page and the overlay in real Chromium (Playwright), against real `live serve`
processes on Redis: what a buyer and the stream's audience see."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.browser import PHONE, SHOTS, host, setup_show
from tests.support.live_process import TOKEN, Live


async def open_pages(
    browser: Any, live: Live, data: dict[str, Any], lang: str = "en"
) -> tuple[Any, Any]:
    buyer_ctx = await browser.new_context(locale=lang, **PHONE)
    buy = await buyer_ctx.new_page()
    await buy.goto(f"{live.base}/s/{data['show']['id']}?lang={lang}")
    overlay_ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    overlay = await overlay_ctx.new_page()
    await overlay.goto(
        data["show"]["overlay_url"].replace("http://127.0.0.1:8000", live.base) + f"&lang={lang}"
    )
    await buy.wait_for_selector(".card .name")
    await overlay.wait_for_selector("#card:not([hidden])")
    return buy, overlay


async def test_buy_confirm_and_the_overlay_follows(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await setup_show(live, stock=3)
    buy, overlay = await open_pages(browser, live, data)
    await expect(buy.locator(".card .name")).to_have_text("野生蜂蜜 Wild honey")
    await expect(overlay.locator("#stock")).to_have_text("3")
    assert not await buy.locator("#delivery").is_visible()  # details come after the first claim

    await buy.get_by_role("button", name="Buy now").click()
    await expect(buy.locator("#result")).to_contain_text("Ordered! Order number", timeout=1000)
    await expect(overlay.locator("#stock")).to_have_text("2", timeout=1000)
    await expect(buy.locator("#orders .order")).to_have_count(1)

    # delivery details: asked now, once, and remembered
    assert await buy.locator("#delivery").is_visible()
    await buy.get_by_label("Name", exact=True).fill("王小明")
    await buy.get_by_label("Phone").fill("13800000000")
    await buy.get_by_label("City", exact=True).fill("上海")
    await buy.get_by_label("Street and number").fill("1 Bund Road")
    await buy.get_by_label("Show my initial and city in sale announcements").check()
    await buy.get_by_role("button", name="Save").click()
    await expect(buy.locator("#delivery-saved")).to_have_text("✓ Saved")
    orders = (await host(live, "GET", f"/api/shows/{data['show']['id']}/orders"))["orders"]
    assert orders[0]["delivery"]["city"] == "上海"

    # two more with the stepper: sold out on both
    await buy.get_by_role("button", name="More").click()
    await expect(buy.locator("output.qty")).to_have_text("2")
    await buy.get_by_role("button", name="Buy now").click()
    await expect(buy.locator(".stamp")).to_have_text("Sold out", timeout=1000)
    await expect(overlay.locator("#soldout")).to_be_visible(timeout=1000)
    await expect(overlay.locator("#stock")).to_have_text("0")
    toast = overlay.locator(".ov-toast").last
    await expect(toast).to_contain_text("王 · 上海")  # first character and city only

    # the host features another product: both follow
    await host(
        live,
        "POST",
        f"/api/shows/{data['show']['id']}/featured",
        {"product_id": data["shoes"]["id"]},
    )
    await expect(buy.locator(".card .name")).to_have_text(
        "手工绣花鞋 Embroidered shoes", timeout=1000
    )
    await expect(overlay.locator("#name")).to_have_text(
        "手工绣花鞋 Embroidered shoes", timeout=1000
    )

    # a server restart: the overlay recovers by itself, no refresh
    live.stop()
    live.start()
    await host(live, "PATCH", f"/api/products/{data['shoes']['id']}", {"stock_delta": -5})
    await expect(overlay.locator("#stock")).to_have_text("15", timeout=20_000)
    await expect(buy.locator(".card .stock")).to_have_text("15 left", timeout=20_000)


async def test_an_order_tapped_while_offline_is_sent_once_when_back(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    data = await setup_show(live, stock=10)
    buy, _ = await open_pages(browser, live, data)
    live.stop()  # the network is gone (the server is unreachable)
    await expect(buy.locator("#status")).not_to_have_text("Live", timeout=5000)
    await buy.get_by_role("button", name="Buy now").click()
    await expect(buy.locator(".card .button.primary")).to_have_text("Will be sent when back online")
    live.start()
    await expect(buy.locator("#result")).to_contain_text("Ordered!", timeout=20_000)
    orders = (await host(live, "GET", f"/api/shows/{data['show']['id']}/orders"))["orders"]
    assert len(orders) == 1 and orders[0]["qty"] == 1
    await buy.reload()  # nothing pending is left to send twice
    await buy.wait_for_selector(".card .name")
    await buy.wait_for_timeout(500)
    orders = (await host(live, "GET", f"/api/shows/{data['show']['id']}/orders"))["orders"]
    assert len(orders) == 1


async def test_screenshots_and_basic_accessibility(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await setup_show(live, stock=40)
    sid = data["show"]["id"]
    await host(
        live,
        "POST",
        f"/api/shows/{sid}/deal",
        {
            "product_id": data["honey"]["id"],
            "price": 6800,
            "ends_at": __import__("time").time() + 600,
        },
    )
    await host(
        live,
        "POST",
        f"/api/shows/{sid}/on_sale",
        {"product_id": data["shoes"]["id"], "on_sale": True},
    )
    for lang, buy_label in (("zh-CN", "立即购买"), ("en", "Buy now")):
        buy, _ = await open_pages(browser, live, data, lang=lang)
        await expect(buy.get_by_role("button", name=buy_label)).to_be_visible()
        await expect(buy.locator(".price .was")).to_be_visible()  # the normal price, struck
        await buy.wait_for_timeout(400)
        await buy.screenshot(path=str(SHOTS / f"buy-{lang}.png"), full_page=True)
        if lang == "en":
            await check_accessibility(buy)
    for layout, size in (("landscape", (1920, 1080)), ("vertical", (1080, 1920))):
        ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = await ctx.new_page()
        url = data["show"]["overlay_url"].replace("http://127.0.0.1:8000", live.base)
        await page.goto(f"{url}&layout={layout}&lang=zh-CN")
        await page.wait_for_selector("#card:not([hidden])")
        await page.wait_for_timeout(700)
        path = SHOTS / f"overlay-{layout}.png"
        await page.screenshot(path=str(path), omit_background=True)
        assert (
            await page.evaluate("getComputedStyle(document.body).backgroundColor")
            == "rgba(0, 0, 0, 0)"
        )
        box = await page.locator("#card").bounding_box()
        assert box is not None
        if (
            layout == "vertical"
        ):  # clear of the platform's top strip, right column and bottom quarter
            assert box["y"] > 0.12 * size[1] and box["y"] + box["height"] < 0.75 * size[1]
            assert box["x"] + box["width"] < 0.86 * size[0]
        name_px = await page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('name')).fontSize)"
        )
        stock_px = await page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('stock')).fontSize)"
        )
        assert name_px >= 48 and stock_px > name_px
        await ctx.close()
    # a wrong key shows nothing about the show
    ctx = await browser.new_context()
    page = await ctx.new_page()
    r = await page.goto(f"{live.base}/overlay/{sid}?key=wrong")
    assert r is not None and r.status == 403
    assert (await page.inner_text("body")).strip() == ""
    await ctx.close()


async def check_accessibility(page: Any) -> None:
    problems = await page.evaluate("""() => {
      const out = [];
      const lum = (c) => { const m = c.match(/\\d+(\\.\\d+)?/g).map(Number).slice(0, 3).map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126*m[0] + 0.7152*m[1] + 0.0722*m[2]; };
      const bg = (el) => { while (el) { const c = getComputedStyle(el).backgroundColor;
        if (c && !c.startsWith('rgba(0, 0, 0, 0)')) return c; el = el.parentElement; } return 'rgb(255, 255, 255)'; };
      for (const el of document.querySelectorAll('button, input, textarea, select')) {
        if (el.offsetParent === null) continue;
        const r = el.getBoundingClientRect();
        const name = (el.getAttribute('aria-label') || el.textContent || (el.labels && el.labels[0] && el.labels[0].textContent) || '').trim();
        if (!name) out.push('no accessible name: ' + el.outerHTML.slice(0, 80));
        if (r.height < 44 || r.width < 44) out.push('tap target ' + Math.round(r.width) + 'x' + Math.round(r.height) + ': ' + name);
      }
      for (const el of document.querySelectorAll('.name, .price .now, .stock, .button.primary, .title, .hint, .producer')) {
        if (el.offsetParent === null || el.disabled) continue;
        const a = lum(getComputedStyle(el).color), b = lum(bg(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) out.push('contrast ' + ratio.toFixed(2) + ': ' + el.className);
      }
      return out;
    }""")
    assert problems == []


async def test_a_double_tap_makes_one_order(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await setup_show(live, stock=10)
    buy, overlay = await open_pages(browser, live, data)
    await buy.get_by_role("button", name="Buy now").dblclick()
    await expect(buy.locator("#result")).to_contain_text("Ordered!", timeout=1000)
    await expect(overlay.locator("#stock")).to_have_text("9", timeout=1000)
    await buy.wait_for_timeout(500)
    orders = (await host(live, "GET", f"/api/shows/{data['show']['id']}/orders"))["orders"]
    assert len(orders) == 1


async def test_html_typed_into_names_shows_as_text_everywhere(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    evil = '<img src=x onerror="window.__xss=1">Chili<script>window.__xss=2</script>'
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        p = (
            await c.post(
                "/api/products",
                json={
                    "name": evil,
                    "price": 100,
                    "stock": 5,
                    "producer": evil,
                    "description": evil,
                },
            )
        ).json()
        show = (await c.post("/api/shows", json={"title": evil, "product_ids": [p["id"]]})).json()
        await c.post(f"/api/shows/{show['id']}/ordering", json={"open": True})
        await c.post(f"/api/shows/{show['id']}/featured", json={"product_id": p["id"]})
    data = {"show": show}
    buy, overlay = await open_pages(browser, live, data)
    await expect(buy.locator(".card .name")).to_have_text(evil)
    await expect(buy.locator(".title")).to_have_text(evil)
    await expect(overlay.locator("#name")).to_have_text(evil)
    for page in (buy, overlay):
        assert await page.evaluate("window.__xss === undefined")
        assert await page.locator("img[src='x']").count() == 0


async def test_the_host_runs_a_show_from_the_console(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    from tests.helpers import png

    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await ctx.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{live.base}/host?lang=en")
    await page.get_by_label("Admin token").fill("wrong")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong")
    await page.get_by_label("Admin token").fill(TOKEN)
    await page.get_by_role("button", name="Log in").click()

    # a product with a photo
    await page.get_by_label("Name", exact=True).fill("山茶油 Camellia oil")
    await page.get_by_label("Producer").fill("Wang brothers' farm")
    await page.get_by_label("Price (¥)").fill("58")
    await page.get_by_label("Stock").fill("12")
    await page.get_by_label("Unit").fill("bottle")
    await page.get_by_label("Limit per buyer").fill("3")
    await page.locator("input[name=photo]").set_input_files(
        files=[{"name": "oil.png", "mimeType": "image/png", "buffer": png(40, 30)}]
    )
    await page.get_by_role("button", name="Save product").click()
    row = page.locator("#products tbody tr", has_text="Camellia oil")
    await expect(row).to_have_count(1)
    await expect(row.locator("img.thumb")).to_have_attribute(
        "src", re.compile(r"^/media/.+\.webp$")
    )

    # a show with it, featured, open, with a deal
    await page.get_by_label("Title").fill("Camellia night")
    await page.locator("#lineup-choices label", has_text="Camellia oil").click()
    await page.get_by_role("button", name="Create show").click()
    await page.wait_for_url(re.compile(r"/host/shows/"))
    show_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#ordering-state")).to_have_text("Not open yet")  # never opened
    await page.get_by_role("button", name="Open ordering").click()
    await expect(page.get_by_role("button", name="Pause ordering")).to_be_visible()
    item = page.locator(".item", has_text="Camellia oil")
    await item.get_by_role("button", name="Feature").click()
    await expect(item.get_by_role("button", name="★ Featured")).to_be_visible()
    await item.get_by_label("Deal price for 山茶油 Camellia oil").fill("48")
    await item.get_by_role("button", name="Start deal").click()
    await expect(item.locator(".price")).to_contain_text("ends in")

    # a buyer orders on the buy page; it appears in the console live
    buyer_ctx = await browser.new_context(**PHONE)
    buy = await buyer_ctx.new_page()
    await buy.goto(f"{live.base}/s/{show_id}?lang=en")
    await expect(buy.locator(".price .now")).to_contain_text("48.00")
    await buy.get_by_role("button", name="More").click()
    await buy.get_by_role("button", name="Buy now").click()
    await expect(buy.locator("#result")).to_contain_text("Ordered!")
    orders = page.locator("#orders tbody tr")
    await expect(orders).to_have_count(1, timeout=3000)
    await expect(orders.first).to_contain_text("no delivery details")
    await expect(page.locator("#claimed")).to_contain_text("96.00")
    await expect(item.locator(".stock")).to_have_text("10 left")
    await page.screenshot(path=str(SHOTS / "console-show.png"), full_page=True)

    # cancel it: the stock returns
    await orders.first.get_by_role("button", name="Cancel").click()
    await expect(item.locator(".stock")).to_have_text("12 left", timeout=3000)
    await expect(orders.first).to_contain_text("cancelled")

    # exports: the CSV has the order, the packing list opens
    response = await page.request.get(f"{live.base}/api/shows/{show_id}/orders?format=csv")
    text = (await response.text()).removeprefix("\ufeff")
    rows = text.strip().splitlines()
    assert rows[0].startswith("id,") and len(rows) == 2 and "cancelled" in rows[1]
    await page.goto(f"{live.base}/host/shows/{show_id}/packing")
    await expect(page.get_by_role("heading", name=re.compile("Packing list"))).to_be_visible()
    await page.goto(f"{live.base}/host")
    await page.screenshot(path=str(SHOTS / "console-dashboard.png"), full_page=True)
    await ctx.close()
    await buyer_ctx.close()


# --- what the three pages share (static/page.js) -------------------------------------------

STATIC = Path(__file__).resolve().parents[2] / "static"
# Each page script and the shared helpers it uses (the overlay makes no elements by hand).
PAGE_SCRIPTS = {
    "buy.js": {"$", "el", "showSocketUrl", "tickDeals"},
    "console.js": {"$", "el", "showSocketUrl", "tickDeals"},
    "overlay.js": {"$", "showSocketUrl", "tickDeals"},
}


@pytest.mark.parametrize("name", sorted(PAGE_SCRIPTS))
def test_the_pages_take_their_helpers_from_one_module(name: str) -> None:
    """`$`/`el`, the socket's address and the deal countdown are written once, in page.js."""
    shared = (STATIC / "page.js").read_text()
    for helper in ("$", "el", "showSocketUrl", "tickDeals"):
        assert re.search(rf"export (const|function) {re.escape(helper)}(?![\w$])", shared), helper
    script = (STATIC / name).read_text()
    imported = re.search(r'import \{([^}]*)\} from "\./page\.js";', script)
    assert imported, f"{name} imports from ./page.js"
    assert {n.strip() for n in imported.group(1).split(",")} == PAGE_SCRIPTS[name]
    # none of its own: no `$` or `el` defined, no socket address built, no countdown scan
    assert not re.search(r"\b(const|let|var|function)\s+(\$|el)(?![\w$])", script), name
    assert "location.host" not in script and "wss" not in script and "/ws/" not in script, name
    assert "[data-ends-at]" not in script and "setInterval(tick" not in script, name


def test_the_socket_address_is_the_pages_own_host() -> None:
    """showSocketUrl, run in Node: ws: or wss: as the page came, the show's id encoded."""
    from tests.support.node import node

    script = f"""
      globalThis.location = {{ protocol: "https:", host: "live.example:8443" }};
      const {{ showSocketUrl }} = await import("{STATIC / "page.js"}");
      const out = [showSocketUrl("s1", "", {{ buyer: "b_1-x" }}), showSocketUrl("s 2", "host")];
      globalThis.location = {{ protocol: "http:", host: "127.0.0.1:8000" }};
      out.push(showSocketUrl("s1", "overlay", {{ key: "k-_9" }}));
      console.log(JSON.stringify(out));
    """
    out = subprocess.run(
        [node(), "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [
        "wss://live.example:8443/ws/shows/s1?buyer=b_1-x",
        "wss://live.example:8443/ws/shows/s%202/host",
        "ws://127.0.0.1:8000/ws/shows/s1/overlay?key=k-_9",
    ]


async def test_deal_countdowns_tick_and_end_on_every_page(browser: Any, live: Live) -> None:
    """One ticker on the buy page, the overlay and the console: the time left counts down in
    place, and when the deal is over the page draws the normal price again."""
    import time

    from playwright.async_api import expect

    data = await setup_show(live, stock=10)
    sid, honey = data["show"]["id"], data["honey"]
    buy, overlay = await open_pages(browser, live, data)
    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
    console = await ctx.new_page()
    await console.goto(f"{live.base}/host?lang=en")
    await console.get_by_label("Admin token").fill(TOKEN)
    await console.get_by_role("button", name="Log in").click()
    await console.goto(f"{live.base}/host/shows/{sid}")
    lineup_price = console.locator(".item", has_text="Wild honey").locator(".price")
    await expect(lineup_price).to_be_visible()

    ends_at = time.time() + 10
    deal = {"product_id": honey["id"], "price": 6800, "ends_at": ends_at}
    await host(live, "POST", f"/api/shows/{sid}/deal", deal)
    clocks = {
        "buy": buy.locator("#featured .price .deal"),
        "overlay": overlay.locator("#deal"),
        "console": lineup_price,
    }
    for where, clock in clocks.items():
        await expect(clock, where).to_contain_text(re.compile(r"ends in 0:(0\d|10)"))
        # it ticks in place: the same element, a new time
        node = await clock.element_handle()
        before = await node.inner_text()
        await expect(clock, where).not_to_have_text(before, timeout=4000)
        assert await node.evaluate("(n) => n.isConnected"), where
    # over: the struck price and the clock go, the price is the normal one again
    await expect(buy.locator("#featured .price .was")).to_have_count(0, timeout=15_000)
    await expect(buy.locator("#featured .price .now")).to_contain_text("88.00")
    await expect(overlay.locator("#deal")).to_be_hidden()
    await expect(overlay.locator("#price")).to_contain_text("88.00")
    await expect(lineup_price).not_to_contain_text("ends in")
    assert time.time() >= ends_at - 0.5
    await ctx.close()
