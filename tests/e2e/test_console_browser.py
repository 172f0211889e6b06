"""The host console in real Chromium against a real `live serve` on Redis: the show screen on
a laptop (1366×768, 1440×900) with a dozen orders, both languages, bulk cancel, shipping unpaid,
copyable links, the viewer count and a phone photo."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import httpx2 as httpx
import pytest

from tests.helpers import phone_jpeg
from tests.support.browser import PHONE, SHOTS
from tests.support.live_process import TOKEN, Live

LAPTOPS = [(1366, 768), (1440, 900)]


BUYERS = [
    ("王小明", "13800000001", "杭州", "浙江", "西湖区", "文三路 90 号 3 单元 501"),
    ("Li Na", "+86 139 0000 0002", "Suzhou", "Jiangsu", "Gusu", "12 Pingjiang Road"),
    ("欧阳娜娜", "13700000003", "成都", "四川", "武侯区", "武侯祠大街 231 号"),
    (
        "Zhang Wei-Long Kristoffersen",
        "13600000004",
        "Shenzhen",
        "Guangdong",
        "Nanshan",
        "Flat 18B, Tower 2, Seaview Gardens, 1 Houhai Avenue",
    ),
    ("陈", "13500000005", "北京", "北京", "朝阳区", "建国路 1 号"),
    ("Maria Gonzalez", "13400000006", "Shanghai", "Shanghai", "Xuhui", "88 Tianyaoqiao Rd"),
    ("赵阿姨", "13300000007", "贵阳", "贵州", "云岩区", "中华北路 10 号"),
    ("Sam", "13200000008", "Xi'an", "Shaanxi", "Yanta", "3 Big Goose Pagoda St"),
    ("刘德华", "13100000009", "广州", "广东", "天河区", "体育西路 191 号"),
    ("Olu Adeyemi", "13000000010", "Nanjing", "Jiangsu", "Gulou", "5 Zhongshan North Rd"),
]


async def api(
    live: Live, method: str, path: str, body: Any = None, source: str = "", **headers: str
) -> Any:
    """A call as the host (bearer) or as a buyer (X-Buyer), from loopback address `source` if
    given (Linux answers all of 127/8: one phone each, as a real audience is)."""
    auth = {} if "X-Buyer" in headers else {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
    async with httpx.AsyncClient(
        base_url=live.base, headers={**auth, **headers}, transport=transport
    ) as c:
        r = await c.request(method, path, json=body)
        assert r.status_code < 300, r.text
        return r.json()


async def busy_show(live: Live) -> dict[str, Any]:
    """A show after a good half hour: three products, a dozen orders from ten buyers (two
    without delivery details), some paid, one shipped, one cancelled."""
    products = [
        await api(live, "POST", "/api/products", body)
        for body in (
            {
                "name": "野生蜂蜜 Wild honey",
                "price": 8800,
                "stock": 60,
                "unit": "jar",
                "producer": "赵阿姨 Auntie Zhao",
            },
            {
                "name": "手工绣花鞋 Embroidered shoes (handmade, size 36–40)",
                "price": 16800,
                "stock": 20,
                "unit": "pair",
                "producer": "Auntie Zhao's workshop",
            },
            {
                "name": "高山红米 Mountain red rice",
                "price": 3000,
                "stock": 80,
                "unit": "500g",
                "producer": "Li family",
            },
        )
    ]
    ids = [p["id"] for p in products]
    show = await api(
        live, "POST", "/api/shows", {"title": "丰收夜 Harvest night", "product_ids": ids}
    )
    sid = show["id"]
    await api(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    for pid in ids:
        await api(live, "POST", f"/api/shows/{sid}/on_sale", {"product_id": pid, "on_sale": True})
    await api(live, "POST", f"/api/shows/{sid}/featured", {"product_id": ids[0]})
    tokens = [f"phone-{secrets.token_hex(8)}" for _ in range(12)]
    # each buyer on their own address: a dozen orders from one would rightly be a cluster
    sources = [f"127.0.0.{10 + n}" for n in range(12)]
    for n, (token, buyer) in enumerate(zip(tokens, BUYERS, strict=False)):
        name, phone, city, province, district, street = buyer
        await api(
            live,
            "PUT",
            "/api/buyer/profile",
            {
                "name": name,
                "phone": phone,
                "city": city,
                "province": province,
                "district": district,
                "street": street,
            },
            sources[n],
            **{"X-Buyer": token},
        )
    orders = []
    for n, token in enumerate(tokens):
        body = {"product_id": ids[n % 3], "qty": 1 + n % 3, "key": f"tap-{secrets.token_hex(6)}"}
        path = f"/api/shows/{sid}/orders"
        orders.append(await api(live, "POST", path, body, sources[n], **{"X-Buyer": token}))
    for o in orders[:4]:
        await api(live, "POST", f"/api/orders/{o['id']}/status", {"status": "paid"})
    await api(live, "POST", f"/api/orders/{orders[0]['id']}/status", {"status": "shipped"})
    await api(live, "POST", f"/api/orders/{orders[4]['id']}/cancel")
    return {"show": show, "products": products, "orders": orders}


async def console(browser: Any, live: Live, size: tuple[int, int], lang: str | None = "en") -> Any:
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await ctx.new_page()
    await page.goto(f"{live.base}/host" + (f"?lang={lang}" if lang else ""))
    await page.locator("input[name=token]").fill(TOKEN)
    await page.locator("form[action='/host/login'] button").click()
    await page.wait_for_selector("#dashboard")
    return page


async def fits(page: Any) -> dict[str, Any]:
    """Where every order row's controls are, against the window's width."""
    result: dict[str, Any] = await page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      const rows = [...document.querySelectorAll('#orders tbody tr[data-order-id]')];
      const outside = [];
      let buttons = 0;
      for (const tr of rows) for (const c of tr.querySelectorAll('button, input')) {
        buttons += c.tagName === 'BUTTON' ? 1 : 0;
        const r = c.getBoundingClientRect();
        if (r.left < 0 || r.right > width || r.width === 0) outside.push(c.textContent || c.type);
      }
      return {width, scrollWidth: document.documentElement.scrollWidth, rows: rows.length, buttons, outside};
    }""")
    return result


