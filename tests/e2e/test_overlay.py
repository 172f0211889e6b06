"""The OBS overlay in real Chromium against a real `live serve` on Redis: its QR code scans from
a stream frame, nothing on the card covers anything else, it says when ordering is paused or the
show is over, and it speaks the co-op's language rather than OBS's."""

from __future__ import annotations

import io
import random
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2 as httpx
import pytest

from live.backends import open_store
from live.tools.devredis import RedisServer
from tests.support.browser import SHOTS, host
from tests.support.live_process import TOKEN, Live

# A longer domain than most: its short link must still fit, and its QR code still scan.
PUBLIC = "https://live.sunlit-coop.example.org"
LAYOUTS = {"landscape": (1920, 1080), "vertical": (1080, 1920)}
LONG_NAME = "Acacia honey from the high meadows of Qinling, raw and cold-extracted, 500 g"


class PublicLive(Live):
    """`live serve` on Redis whose links use a public HTTPS address, as behind a proxy."""

    def __init__(self, redis: RedisServer, uploads: str) -> None:
        self.uploads = uploads
        super().__init__(redis)

    def start(self) -> None:
        self.environ["LIVE_PUBLIC_URL"] = PUBLIC
        self.environ["LIVE_UPLOAD_DIR"] = self.uploads
        super().start()


@pytest.fixture
def live(redis_server: RedisServer) -> Iterator[PublicLive]:
    with tempfile.TemporaryDirectory() as uploads:
        server = PublicLive(redis_server, uploads)
        try:
            yield server
        finally:
            server.stop()


def photo_png() -> bytes:
    """A product photo: a warm jar-like shape on a soft background."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (440, 440), (236, 214, 170))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((110, 120, 330, 400), 40, fill=(214, 140, 30))
    draw.rectangle((130, 80, 310, 130), fill=(120, 80, 40))
    draw.ellipse((150, 200, 290, 330), fill=(250, 235, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def video_frame(size: tuple[int, int], seed: int = 9) -> Any:
    """A busy, photo-like frame (gradient, shapes, grain) for the overlay to sit on, as a
    camera picture would: the QR code must scan whatever is behind it."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    w, h = size
    frame = Image.linear_gradient("L").resize(size).convert("RGB")
    frame = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.new("L", size, 90),
        ),
    )
    draw = ImageDraw.Draw(frame)
    for _ in range(220):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(20, 260)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=color)
    for _ in range(400):  # thin high-contrast lines: shelves, cables, fabric
        x, y = rng.randrange(w), rng.randrange(h)
        shade = rng.choice([(0, 0, 0), (255, 255, 255)])
        draw.line((x, y, x + rng.randrange(-300, 300), y + rng.randrange(-300, 300)), shade, 3)
    frame = frame.filter(ImageFilter.GaussianBlur(2))
    grain = Image.effect_noise(size, 40).convert("RGB")
    return Image.blend(frame, grain, 0.25)


