"""The buy page: drawn on the server, fast on a weak network, and what a buyer sees in it
(delivery details, order numbers, a paused or ended show) — over HTTP and in real Chromium."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from live.web import assets, buy_view
from tests.conftest import ADMIN_TOKEN
from tests.helpers import buyer, log_in, make_product, make_show
from tests.support.browser import PHONE, SHOTS, host, setup_show
from tests.support.live_process import Live
from tests.support.node import node
from tests.support.tick_frames import TickFrames

ROOT = Path(__file__).resolve().parents[2]
NO_BEARER = {"Authorization": ""}


def initial_state(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="initial-state" type="application/json">(.*?)</script>', html)
    assert found, "no embedded snapshot"
    state: dict[str, Any] = json.loads(found.group(1))
    return state


def featured_html(html: str) -> str:
    found = re.search(r'<section id="featured".*?</section>', html, re.S)
    assert found
    return found.group(0)


# --- the HTML, before any script ----------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_the_page_comes_with_its_product_its_button_and_its_snapshot(client: TestClient) -> None:
    p = make_product(client, name="野生蜂蜜", price=8800, stock=3, unit="jar", limit_per_buyer=2)
    sid = make_show(client, p["id"])["id"]
    client.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
    r = client.get(f"/s/{sid}?lang=en", headers=NO_BEARER)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    card = featured_html(r.text)
    for text in ("野生蜂蜜", "¥88.00", "/ jar", "Only 3 left!", "Max 2 per buyer", "Buy now"):
        assert text in card, text
    # the button is there but waits for the script, which enables it
    assert re.search(
        r'<button class="button primary" type="button" disabled>Buy now</button>', card
    )
    state = initial_state(r.text)
    assert state["type"] == "snapshot" and state["show"]["featured_product_id"] == p["id"]
    assert state == client.get(f"/api/shows/{sid}/state").json() | {
        "server_time": state["server_time"]
    }


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_names_stay_text_in_the_markup_and_in_the_snapshot(client: TestClient) -> None:
    evil = '</script><script>alert(1)</script><img src=x onerror="alert(2)">'
    p = make_product(client, name=evil, producer=evil, description=evil)
    sid = make_show(client, p["id"])["id"]
    client.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
    html = client.get(f"/s/{sid}", headers=NO_BEARER).text
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;/script&gt;" in featured_html(html)
    assert initial_state(html)["products"][0]["name"] == evil  # the JSON still reads back whole


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
@pytest.mark.parametrize(
    ("query", "headers", "lang"),
    [
        ("?lang=en", {"Accept-Language": "zh-CN,zh"}, "en"),
        ("", {"Accept-Language": "zh-TW,zh;q=0.9"}, "zh-CN"),
        ("", {"Accept-Language": "en-GB,en"}, "en"),
        ("", {"Accept-Language": "zh-CN", "Cookie": "sunlit-live-lang=en"}, "en"),
        ("", {}, "zh-CN"),  # the co-op's default (LIVE_LANG)
    ],
)
def test_the_page_is_drawn_in_the_buyers_language(
    client: TestClient, query: str, headers: dict[str, str], lang: str
) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    client.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
    html = client.get(f"/s/{sid}{query}", headers={**NO_BEARER, **headers}).text
    assert f'<html lang="{lang}">' in html
    assert buy_view.STRINGS[lang]["buy"] in featured_html(html)


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_paused_show_keeps_its_product_and_an_ended_one_has_no_button(
    client: TestClient,
) -> None:
    p = make_product(client, name="Camellia oil")
    sid = make_show(client, p["id"])["id"]
    client.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
    client.post(f"/api/shows/{sid}/ordering", json={"open": False})
    card = featured_html(client.get(f"/s/{sid}?lang=en", headers=NO_BEARER).text)
    assert "Camellia oil" in card and ">Paused</button>" in card
    assert "it reopens here by itself" in card and "Buy now" not in card
    assert client.post(f"/api/shows/{sid}/end").status_code == 200
    card = featured_html(client.get(f"/s/{sid}?lang=en", headers=NO_BEARER).text)
    assert "This show has ended" in card and "button" not in card


def test_the_servers_words_are_the_scripts_words() -> None:
    """buy_view.STRINGS copies the few static/i18n.js strings the first paint needs."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    script = f'import("{ROOT / "static" / "i18n.js"}").then((m) => console.log(JSON.stringify(m.STRINGS)))'
    out = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    page = json.loads(out.stdout)
    for lang, table in buy_view.STRINGS.items():
        assert {k: page[lang].get(k) for k in table} == table