@pytest.mark.parametrize("size", LAPTOPS, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_show_screen_fits_a_laptop_in_both_languages(
    browser: Any, live: Live, size: tuple[int, int]
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await busy_show(live)
    sid = data["show"]["id"]
    page = await console(browser, live, size, lang="en")
    for lang, words in (
        ("en", ("Orders", "Cancel", "Paid", "Claimed, not paid")),
        ("zh-CN", ("订单", "取消订单", "已付款", "已抢未付")),
    ):
        await page.goto(f"{live.base}/host/shows/{sid}?lang={lang}")
        rows = page.locator("#orders tbody tr[data-order-id]")
        await expect(rows).to_have_count(12)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        await page.wait_for_timeout(300)
        at = await fits(page)
        # claimed rows: Paid, Shipped, Cancel; paid: Shipped, Cancel; shipped and cancelled: none
        assert at["buttons"] == 7 * 3 + 3 * 2, at
        assert at["outside"] == [] and at["scrollWidth"] <= at["width"], at
        # the links to hand out sit at the top, in the first screen
        for link in await page.locator(".links input.copyable, .links .exports a").all():
            box = await link.bounding_box()
            assert box and box["y"] + box["height"] < 140 and box["x"] + box["width"] <= size[0], (
                box
            )
        # takings: what is paid apart from what is only claimed (money from the orders' currency)
        amounts = [o["total"] for o in data["orders"]]
        paid = sum(amounts[1:4]) + amounts[0]  # paid, and the shipped one (paid before)
        claimed = sum(amounts[5:])
        await expect(page.locator("#paid")).to_have_text(money(paid, lang))
        await expect(page.locator("#claimed")).to_have_text(money(claimed, lang))
        await expect(page.locator("#count")).to_have_text("11")
        text = await page.locator("body").inner_text()
        for word in words:
            assert word in text, (lang, word)
        first = rows.first
        await expect(first.locator(".badge").first).to_have_text(
            "claimed" if lang == "en" else "已抢到"
        )
        await page.screenshot(path=str(SHOTS / f"console-show-{size[0]}x{size[1]}-{lang}.png"))
    if size == LAPTOPS[1]:  # the printed lists, once
        for lang in ("zh-CN", "en"):
            await page.goto(f"{live.base}/host/shows/{sid}/packing?lang={lang}")
            await expect(page.locator("article.parcel")).to_have_count(
                10
            )  # 12 less shipped, cancelled
            await page.screenshot(path=str(SHOTS / f"console-packing-{lang}.png"), full_page=True)
    await page.context.close()


def money(minor: int, lang: str) -> str:
    """What Intl writes for yuan in both languages (both "¥1,234.00")."""
    assert lang in ("en", "zh-CN")
    return f"¥{minor // 100:,}.{minor % 100:02d}"


async def test_bulk_cancel_asks_once_and_returns_the_stock(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    page = await console(browser, live, LAPTOPS[0])
    dialogs: list[str] = []

    async def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", answer)
    await page.goto(f"{live.base}/host/shows/{sid}")
    rows = page.locator("#orders tbody tr[data-order-id]")
    await expect(rows).to_have_count(12)
    chosen = [o for o in data["orders"][5:8]]
    before = {p["id"]: p["stock"] for p in (await api(live, "GET", "/api/products"))["products"]}
    for o in chosen:
        await page.locator(f"tr[data-order-id='{o['id']}'] td.pick input").check()
    await expect(page.locator("#bulk")).to_be_visible()
    await expect(page.locator("#bulk-count")).to_have_text("3 selected")
    await page.screenshot(path=str(SHOTS / "console-bulk-select.png"))
    await page.get_by_role("button", name="Cancel selected").click()
    units = sum(o["qty"] for o in chosen)
    for o in chosen:
        await expect(page.locator(f"tr[data-order-id='{o['id']}'] .badge").first).to_have_text(
            "cancelled"
        )
    assert dialogs == [f"Cancel 3 orders and return {units} units to stock?"]
    await expect(page.locator("#bulk")).to_be_hidden()
    after = {p["id"]: p["stock"] for p in (await api(live, "GET", "/api/products"))["products"]}
    returned = {pid: after[pid] - before[pid] for pid in after}
    for o in chosen:
        returned[o["product_id"]] -= o["qty"]
    assert set(returned.values()) == {0}
    # select all shown picks only what can still be cancelled
    await page.locator("#pick-all").check()
    await expect(page.locator("#bulk-count")).to_have_text("7 selected")  # 3 paid, 4 claimed left
    await page.context.close()


async def test_shipping_an_unpaid_order_is_an_explicit_choice(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    claimed = data["orders"][6]
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}")
    row = page.locator(f"tr[data-order-id='{claimed['id']}']")
    await expect(row).to_have_count(1)
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/status") else None)
    asked: list[str] = []

    async def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    await row.get_by_role("button", name="Shipped").click()
    await page.wait_for_timeout(300)
    label = f"#{claimed['number']:04d}"
    assert asked == [f"Order {label} is not paid yet. Ship it unpaid (cash on delivery)?"]
    assert sent == []  # declined: nothing sent
    alerts: list[str] = []

    async def accept(dialog: Any) -> None:
        (asked if dialog.type == "confirm" else alerts).append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    async with page.expect_response(lambda r: r.url.endswith("/status")) as answer:
        await row.get_by_role("button", name="Shipped").click()
    response = await answer.value
    assert len(sent) == 1 and json.loads(sent[0].post_data) == {"status": "shipped", "unpaid": True}
    assert response.ok and alerts == []
    await expect(row.locator(".badge.shipped")).to_be_visible()
    await expect(row.locator(".badge.cod")).to_have_text("COD")
    order = await api(live, "GET", f"/api/orders/{claimed['id']}")
    assert order["status"] == "shipped" and order["cash_on_delivery"] is True
    # a paid order ships without a question
    paid = data["orders"][2]
    asked.clear()
    sent.clear()
    paid_row = page.locator(f"tr[data-order-id='{paid['id']}']")
    await paid_row.get_by_role("button", name="Shipped").click()
    await expect(paid_row.locator(".badge").first).to_have_text("shipped")
    assert asked == [] and json.loads(sent[0].post_data) == {"status": "shipped"}
    await page.context.close()


async def test_links_copy_the_language_is_remembered_and_viewers_are_phones(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    show = data["show"]
    page = await console(browser, live, LAPTOPS[1], lang=None)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
    # the co-op's default (zh-CN unless LIVE_LANG says otherwise), switched to English once
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await page.locator(".lang a").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.goto(f"{live.base}/host/shows/{sid}")
    await expect(page.locator("html")).to_have_attribute("lang", "en")  # remembered
    # the short link to read aloud (bare), the buy page and overlay links in the co-op's language
    short_link = page.locator(".share", has_text="Short link")
    await expect(short_link.locator("input")).to_have_value(show["short_url"])
    await short_link.get_by_role("button", name="Copy").click()
    await expect(short_link.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == show["short_url"]
    buy_link = page.locator(".share", has_text="Buy page").locator("input")
    await expect(buy_link).to_have_value(show["viewer_url"])
    overlay_link = page.locator(".share", has_text="Overlay").locator("input")
    await expect(overlay_link).to_have_value(show["overlay_url"])
    assert show["viewer_url"].endswith("?lang=zh-CN") and show["overlay_url"].endswith(
        "&lang=zh-CN"
    )
    # viewers: the console and the overlay are not counted; a phone is
    await expect(page.locator("#viewers")).to_have_text("0", timeout=7000)
    phone_ctx = await browser.new_context(**PHONE)
    phone = await phone_ctx.new_page()
    await phone.goto(f"{live.base}/s/{sid}?lang=en")
    await expect(page.locator("#viewers")).to_have_text("1", timeout=7000)
    await phone_ctx.close()
    # the co-op sets Chinese for everyone in the settings form
    await page.goto(f"{live.base}/host")
    await page.locator("#settings select[name=lang]").select_option("zh-CN")
    await page.locator("#settings button[type=submit]").click()
    await expect(page.locator("#settings [role=status]")).to_have_text("已保存。")
    other = await console(browser, live, LAPTOPS[0], lang=None)
    await expect(other.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(other.locator("#settings select[name=lang]")).to_have_value("zh-CN")
    await other.context.close()
    await page.context.close()


async def test_a_phone_photo_goes_up_without_its_gps(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    page = await console(browser, live, LAPTOPS[0])
    form = page.locator("#product-form")
    await form.locator("input[name=name]").fill("山茶油 Camellia oil")
    await form.locator("select[name=currency]").select_option("USD")
    await expect(page.locator("#price-label")).to_have_text("Price ($)")
    await form.locator("input[name=price]").fill("12.5")
    await form.locator("input[name=stock]").fill("12")
    await form.locator("input[name=photo]").set_input_files(
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg(3000, 2000)}]
    )
    await page.get_by_role("button", name="Save product").click()
    row = page.locator("#products tbody tr", has_text="Camellia oil")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("$12.50")
    thumb = row.locator("img.thumb")
    await expect(thumb).to_have_attribute("src", re.compile(r"^/media/[A-Za-z0-9_-]+-thumb\.webp$"))
    src = await thumb.get_attribute("src")
    async with httpx.AsyncClient(base_url=live.base) as c:
        small = await c.get(src)
        big = await c.get(src.replace("-thumb", ""))
    assert small.headers["content-type"] == big.headers["content-type"] == "image/webp"
    for body in (small.content, big.content):
        assert b"GPS" not in body and b"Exif" not in body and b"PhoneCo" not in body
    natural = await thumb.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert natural[1] == 320 and natural[0] < 320  # upright (the photo lay on its side), small
    await page.screenshot(path=str(SHOTS / "console-dashboard-photo.png"), full_page=True)
    await page.context.close()


class Watch:
    """The console's requests to one show's host API, and any dialog it raises (accepted)."""

    def __init__(self, page: Any, show_id: str) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.dialogs: list[str] = []
        self.answer = True
        prefix = f"/api/shows/{show_id}/"

        def on_request(r: Any) -> None:
            path = r.url.split("://", 1)[1].split("/", 1)[1]
            if ("/" + path).startswith(prefix) and r.method != "GET":
                body = json.loads(r.post_data) if r.post_data else None
                self.calls.append((r.method, "/" + path[len(prefix) - 1 :], body))

        async def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            await (dialog.accept() if self.answer else dialog.dismiss())

        page.on("request", on_request)
        page.on("dialog", on_dialog)


async def order_over_http(live: Live, sid: str, pid: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.base) as c:
        return await c.post(
            f"/api/shows/{sid}/orders",
            json={"product_id": pid, "qty": 1, "key": f"tap-{secrets.token_hex(6)}"},
            headers={"X-Buyer": f"phone-{secrets.token_hex(8)}"},
        )


async def test_an_ended_show_is_final_on_the_show_screen(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    pid = data["products"][1]["id"]
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    watch = Watch(page, sid)
    watch.answer = False  # asked, and declined: nothing ends
    await page.get_by_role("button", name="End show").click()
    await page.wait_for_timeout(300)
    assert len(watch.dialogs) == 1 and "cannot be reopened" in watch.dialogs[0]
    assert watch.calls == []
    watch.answer = True
    await page.get_by_role("button", name="End show").click()
    await expect(page.locator("#ended")).to_contain_text("This show has ended")
    assert watch.calls == [("POST", "/end", None)]
    # nothing on the screen offers to start the sale again
    for name in (
        "Resume ordering",
        "Open ordering",
        "Pause ordering",
        "Feature",
        "★ Featured",
        "Put on sale",
        "Take off sale",
        "Start deal",
        "Add to lineup",
        "Sale toasts",
        "End show",
    ):
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await expect(page.get_by_role("switch")).to_be_hidden()
    await expect(page.locator("#lineup .item-edit")).to_have_count(0)
    await expect(page.locator("#lineup .item")).to_have_count(3)  # what was sold stays in view
    await expect(page.locator("#orders tbody tr[data-order-id]")).to_have_count(12)
    await page.screenshot(path=str(SHOTS / "console-show-ended-1366x768-en.png"))
    # keys do nothing either
    await page.locator("body").click(position={"x": 5, "y": 300})
    for key in ("o", "O", "ArrowDown", "ArrowUp"):
        await page.keyboard.press(key)
    await page.wait_for_timeout(400)
    assert watch.calls == [("POST", "/end", None)]
    refused = await order_over_http(live, sid, pid)
    assert refused.status_code == 409 and refused.json()["error"] == "ordering_closed"
    # drawn so on the live too, and in Chinese
    await page.goto(f"{live.base}/host/shows/{sid}?lang=zh-CN")
    await expect(page.locator("#ended")).to_contain_text("本场直播已结束")
    await expect(page.locator("#ordering")).to_be_hidden()
    await expect(page.get_by_role("button", name="恢复下单")).to_have_count(0)
    await expect(page.locator("#orders tbody tr[data-order-id]")).to_have_count(12)
    await page.screenshot(path=str(SHOTS / "console-show-ended-1366x768-zh-CN.png"))
    # the dashboard's list marks it
    await page.goto(f"{live.base}/host")
    await expect(page.locator(f"#shows li[data-show-id='{sid}'] .badge")).to_have_text("已结束")
    await page.screenshot(path=str(SHOTS / "console-dashboard-ended-zh-CN.png"))
    await page.context.close()


async def test_pause_and_resume_keep_the_sale_as_it_was(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    honey = data["products"][0]["id"]  # featured and on sale
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    watch = Watch(page, sid)
    phone_ctx = await browser.new_context(**PHONE)
    phone = await phone_ctx.new_page()
    await phone.goto(f"{live.base}/s/{sid}?lang=en")
    buy = phone.locator("#featured .button.primary")
    await expect(buy).to_have_text("Buy now")

    await page.get_by_role("button", name="Pause ordering").click()  # one tap, no question
    await expect(page.locator("#ordering-state")).to_have_text("Paused")
    await expect(page.locator("#ordering")).to_have_text("Resume ordering")
    await expect(buy).to_have_text("Paused")
    state = await api(live, "GET", f"/api/shows/{sid}/state")
    assert state["show"]["ordering_open"] is False
    assert all(p["on_sale"] for p in state["products"])  # the marks stay
    assert state["show"]["featured_product_id"] == honey
    await expect(page.locator("#lineup .item.featured .badge.on")).to_have_text("on sale")
    refused = await order_over_http(live, sid, honey)
    assert refused.json()["error"] == "ordering_closed"
    await page.screenshot(path=str(SHOTS / "console-show-paused-1366x768-en.png"))

    await page.locator("body").click(position={"x": 5, "y": 300})
    await page.keyboard.press("o")  # the key resumes the same way
    await expect(page.locator("#ordering")).to_have_text("Pause ordering")
    await expect(page.locator("#ordering-state")).to_have_text("Open")
    await expect(buy).to_have_text("Buy now")  # buyable again, nothing else touched
    await buy.click()
    await expect(phone.locator("#result")).to_contain_text("Ordered!")
    assert watch.dialogs == []
    assert watch.calls == [
        ("POST", "/ordering", {"open": False}),
        ("POST", "/ordering", {"open": True}),
    ]
    # the show's sale toasts, one switch
    toasts = page.get_by_role("switch", name="Sale toasts")
    await expect(toasts).to_have_attribute("aria-checked", "true")
    await toasts.click()
    await expect(toasts).to_have_attribute("aria-checked", "false")
    assert (await api(live, "GET", f"/api/shows/{sid}"))["toasts"] is False
    await toasts.click()
    await expect(toasts).to_have_attribute("aria-checked", "true")
    assert (await api(live, "GET", f"/api/shows/{sid}"))["toasts"] is True
    await phone_ctx.close()
    await page.context.close()


async def test_a_new_show_offers_to_open_ordering_not_to_resume(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    product = await api(live, "POST", "/api/products", {"name": "Tea", "price": 500, "stock": 9})
    show = await api(live, "POST", "/api/shows", {"title": "First", "product_ids": [product["id"]]})
    page = await console(browser, live, LAPTOPS[0], lang="zh-CN")
    await page.goto(f"{live.base}/host/shows/{show['id']}")
    await expect(page.locator("#ordering")).to_have_text("开始下单")
    await expect(page.locator("#ordering-state")).to_have_text("未开始")
    await expect(page.locator("#ordering-state")).to_have_attribute("data-state", "new")
    await expect(page.get_by_role("button", name="恢复下单")).to_have_count(0)
    await page.get_by_role("button", name="开始下单").click()
    await expect(page.locator("#ordering")).to_have_text("暂停下单")
    await expect(page.locator("#ordering-state")).to_have_text("下单中")
    # once it has an order, closing it is a pause
    await api(
        live,
        "POST",
        f"/api/shows/{show['id']}/on_sale",
        {"product_id": product["id"], "on_sale": True},
    )
    body = {"product_id": product["id"], "qty": 1, "key": "first-tap"}
    await api(
        live,
        "POST",
        f"/api/shows/{show['id']}/orders",
        body,
        **{"X-Buyer": "buyer-one-0123456789"},
    )
    await expect(page.locator("#orders tbody tr[data-order-id]")).to_have_count(1)
    await page.get_by_role("button", name="暂停下单").click()
    await expect(page.locator("#ordering")).to_have_text("恢复下单")
    await expect(page.locator("#ordering-state")).to_have_text("已暂停")
    await page.context.close()


async def test_possible_scalpers_are_listed_and_their_orders_marked(
    browser: Any, live: Live
) -> None:
    """Four fresh buyer tokens, each from its own address, saving one delivery phone and ordering
    twice: the console lists the phone's cluster and marks its eight orders, and nothing else."""
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    rice = data["products"][2]["id"]
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}")
    rows = page.locator("#orders tbody tr[data-order-id]")
    await expect(rows).to_have_count(12)
    await page.wait_for_timeout(1000)  # the first clusters answer: a normal show has none
    await expect(page.locator("#clusters-toggle")).to_be_hidden()
    await expect(page.locator("#orders .badge.suspect")).to_have_count(0)

    scalped = []
    for n in range(4):
        token, source = f"phone-{secrets.token_hex(8)}", f"127.0.0.{60 + n}"
        profile = {
            "name": f"Buyer {n}",
            "phone": "+86 139 1234 5678",
            "city": "Hangzhou",
            "street": f"{n} Lake Rd",
        }
        await api(live, "PUT", "/api/buyer/profile", profile, source, **{"X-Buyer": token})
        for _ in range(2):
            body = {"product_id": rice, "qty": 3, "key": f"tap-{secrets.token_hex(6)}"}
            order = await api(
                live, "POST", f"/api/shows/{sid}/orders", body, source, **{"X-Buyer": token}
            )
            scalped.append(order["id"])
    clusters = (await api(live, "GET", f"/api/shows/{sid}/clusters"))["clusters"]
    assert [(c["kind"], c["value"], c["orders"], c["units"]) for c in clusters] == [
        ("phone", "8613912345678", 8, 24)
    ]

    # no reload: the new orders bring the flag (clusters are asked at most every 5 s)
    toggle = page.locator("#clusters-toggle")
    await expect(toggle).to_have_text("⚠ Possible scalpers: 1", timeout=12_000)
    await expect(rows).to_have_count(20)
    marked = page.locator("#orders tbody tr.suspect")
    await expect(marked).to_have_count(8)
    assert sorted(await marked.evaluate_all("rows => rows.map(r => r.dataset.orderId)")) == sorted(
        scalped
    )
    await expect(marked.locator(".badge.suspect").first).to_have_text("⚠ same phone")
    # the list opens under the orders' head, and the orders keep the first screen
    await expect(page.locator("#clusters")).to_be_hidden()
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    row = page.locator("#clusters tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("td")).to_have_text(["Phone", "+8613912345678", "4", "8", "24"])
    box = await page.locator(".orders-box").bounding_box()
    assert box and box["y"] + 150 < 768, box  # a few order rows still in view
    at = await fits(page)
    assert at["outside"] == [] and at["scrollWidth"] <= at["width"], at
    await page.screenshot(path=str(SHOTS / "console-clusters-1366x768-en.png"))
    await toggle.click()
    await expect(page.locator("#clusters")).to_be_hidden()
    # and in Chinese
    await page.goto(f"{live.base}/host/shows/{sid}?lang=zh-CN")
    await expect(page.locator("#clusters-toggle")).to_have_text("⚠ 疑似黄牛：1")
    await expect(page.locator("#orders tbody tr.suspect .badge.suspect")).to_have_count(8)
    await expect(page.locator("#orders .badge.suspect").first).to_have_text("⚠ 同一电话")
    await page.locator("#clusters-toggle").click()
    await page.screenshot(path=str(SHOTS / "console-clusters-1366x768-zh-CN.png"))
    await page.context.close()


async def test_the_lineup_changes_during_a_show(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await busy_show(live)
    sid = data["show"]["id"]
    ids = [p["id"] for p in data["products"]]
    tea = await api(
        live, "POST", "/api/products", {"name": "白茶 White tea", "price": 5600, "stock": 9}
    )
    old = await api(live, "POST", "/api/products", {"name": "Old jam", "price": 100, "stock": 1})
    await api(live, "PATCH", f"/api/products/{old['id']}", {"archived": True})
    page = await console(browser, live, LAPTOPS[0])
    await page.goto(f"{live.base}/host/shows/{sid}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    watch = Watch(page, sid)
    choices = page.locator("#add-product option")
    await expect(choices).to_have_count(2)  # the prompt and the tea: not the archived jam
    assert "Old jam" not in await page.locator("#add-product").inner_text()
    await page.locator("#add-product").select_option(tea["id"])
    await page.get_by_role("button", name="Add to lineup").click()
    items = page.locator("#lineup .item")
    await expect(items).to_have_count(4)
    await expect(items.last).to_contain_text("White tea")
    assert watch.calls[-1] == ("PUT", "/lineup", {"product_ids": [*ids, tea["id"]]})
    # up one: one PUT of the whole new order
    await page.get_by_role("button", name="Move 白茶 White tea up").click()
    await expect(items.nth(2)).to_contain_text("White tea")
    assert watch.calls[-1] == (
        "PUT",
        "/lineup",
        {"product_ids": [ids[0], ids[1], tea["id"], ids[2]]},
    )
    # feature it from the console: the phone's buy page shows it
    await items.nth(2).get_by_role("button", name="Feature").click()
    phone_ctx = await browser.new_context(**PHONE)
    phone = await phone_ctx.new_page()
    await phone.goto(f"{live.base}/s/{sid}?lang=en")
    await expect(phone.locator(".card .name")).to_have_text("白茶 White tea")
    await expect(phone.locator("#featured .button.primary")).to_have_text("Buy now")
    await phone_ctx.close()
    # removing a product with orders asks first; declined, nothing changes
    rice = data["products"][2]
    watch.answer = False
    before = len(watch.calls)
    await page.get_by_role("button", name=f"Remove {rice['name']} from the lineup").click()
    await page.wait_for_timeout(300)
    assert len(watch.dialogs) == 1 and "has 4 orders" in watch.dialogs[0], watch.dialogs
    assert len(watch.calls) == before
    watch.answer = True
    await page.get_by_role("button", name=f"Remove {rice['name']} from the lineup").click()
    await expect(items).to_have_count(3)
    assert watch.calls[-1] == ("PUT", "/lineup", {"product_ids": [ids[0], ids[1], tea["id"]]})
    # its orders keep their product's name
    await expect(page.locator("#orders tbody")).to_contain_text(rice["name"])
    # one without orders goes without a question
    asked = len(watch.dialogs)
    await page.get_by_role("button", name="Remove 白茶 White tea from the lineup").click()
    await expect(items).to_have_count(2)
    assert len(watch.dialogs) == asked
    state = await api(live, "GET", f"/api/shows/{sid}/state")
    assert [p["id"] for p in state["products"]] == ids[:2]
    await page.context.close()


async def test_archiving_hides_a_product_from_the_catalog_and_new_lineups(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    products = [
        await api(live, "POST", "/api/products", {"name": name, "price": 900, "stock": 5})
        for name in ("Plum wine", "Last year's honey")
    ]
    old = products[1]
    page = await console(browser, live, LAPTOPS[0])
    row = page.locator(f"#products tr[data-product-id='{old['id']}']")
    await expect(row).to_be_visible()
    await row.get_by_role("button", name="Archive").click()
    await expect(row).to_have_count(0)
    assert (await api(live, "GET", f"/api/products/{old['id']}"))["archived"] is True
    await expect(page.locator("#lineup-choices")).not_to_contain_text("Last year's honey")
    await expect(page.locator("#lineup-choices")).to_contain_text("Plum wine")
    await page.get_by_label("Show archived").check()
    await expect(row).to_contain_text("archived")
    await expect(page.locator("#lineup-choices")).not_to_contain_text("Last year's honey")
    await page.screenshot(path=str(SHOTS / "console-catalog-archived.png"), full_page=True)
    await row.get_by_role("button", name="Unarchive").click()
    await expect(row.get_by_role("button", name="Archive")).to_be_visible()
    await expect(page.locator("#lineup-choices")).to_contain_text("Last year's honey")
    assert (await api(live, "GET", f"/api/products/{old['id']}"))["archived"] is False
    await page.context.close()