def as_streamed(overlay_png: bytes, size: tuple[int, int]) -> Any:
    """The overlay composited over the video, scaled to half size and JPEG-compressed at
    quality 60: roughly what a viewer's phone gets."""
    from PIL import Image

    overlay = Image.open(io.BytesIO(overlay_png)).convert("RGBA")
    frame = video_frame(size).convert("RGBA")
    frame.alpha_composite(overlay)
    half = frame.convert("RGB").resize((size[0] // 2, size[1] // 2), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    half.save(out, "JPEG", quality=60)
    return Image.open(io.BytesIO(out.getvalue()))


async def make_show(live: Live, name: str = LONG_NAME, stock: int = 5) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        uploaded = await c.put(
            "/api/uploads", content=photo_png(), headers={"Content-Type": "image/png"}
        )
        assert uploaded.status_code == 201, uploaded.text
        product = (
            await c.post(
                "/api/products",
                json={
                    "name": name,
                    "price": 8800,
                    "stock": stock,
                    "unit": "jar",
                    "producer": "Auntie Zhao",
                    "limit_per_buyer": 5,
                    "image_url": uploaded.json()["url"],
                },
            )
        ).json()
        show = (
            await c.post(
                "/api/shows", json={"title": "Harvest night", "product_ids": [product["id"]]}
            )
        ).json()
        sid = show["id"]
        await c.post(f"/api/shows/{sid}/ordering", json={"open": True})
        await c.post(f"/api/shows/{sid}/featured", json={"product_id": product["id"]})
    return {"show": show, "product": product}


def local(url: str, live: Live) -> str:
    """A link the server hands out (on its public address) opened on this test's port."""
    return url.replace(PUBLIC, live.base)


def with_query(url: str, **params: str) -> str:
    """`url` with these query parameters set (replaced if present, dropped if empty)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode({k: v for k, v in query.items() if v})))


async def open_overlay(
    browser: Any,
    live: Live,
    data: dict[str, Any],
    layout: str = "landscape",
    **params: str,
) -> Any:
    w, h = LAYOUTS[layout]
    # OBS's browser says English whatever the co-op speaks: so does this one.
    ctx = await browser.new_context(viewport={"width": w, "height": h}, locale="en-US")
    page = await ctx.new_page()
    await page.goto(with_query(local(data["show"]["overlay_url"], live), layout=layout, **params))
    await page.wait_for_selector("#card:not([hidden])")
    await page.wait_for_timeout(600)  # the card's entrance
    return page


async def buy(live: Live, show_id: str, product_id: str, n: int, city: str = "上海") -> None:
    """`n` orders of one unit by buyers who agreed to be named in toasts."""
    async with httpx.AsyncClient(base_url=live.base) as c:
        for i in range(n):
            buyer = {"X-Buyer": f"buyer-{random.getrandbits(48):012x}{i}"}
            r = await c.put(
                "/api/buyer/profile",
                headers=buyer,
                json={
                    "name": "王小明",
                    "phone": "13800000000",
                    "street": "1 Bund Road",
                    "city": city,
                    "toasts": True,
                },
            )
            assert r.status_code == 200, r.text
            r = await c.post(
                f"/api/shows/{show_id}/orders",
                headers=buyer,
                json={
                    "product_id": product_id,
                    "qty": 1,
                    "key": f"key-{random.getrandbits(40):010x}",
                },
            )
            assert r.status_code == 201, r.text


async def screenshot(page: Any, name: str) -> bytes:
    """Full size into artifacts, plus a phone-width copy (390 px wide) to judge legibility."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    png: bytes = await page.screenshot(omit_background=True)
    (SHOTS / f"{name}.png").write_bytes(png)
    full = Image.open(io.BytesIO(png)).convert("RGBA")
    frame = video_frame(full.size).convert("RGBA")
    frame.alpha_composite(full)
    phone = frame.convert("RGB").resize((390, round(390 * full.height / full.width)))
    phone.save(SHOTS / f"{name}-phone.png")
    return png


PARTS = {
    "name": "#name",
    "price": "#price",
    "was": "#was",
    "countdown": "#deal",
    "stock": "#stock",
    "stock label": "#stock-label",
    "stock bar": ".ov-bar",
    "sold out": "#soldout",
    "qr": "#qr-img",
    "prompt": "#prompt",
    "short link": "#link",
    "photo": ".ov-media",
}


async def boxes(page: Any) -> dict[str, dict[str, float]]:
    """The on-screen box of every visible part (transforms included), toasts one by one."""
    found: dict[str, dict[str, float]] = await page.evaluate(
        """(parts) => {
          const out = {};
          const add = (name, el) => {
            if (!el || el.closest('[hidden]') || getComputedStyle(el).display === 'none') return;
            const r = el.getBoundingClientRect();
            if (r.width && r.height) out[name] = {x: r.left, y: r.top, w: r.width, h: r.height};
          };
          for (const [name, sel] of Object.entries(parts)) add(name, document.querySelector(sel));
          document.querySelectorAll('.ov-toast').forEach((el, i) => add('toast ' + i, el));
          return out;
        }""",
        PARTS,
    )
    return found


def overlaps(found: dict[str, dict[str, float]]) -> list[str]:
    names = sorted(found)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p, q = found[a], found[b]
            if (
                p["x"] < q["x"] + q["w"]
                and q["x"] < p["x"] + p["w"]
                and p["y"] < q["y"] + q["h"]
                and q["y"] < p["y"] + p["h"]
            ):
                out.append(f"{a} × {b}")
    return out


async def assert_on_screen(page: Any, found: dict[str, dict[str, float]]) -> None:
    """Every part inside the frame; on a vertical stream, inside the band the platform leaves
    free (its top strip, right-hand column and bottom quarter cover the rest)."""
    w, h = await page.evaluate("[innerWidth, innerHeight]")
    vertical = h > w
    for name, b in found.items():
        assert b["x"] >= 0 and b["y"] >= (0.12 * h if vertical else 0), name
        assert b["x"] + b["w"] <= (0.86 * w if vertical else w), name
        assert b["y"] + b["h"] <= (0.75 * h if vertical else h), name


async def assert_inside_card(page: Any, found: dict[str, dict[str, float]]) -> None:
    """Every part but the toasts lies within the card (nothing spills over its edge)."""
    card = await page.locator("#card").bounding_box()
    assert card is not None
    for name, b in found.items():
        if name.startswith("toast"):
            continue
        assert b["x"] >= card["x"] and b["y"] >= card["y"], name
        assert b["x"] + b["w"] <= card["x"] + card["width"] + 0.5, name
        assert b["y"] + b["h"] <= card["y"] + card["height"] + 0.5, name


async def name_is_whole(page: Any) -> bool:
    """The whole name is drawn inside its box: nothing clipped, no ellipsis, no hidden line."""
    ok: bool = await page.evaluate(
        """() => {
          const el = document.getElementById('name');
          const style = getComputedStyle(el);
          if (style.textOverflow === 'ellipsis' || style.webkitLineClamp !== 'none') return false;
          if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) return false;
          const range = document.createRange();
          range.selectNodeContents(el);
          const last = [...range.getClientRects()].pop();
          const card = document.getElementById('card').getBoundingClientRect();
          return Boolean(last) && last.bottom <= card.bottom && last.right <= card.right;
        }"""
    )
    return ok


@pytest.mark.parametrize("layout", ["landscape", "vertical"])
async def test_the_qr_code_scans_from_a_half_size_compressed_stream(
    browser: Any,
    live: PublicLive,
    layout: str,
) -> None:
    import zxingcpp

    data = await make_show(live)
    short_url = data["show"]["short_url"]
    code = short_url.rsplit("/", 1)[-1]
    assert short_url == f"{PUBLIC}/b/{code}" and len(code) == 6
    page = await open_overlay(browser, live, data, layout)
    await page.wait_for_function("() => document.getElementById('qr-img').complete")
    # the short link is printed too, to be typed by someone watching on the phone itself
    assert (await page.inner_text("#link-text")) == f"live.sunlit-coop.example.org/b/{code}"
    png = await screenshot(page, f"overlay-qr-{layout}")
    streamed = as_streamed(png, LAYOUTS[layout])
    streamed.save(SHOTS / f"overlay-qr-{layout}-stream.png")  # the JPEG, as seen
    found = zxingcpp.read_barcodes(streamed, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [short_url]
    # and the short link leads to the show's buy page
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.get(f"/b/{code}")
    assert r.status_code == 302 and r.headers["location"] == f"/s/{data['show']['id']}"


@pytest.mark.parametrize("layout", ["landscape", "vertical"])
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_nothing_on_the_card_covers_anything_else(
    browser: Any,
    live: PublicLive,
    layout: str,
    lang: str,
) -> None:
    import time

    name = LONG_NAME if lang == "en" else "秦岭高山野生洋槐蜂蜜 原蜜冷榨 古法手工采集 500 g 礼盒装"
    data = await make_show(live, name=name, stock=3)
    sid, pid = data["show"]["id"], data["product"]["id"]
    await host(
        live,
        "POST",
        f"/api/shows/{sid}/deal",
        {"product_id": pid, "price": 6800, "ends_at": time.time() + 3600},
    )
    page = await open_overlay(browser, live, data, layout, lang=lang)
    shot = f"overlay-{layout}-{lang}"

    # a long name and a deal: the name wraps or shrinks but is never cut
    assert "500\xa0g" in await page.inner_text("#name")  # kept together on one line
    assert await name_is_whole(page)
    await page.wait_for_selector("#deal:not([hidden])")
    found = await boxes(page)
    assert {"name", "price", "was", "countdown", "stock", "stock bar", "qr", "prompt"} <= set(found)
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
    await screenshot(page, f"{shot}-normal")

    # two buyers: their toasts show, clear of everything on the card
    await buy(live, sid, pid, 2)
    await page.wait_for_function("() => document.querySelectorAll('.ov-toast').length === 2")
    await page.wait_for_timeout(450)  # the toasts' entrance
    found = await boxes(page)
    assert {"toast 0", "toast 1"} <= set(found)
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
    await screenshot(page, f"{shot}-toast")

    # the last one: SOLD OUT, a toast on top of it, and still nothing covers anything
    await buy(live, sid, pid, 1)
    await page.wait_for_selector("#soldout:not([hidden])")
    await page.wait_for_timeout(450)  # the stamp's entrance
    found = await boxes(page)
    assert {"sold out", "qr", "toast 0"} <= set(found)
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
    assert (await page.inner_text("#stock")) == "0"
    await screenshot(page, f"{shot}-soldout")

    # legible after the stream shrinks it: name and price at least 48 px on the canvas, the
    # stock larger still, nothing visible under 32 px
    sizes = await page.evaluate(
        """() => Object.fromEntries(['name', 'price', 'stock'].map(
             (id) => [id, parseFloat(getComputedStyle(document.getElementById(id)).fontSize)]))"""
    )
    assert sizes["name"] >= 48 and sizes["price"] >= 48 and sizes["stock"] > sizes["name"]
    smallest = await page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('#stage *')]
             .filter((el) => el.offsetParent !== null && [...el.childNodes].some(
               (n) => n.nodeType === 3 && n.textContent.trim()))
             .map((el) => parseFloat(getComputedStyle(el).fontSize)))"""
    )
    assert smallest >= 32
    await page.context.close()


@pytest.mark.parametrize("layout", ["landscape", "vertical"])
async def test_paused_and_ended_say_so(
    browser: Any,
    live: PublicLive,
    layout: str,
) -> None:
    from playwright.async_api import expect

    data = await make_show(live, name="Acacia honey 500 g")
    sid = data["show"]["id"]
    pages = {
        lang: await open_overlay(browser, live, data, layout, lang=lang) for lang in ("en", "zh-CN")
    }
    en, zh = pages["en"], pages["zh-CN"]
    await expect(en.locator("#prompt")).to_have_text("Scan to buy")
    await expect(zh.locator("#prompt")).to_have_text("扫码下单")
    assert (await en.inner_text("#name")) == "Acacia honey 500\xa0g"

    await host(live, "POST", f"/api/shows/{sid}/ordering", {"open": False})
    await expect(en.locator("#prompt")).to_have_text("Ordering paused")
    await expect(zh.locator("#prompt")).to_have_text("暂停下单")
    for lang, page in pages.items():
        assert overlaps(await boxes(page)) == []
        await screenshot(page, f"overlay-{layout}-{lang}-paused")

    await host(live, "POST", f"/api/shows/{sid}/end")
    await expect(en.locator("#ended")).to_have_text("This show has ended")
    await expect(zh.locator("#ended")).to_have_text("本场直播已结束")
    for lang, page in pages.items():
        for part in ("#qr", "#prompt", "#link", "#name", "#price"):
            assert not await page.locator(part).is_visible(), part
        await screenshot(page, f"overlay-{layout}-{lang}-ended")

    # opened after the end, it says so straight away
    late = await open_overlay(browser, live, data, layout, lang="en")
    await expect(late.locator("#ended")).to_have_text("This show has ended")
    assert not await late.locator("#qr").is_visible()


async def test_the_language_is_the_coops_not_the_browsers(
    browser: Any,
    live: PublicLive,
) -> None:
    from playwright.async_api import expect

    data = await make_show(live)
    sid = data["show"]["id"]
    # LIVE_LANG is unset: zh-CN, although the browser (like OBS) says English
    assert data["show"]["overlay_url"].endswith("&lang=zh-CN")
    assert data["show"]["viewer_url"] == f"{PUBLIC}/s/{sid}?lang=zh-CN"
    bare = {"show": {"overlay_url": with_query(data["show"]["overlay_url"], lang="")}}
    assert "lang" not in bare["show"]["overlay_url"]
    page = await open_overlay(browser, live, bare)
    await expect(page.locator("#prompt")).to_have_text("扫码下单")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"

    # the co-op switches to English in its settings: links and the bare overlay follow
    store = open_store(live.environ["LIVE_REDIS_URL"], prefix=live.environ["LIVE_REDIS_PREFIX"])
    try:
        await store.set_coop_settings({"lang": "en"})
    finally:
        await store.close()
    show = await host(live, "GET", f"/api/shows/{sid}")
    assert show["overlay_url"].endswith("&lang=en")
    assert show["viewer_url"] == f"{PUBLIC}/s/{sid}?lang=en"
    await page.reload()
    await expect(page.locator("#prompt")).to_have_text("Scan to buy")
    assert await page.evaluate("document.documentElement.lang") == "en"

    # ?lang= still wins
    await page.goto(with_query(local(bare["show"]["overlay_url"], live), lang="zh-CN"))
    await expect(page.locator("#prompt")).to_have_text("扫码下单")


async def test_toasts_go_below_a_card_placed_at_the_top(
    browser: Any,
    live: PublicLive,
) -> None:
    data = await make_show(live, name="Acacia honey 500 g")
    page = await open_overlay(browser, live, data, x="30", y="2")
    await buy(live, data["show"]["id"], data["product"]["id"], 1)
    await page.wait_for_selector(".ov-toast")
    await page.wait_for_timeout(450)
    found = await boxes(page)
    card = await page.locator("#card").bounding_box()
    assert card is not None and card["y"] < 0.05 * 1080 and card["x"] > 0.25 * 1920
    assert found["toast 0"]["y"] >= card["y"] + card["height"]  # below it, on screen
    assert overlaps(found) == []
    await assert_on_screen(page, found)
    await assert_inside_card(page, found)