# --- what travels: compressed, cached, preloaded --------------------------------------------


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_text_answers_are_compressed_except_where_a_console_secret_could_be(
    client: TestClient,
) -> None:
    p = make_product(client, description="honey " * 200)
    sid = make_show(client, p["id"])["id"]
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    gz = {"Accept-Encoding": "gzip"}
    for path in (
        f"/s/{sid}",
        f"/assets/{version}/buy.js",
        f"/api/shows/{sid}/state",
        "/static/console.js",
    ):
        r = client.get(path, headers={**NO_BEARER, **gz})
        assert r.headers.get("content-encoding") == "gzip", path
        assert int(r.headers.get("content-length", "0")) < len(r.content), path
    # small answers go as they are: compressing them saves no round trip
    r = client.get("/healthz", headers=gz)
    assert "content-encoding" not in r.headers
    # the console's pages, and anything asked with its session cookie, never (BREACH)
    r = client.get("/host", headers={**NO_BEARER, **gz})
    assert r.status_code == 200 and "content-encoding" not in r.headers
    r = client.get(f"/api/shows/{sid}", headers={**gz, "Cookie": "live_session=x"})
    assert "content-encoding" not in r.headers
    r = client.get(f"/assets/{version}/buy.js", headers={**gz, "Cookie": "live_session=x"})
    assert r.headers.get("content-encoding") == "gzip"  # static files hold no secret
    # sockets are untouched
    with client.websocket_connect(f"/ws/shows/{sid}?buyer={buyer()}") as ws:
        assert json.loads(ws.receive_text())["type"] == "snapshot"


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_every_page_loads_its_files_under_the_content_version(client: TestClient) -> None:
    """The overlay and the console too: their modules import page.js and live-client.js by a
    relative path, so only a versioned page address keeps a release from mixing old and new."""
    p = make_product(client)
    show = make_show(client, p["id"])
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    overlay = f"/overlay/{show['id']}?key={show['overlay_key']}"
    pages = {"index": "/", "overlay": overlay, "blank overlay": f"/overlay/{show['id']}?key=x"}
    seen = {name: client.get(path, headers=NO_BEARER).text for name, path in pages.items()}
    seen["login"] = client.get("/host", headers=NO_BEARER).text
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    seen["console"] = client.get("/host", headers=NO_BEARER).text
    seen["console show"] = client.get(f"/host/shows/{show['id']}", headers=NO_BEARER).text
    for name, html in seen.items():
        loaded = re.findall(r'(?:src|href)="(/(?:assets|static)/[^"?]+)', html)
        assert loaded, name
        assert all(u.startswith(f"/assets/{version}/") for u in loaded), (name, loaded)
        for url in loaded:
            assert client.get(url).status_code == 200, url
    assert f"/assets/{version}/console.js" in seen["console show"]
    assert f"/assets/{version}/overlay.js" in seen["overlay"]


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_assets_are_kept_for_good_under_their_content_version(client: TestClient) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    html = client.get(f"/s/{sid}", headers=NO_BEARER).text
    loaded = re.findall(r'(?:src|href)="(/(?:assets|static)/[^"]+)"', html)
    assert loaded and all(u.startswith(f"/assets/{version}/") for u in loaded)
    r = client.get(f"/assets/{version}/live-client.js")
    assert (
        r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    )
    assert r.content == assets.prepare(ROOT / "static" / "live-client.js")
    # a page from before a release still gets its files, but not for keeps
    r = client.get("/assets/0123456789ab/live-client.js")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert client.get(f"/assets/{version}/../live/app.py").status_code == 404
    # every module of the graph is preloaded at once, none found only by a later import
    preloaded = set(re.findall(r'rel="modulepreload" href="/assets/[^/]+/([^"]+)"', html))
    graph, todo = set(), ["buy.js"]
    while todo:
        name = todo.pop()
        graph.add(name)
        text = (ROOT / "static" / name).read_text()
        todo += [m for m in re.findall(r'from "\./([^"]+)"', text) if m not in graph]
    assert preloaded == graph == {"buy.js", "live-client.js", "i18n.js", "page.js"}


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_the_buy_page_is_small_on_the_wire(client: TestClient) -> None:
    """What a phone downloads before the buy button works: the page's template and its five
    files as they are served (scripts without comment-only lines, gzipped once at level 9)."""
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    files = ["buy.js", "buy.css", "i18n.js", "live-client.js", "page.js"]
    served = []
    for name in files:
        r = client.get(f"/assets/{version}/{name}", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip", name
        served.append(int(r.headers["content-length"]))
        assert r.content == assets.prepare(ROOT / "static" / name)  # httpx undid the gzip
    page = gzip.compress((ROOT / "templates" / "buy.html").read_bytes(), 6)
    compressed = len(page) + sum(served)
    assert compressed < 20 * 1024, compressed


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_scripts_lose_only_comment_lines_and_still_parse(
    client: TestClient, tmp_path: Path
) -> None:
    """The served scripts are the sources minus their comment-only lines: the same code, which
    node still parses. Safe only while no script holds a multi-line template literal (a line
    in one that starts with // would be text, not a comment), which this checks too."""
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    for path in sorted((ROOT / "static").glob("*.js")):
        source = path.read_text()
        assert not [n for n, line in enumerate(source.splitlines()) if line.count("`") % 2], path
        body = client.get(f"/assets/{version}/{path.name}").text
        code = [x for x in source.splitlines() if not x.lstrip().startswith("//")]
        assert body.splitlines() == code and len(body) < len(source), path.name
        copy = tmp_path / (path.stem + ".mjs")
        copy.write_text(body)
        check = subprocess.run([node(), "--check", str(copy)], capture_output=True, text=True)
        assert check.returncode == 0, (path.name, check.stderr)


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_prepared_file_answers_head_and_revalidation(client: TestClient) -> None:
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    url = f"/assets/{version}/buy.css"
    first = client.get(url)
    assert first.headers["content-type"].startswith("text/css")
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = client.head(url, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(first.content)
    old = client.get("/assets/000000000000/buy.css")  # a page from before a release
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"


# --- in Chromium ---------------------------------------------------------------------------

# Chromium's own emulation of a weak 3G link: 400 kbit/s each way, 400 ms round trips.
WEAK_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
# When the page's buy button first became usable, in ms from the start of navigation.
ENABLED_AT = """
new MutationObserver(() => {
  const b = document.querySelector('#featured .button.primary');
  if (b && !b.disabled && window.__buyEnabledAt === undefined) window.__buyEnabledAt = performance.now();
}).observe(document, {subtree: true, childList: true, attributes: true});
"""
# Tap the button and say whether the socket had its snapshot then (one step in the page).
TAP = """() => {
  const state = document.getElementById('status').dataset.state;
  document.querySelector('#featured .button.primary').click();
  return state;
}"""


async def hold_sockets(page: Any) -> asyncio.Event:
    """The page's socket connects only once the returned event is set: a tap before is sure to
    find it down, however busy the machine running the test."""
    release = asyncio.Event()

    async def held(ws: Any) -> None:
        await release.wait()
        ws.connect_to_server()

    await page.route_web_socket(re.compile(r"/ws/shows/"), held)
    return release


async def phone(browser: Any, lang: str = "en", weak: bool = False) -> tuple[Any, Any]:
    ctx = await browser.new_context(locale=lang, **PHONE)
    page = await ctx.new_page()
    if weak:
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.emulateNetworkConditions", WEAK_3G)
        await page.add_init_script(ENABLED_AT)
    return ctx, page


async def host_orders(live: Live, show_id: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = (await host(live, "GET", f"/api/shows/{show_id}/orders"))[
        "orders"
    ]
    return orders


async def test_on_3g_the_buy_button_needs_one_round_trip_after_the_page_and_an_early_tap_orders_once(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    # Three first visits (each a new phone, nothing cached); the median, so that a moment when
    # the shared test machine is busy is not taken for the page. The last one taps at once.
    usable: list[float] = []
    for _ in range(3):
        ctx, page = await phone(browser, weak=True)
        requests: list[Any] = []
        page.on("request", lambda r, into=requests: into.append(r))
        found: list[dict[str, Any]] = []  # who asked for each file (the parser, or a script)
        cdp = await ctx.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", lambda e, into=found: into.append(e))
        await cdp.send("Network.enable")
        if len(usable) == 2:
            release = await hold_sockets(page)
        await page.goto(f"{live.base}/s/{sid}?lang=en", wait_until="commit")
        await page.locator("#featured .button.primary:enabled").wait_for(timeout=15_000)
        usable.append(await page.evaluate("window.__buyEnabledAt"))
        # What makes it fast on a weak link, checked without a clock: the HTML names every
        # file the button needs, so they all travel in one round trip after it, none found
        # only when another arrives (an import chain costs a 400 ms round trip per step).
        files = [e for e in found if "/assets/" in e["request"]["url"]]
        assert {e["request"]["url"].rsplit("/", 1)[1] for e in files} == {
            "buy.css",
            "buy.js",
            "live-client.js",
            "i18n.js",
            "page.js",
        }, [e["request"]["url"] for e in files]
        assert all(e["initiator"]["type"] == "parser" for e in files), [
            (e["request"]["url"], e["initiator"]["type"]) for e in files
        ]
        if len(usable) < 3:
            await ctx.close()
    # Measured, not asserted to the millisecond (a timed test fails whenever the machine running
    # it is busy): ~1.4 s on an idle machine, the 1.5 s budget of docs/performance.md. Only a
    # page three round trips slower than that fails here.
    print(f"buy button usable after {[round(ms) for ms in usable]} ms on emulated 3G")
    assert sorted(usable)[1] <= 1500 + 3 * WEAK_3G["latency"], usable
    assert await page.evaluate(TAP) != "live"  # before the socket's snapshot: over HTTP
    await expect(page.locator("#result")).to_contain_text("Ordered!", timeout=10_000)
    release.set()  # now the socket comes up, and the order must not go out again
    await expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=10_000)
    await page.wait_for_timeout(1000)
    orders = await host_orders(live, sid)
    assert len(orders) == 1 and orders[0]["qty"] == 1
    posts = [r for r in requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].url.endswith(f"/api/shows/{sid}/orders")
    sent = json.loads(posts[0].post_data)
    assert sent["key"] == orders[0]["key"] and posts[0].headers["x-buyer"] == orders[0]["buyer"]
    await expect(page.locator("#orders .order")).to_have_count(1)
    await ctx.close()


async def test_an_early_tap_whose_answer_is_lost_is_placed_once(browser: Any, live: Live) -> None:
    from playwright.async_api import expect

    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    ctx, page = await phone(browser)
    answered = asyncio.Event()

    async def lose_the_answer(route: Any) -> None:
        await route.fetch()  # the order reaches the server and is placed...
        await route.abort("connectionreset")  # ...and its answer never reaches the phone
        answered.set()

    await page.route(f"**/api/shows/{sid}/orders", lose_the_answer)
    release = await hold_sockets(page)
    await page.goto(f"{live.base}/s/{sid}?lang=en")
    await page.locator("#featured .button.primary:enabled").wait_for()
    assert await page.evaluate(TAP) != "live"
    await asyncio.wait_for(answered.wait(), 10)
    assert len(await host_orders(live, sid)) == 1
    await expect(page.locator("#featured .button.primary")).to_have_text("Ordering…")
    # the socket, once up, sends the same key: the server answers the order it already has
    release.set()
    await expect(page.locator("#result")).to_contain_text("This order went through", timeout=15_000)
    orders = await host_orders(live, sid)
    assert len(orders) == 1
    stock = (await host(live, "GET", f"/api/products/{data['honey']['id']}"))["stock"]
    assert stock == 9
    await ctx.close()


async def test_delivery_details_are_checked_field_by_field_and_stay_in_view(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    ctx, page = await phone(browser, "zh-CN")
    await page.goto(f"{live.base}/s/{sid}?lang=zh-CN")
    await expect(page.locator("#status")).to_have_attribute("data-state", "live")
    assert not await page.locator("#delivery").is_visible()  # claim first, details after
    await page.get_by_role("button", name="立即购买").click()
    await expect(page.locator("#result")).to_contain_text("下单成功")
    form = page.locator("#delivery-form")
    await expect(form).to_be_visible()
    await expect(page.get_by_label("国家/地区")).to_have_value("中国")
    assert await page.locator("#d-phone").get_attribute("autocomplete") == "shipping tel"
    assert (
        await page.locator("#d-street").get_attribute("autocomplete") == "shipping street-address"
    )
    await page.get_by_role("button", name="保存").click()  # nothing filled in: said on the page
    await expect(page.locator("#e-name")).to_contain_text("请填写收货人姓名")
    await page.get_by_label("收货人", exact=True).fill("王小明")
    await page.get_by_label("手机号").fill("12345")
    await page.get_by_label("省份").fill("广东省")
    await page.get_by_label("城市", exact=True).fill("深圳市")
    await page.get_by_label("区/县").fill("南山区")
    await page.get_by_label("详细地址").fill("科技园路 1 号")
    await page.get_by_label("邮编").fill("518000")
    await page.get_by_role("button", name="保存").click()
    # the server's refusal, next to the field it is about, in the buyer's language
    await expect(page.locator("#e-phone")).to_contain_text("请填写正确的手机号")
    await expect(page.locator("#d-phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-name")).to_be_hidden()
    await page.locator("#e-phone").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / "buy-delivery-error-zh-CN.png"))
    await page.locator("#lang").click()
    await expect(page.locator("#e-phone")).to_contain_text("Enter a valid phone number")
    await expect(page.get_by_label("Country/region")).to_have_value("China")
    await page.locator("#e-phone").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / "buy-delivery-error-en.png"))
    assert (await host_orders(live, sid))[0]["delivery"] is None  # nothing was kept

    await page.get_by_label("Phone").fill("138-0013-8000")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#delivery-saved")).to_have_text("✓ Saved")
    summary = page.locator("#delivery-summary")
    await expect(summary).to_contain_text("王小明 · +86 138 0013 8000")
    await expect(summary).to_contain_text("广东省 深圳市 南山区 科技园路 1 号 518000")
    delivery = (await host_orders(live, sid))[0]["delivery"]
    assert delivery["phone"] == "+86 138 0013 8000" and delivery["country"] == ""
    await page.reload()  # still there after a reload, with "edit"
    await expect(summary).to_contain_text("+86 138 0013 8000")
    await expect(page.get_by_role("button", name="修改收货信息")).to_be_visible()  # ?lang=zh-CN

    # a buyer with an order and no details is asked prominently, also after a reload
    other_ctx, other = await phone(browser, "en")
    await other.goto(f"{live.base}/s/{sid}?lang=en")
    await other.get_by_role("button", name="Buy now").click()
    await expect(other.locator("#delivery-form")).to_be_visible()
    await other.reload()
    add = other.get_by_role("button", name="Add delivery details")
    await expect(add).to_be_visible()
    await add.click()
    await expect(other.get_by_label("Name", exact=True)).to_be_focused()
    await ctx.close()
    await other_ctx.close()


async def test_an_answer_stays_with_its_product_and_orders_show_short_numbers(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    long_name = "手工绣花鞋 Embroidered shoes, size 37, indigo with peonies (pair)"
    await host(live, "PATCH", f"/api/products/{data['shoes']['id']}", {"name": long_name})
    ctx, page = await phone(browser, "en")
    numbers: list[int] = []

    async def with_numbers(route: Any) -> None:
        # Records the numbers the server gave (every order carries a per-show `number`), so
        # the page's display of them can be checked.
        response = await route.fetch()
        body = await response.json()
        numbers[:] = [o["number"] for o in body["orders"]]
        await route.fulfill(response=response, json=body)

    await page.route(f"**/api/shows/{sid}/my-orders", with_numbers)
    await page.goto(f"{live.base}/s/{sid}?lang=en")
    await page.get_by_role("button", name="Buy now").click()
    await expect(page.locator("#result")).to_contain_text("Ordered!")
    await host(live, "POST", f"/api/shows/{sid}/featured", {"product_id": data["shoes"]["id"]})
    await expect(page.locator(".card .name")).to_have_text(long_name)
    await expect(page.locator("#result")).to_have_text("")  # it was about the honey
    await page.get_by_role("button", name="Buy now").click()
    await expect(page.locator("#result")).to_contain_text("Ordered!")
    items = page.locator("#orders .order")
    await expect(items).to_have_count(2)
    four_digits = re.compile(r"^#\d{4}$")
    await expect(items.locator(".order-id")).to_have_text([four_digits, four_digits])
    shown = await items.locator(".order-id").all_text_contents()
    assert shown == [f"#{n:04d}" for n in reversed(numbers)]  # newest first
    # measured in one step in the page: the list redraws on socket events, so a badge located
    # first and measured later may be gone by then
    boxes = await page.locator("#orders .badge").evaluate_all(
        "els => els.map((e) => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert len(boxes) == 2, boxes
    assert all(0 < h < 30 and 0 < w < 120 for w, h in boxes), boxes
    await page.locator("#orders").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / "buy-order-number.png"), full_page=True)
    await ctx.close()


async def test_a_paused_show_waits_with_its_product_and_an_ended_show_says_so(
    browser: Any, live: Live
) -> None:
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    ctx, page = await phone(browser, "en")
    await page.goto(f"{live.base}/s/{sid}?lang=en")
    await expect(page.locator("#status")).to_have_attribute("data-state", "live")
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": False})
    button = page.locator("#featured .button.primary")
    await expect(button).to_have_text("Paused")
    await expect(button).to_be_disabled()
    await expect(page.locator(".card .name")).to_have_text("野生蜂蜜 Wild honey")
    await expect(page.locator(".card .notice")).to_contain_text("reopens here by itself")
    await page.screenshot(path=str(SHOTS / "buy-paused.png"), full_page=True)
    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": True})
    # (the product is on sale as before; saying so again is harmless where closing kept it)
    await host(
        live,
        "POST",
        f"/api/shows/{sid}/on_sale",
        {"product_id": data["honey"]["id"], "on_sale": True},
    )
    await expect(button).to_have_text("Buy now")
    await expect(page.locator(".card .notice")).to_have_count(0)
    await button.click()
    await expect(page.locator("#result")).to_contain_text("Ordered!")

    await host(live, "POST", f"/api/shows/{sid}/end")
    await expect(page.locator("#featured .ended")).to_contain_text("This show has ended")
    await expect(page.locator("#featured button")).to_have_count(0)
    await expect(page.locator("#status")).to_have_text("Ended")
    await expect(page.locator("#orders .order")).to_have_count(1)  # what was bought stays
    await page.screenshot(path=str(SHOTS / "buy-ended.png"), full_page=True)
    await page.reload()
    await expect(page.locator("#featured .ended")).to_contain_text("This show has ended")
    await expect(page.locator("#featured button")).to_have_count(0)
    await expect(page.get_by_role("button", name="Buy now")).to_have_count(0)
    await expect(page.get_by_role("button", name="Add delivery details")).to_be_visible()
    await ctx.close()


# Whether text spills out of its box or the page out of the phone's width.
OVERFLOW = """() => {
  const spill = (el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > innerWidth;
  return {
    page: document.documentElement.scrollWidth > innerWidth,
    result: spill(document.getElementById('result')),
    button: spill(document.querySelector('#featured .button.primary')),
  };
}"""
BUSY_WORDS = {
    "zh-CN": ("很多人在抢，正在为你排队重试…", "排队重试中…", "下单成功", "剩 {n} 件", "立即购买"),
    "en": (
        "Lots of buyers right now — retrying your order…",
        "Retrying…",
        "Ordered!",
        "{n} left",
        "Buy now",
    ),
}


async def test_a_busy_server_is_retried_and_said_in_plain_words(browser: Any, live: Live) -> None:
    """The first order is answered `busy` on its way (its frame never reaches the server) and
    every server frame comes as an array of a tick's messages: the page says it is retrying,
    then shows the one real answer; the overlay follows the arrays too."""
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    data = await setup_show(live, stock=10)
    sid = data["show"]["id"]
    overlay_ctx = await browser.new_context(viewport={"width": 1920, "height": 1080})
    overlay = await overlay_ctx.new_page()
    await TickFrames().attach(overlay)
    await overlay.goto(data["show"]["overlay_url"].replace("http://127.0.0.1:8000", live.base))
    await expect(overlay.locator("#stock")).to_have_text("10")
    for n, lang in enumerate(("zh-CN", "en"), start=1):
        busy_line, busy_button, ordered, left, buy = BUSY_WORDS[lang]
        ctx, page = await phone(browser, lang)
        frames = TickFrames(busy_retry_after_ms=2500)
        await frames.attach(page)
        await page.goto(f"{live.base}/s/{sid}?lang={lang}")
        await expect(page.locator("#status")).to_have_attribute("data-state", "live")
        await expect(page.locator(".card .stock")).to_have_text(left.format(n=11 - n))
        await page.get_by_role("button", name=buy).click()
        result = page.locator("#result")
        button = page.locator("#featured .button.primary")
        await expect(result).to_have_text(busy_line)
        await expect(button).to_have_text(busy_button)
        await expect(button).to_be_disabled()
        await expect(page.locator("#featured .step")).to_have_count(2)
        for step in await page.locator("#featured .step").all():
            await expect(step).to_be_disabled()  # the order on its way keeps its quantity
        assert await page.evaluate(OVERFLOW) == {"page": False, "result": False, "button": False}
        await page.screenshot(path=str(SHOTS / f"buy-busy-{lang}.png"))
        await expect(result).to_contain_text(ordered, timeout=10_000)  # the answer replaces it
        await expect(button).to_have_text(buy)
        await expect(page.locator(".card .stock")).to_have_text(left.format(n=10 - n))
        await expect(page.locator("#orders .order")).to_have_count(1)
        key = frames.busy_key
        assert [(o["key"], o.get("retry", False)) for o in frames.orders] == [
            (key, False),
            (key, True),
        ]
        orders = await host_orders(live, sid)
        assert len(orders) == n and [o["qty"] for o in orders if o["key"] == key] == [1]
        assert all(isinstance(f, list) for f in frames.frames) and frames.frames[0][0]["type"] == (
            "snapshot"
        )
        await expect(overlay.locator("#stock")).to_have_text(str(10 - n))
        await expect(overlay.locator(".ov-toast").first).to_be_attached()  # the sale, in an array
        await ctx.close()
    await overlay_ctx.close()
