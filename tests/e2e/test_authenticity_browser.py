"""Authenticity labels and the verify page in real Chromium against a real `live serve` on
Redis: label sheets printed to PDF (A4 and 100×150 mm thermal), rendered to PNG by pdftoppm,
their QR codes decoded back to the serials' URLs; the verify page on a phone in both
languages, entering a PIN, then a second time, then a rating. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.helpers import phone_jpeg
from tests.support.browser import PHONE, SHOTS
from tests.support.live_process import TOKEN, Live


async def labelled_show(live: Live) -> dict[str, Any]:
    """Honey and chili sauce sold in a show (4 units), lots chosen, the co-op named, labels
    made: the labels as the contract answers them."""
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:

        async def call(method: str, path: str, body: Any = None, **headers: str) -> Any:
            r = await c.request(method, path, json=body, headers=headers)
            assert r.status_code < 300, r.text
            return r.json()

        honey = await call(
            "POST",
            "/api/products",
            {
                "name": "槐花蜜 Acacia honey",
                "price": 6800,
                "stock": 40,
                "producer": "张家 Zhang family",
                "description": "Raw acacia honey from hives above the village.",
            },
        )
        chili = await call(
            "POST",
            "/api/products",
            {"name": "李奶奶辣椒酱 Grandma Li's chili sauce", "price": 2800, "stock": 40},
        )
        lot = await call(
            "POST",
            f"/api/products/{honey['id']}/lots",
            {"name": "2026 春 Spring", "date": "2026-05-12", "place": "秦岭 Qinling hills"},
        )
        show = await call(
            "POST", "/api/shows", {"title": "丰收夜", "product_ids": [honey["id"], chili["id"]]}
        )
        sid = show["id"]
        await call("POST", f"/api/shows/{sid}/ordering", {"open": True})
        for pid in (honey["id"], chili["id"]):
            await call("POST", f"/api/shows/{sid}/on_sale", {"product_id": pid, "on_sale": True})
        await call(
            "POST", f"/api/shows/{sid}/lots", {"product_id": honey["id"], "lot_id": lot["id"]}
        )
        for pid, qty in ((honey["id"], 2), (chili["id"], 1), (honey["id"], 1)):
            body = {"product_id": pid, "qty": qty, "key": f"k{pid}{qty}xyz"}
            await call(
                "POST", f"/api/shows/{sid}/orders", body, **{"X-Buyer": f"phone-{pid}-{qty}xx"}
            )
        labels = (await call("POST", f"/api/shows/{sid}/labels"))["labels"]
    assert len(labels) == 4
    return {"show_id": sid, "labels": labels}


async def console_page(browser: Any, live: Live, **context: Any) -> Any:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    await page.goto(f"{live.base}/host?lang=en")
    await page.locator("input[name=token]").fill(TOKEN)
    await page.locator("form[action='/host/login'] button").click()
    await page.wait_for_selector("#dashboard")
    return page


def rendered(pdf: Path, dpi: int) -> list[Path]:
    """The PDF's pages as PNG files (poppler's pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm missing: apt-get install poppler-utils", pytrace=False)
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return sorted(pdf.parent.glob(f"{prefix.name}-*.png"))


def qr_texts(png: Path) -> set[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as image:
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return {b.text for b in found}


@pytest.mark.parametrize("layout", ["a4", "thermal"])
async def test_printed_labels_carry_qr_codes_of_their_serials_urls(
    browser: Any, live: Live, layout: str
) -> None:
    data = await labelled_show(live)
    urls = {x["url"] for x in data["labels"]}
    page = await console_page(browser, live)
    await page.goto(f"{live.base}/host/quality")  # the co-op's name, printed on every label
    await page.locator("input[name=coop_name]").fill("阳光合作社 Sunny Hill Co-op")
    await page.locator("input[name=coop_name]").press("Enter")
    await page.wait_for_url("**/host/quality")
    await page.goto(f"{live.base}/host/shows/{data['show_id']}/labels/print?layout={layout}")
    await page.wait_for_selector("article.label")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SHOTS / f"labels-{layout}.pdf"
    for old in SHOTS.glob(f"labels-{layout}-*.png"):
        old.unlink()
    pdf.write_bytes(await page.pdf(prefer_css_page_size=True, print_background=True))
    pages = rendered(pdf, 200)
    from PIL import Image

    with Image.open(pages[0]) as first:
        size = first.size
    if layout == "a4":
        assert len(pages) == 1
        assert abs(size[0] - 1654) <= 3 and abs(size[1] - 2339) <= 3  # 210×297 mm at 200 dpi
        assert qr_texts(pages[0]) == urls
    else:
        assert len(pages) == 4  # one 100×150 mm label per page
        assert abs(size[0] - 787) <= 3 and abs(size[1] - 1181) <= 3
        assert set().union(*(qr_texts(p) for p in pages)) == urls
    text = await page.inner_text("body")
    assert "Acacia honey" in text and "2026 春 Spring" in text and "Sunny Hill Co-op" in text
    for label in data["labels"]:
        assert f"{label['pin'][:4]} {label['pin'][4:]}" in text


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_the_verify_page_on_a_phone(browser: Any, live: Live, lang: str) -> None:
    data = await labelled_show(live)
    label = data["labels"][0]
    ctx = await browser.new_context(
        **PHONE, locale=lang, extra_http_headers={"Accept-Language": lang}
    )
    page = await ctx.new_page()
    response = await page.goto(label["url"])
    assert response.status == 200
    assert await page.get_attribute("html", "lang") == lang
    assert "槐花蜜" in await page.inner_text("h1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / f"verify-{lang}-1-open.png", full_page=True)
    await page.locator("#pin").fill(label["pin"])
    await page.locator("form.pin button").click()
    await page.wait_for_selector("#status.ok")
    status = await page.inner_text("#status")
    assert ("Genuine" if lang == "en" else "正品") in status
    await page.screenshot(path=SHOTS / f"verify-{lang}-2-first.png", full_page=True)
    # rate it: four stars and a note
    await page.locator("label[for=r4]").click()
    await page.locator("#note").fill(
        "香味很好 Lovely" if lang == "zh-CN" else "Lovely floral taste"
    )
    await page.locator("form.feedback button").click()
    await page.wait_for_selector("#status.ok")
    await page.screenshot(path=SHOTS / f"verify-{lang}-3-rated.png", full_page=True)
    # someone with a copy of the label enters the same PIN later
    await page.goto(label["url"])
    await page.locator("#pin").fill(label["pin"])
    await page.locator("form.pin button").click()
    await page.wait_for_selector("#status.warn")
    warning = await page.inner_text("#status")
    assert ("copied" if lang == "en" else "复制") in warning
    await page.screenshot(path=SHOTS / f"verify-{lang}-4-again.png", full_page=True)
    # an unknown code
    response = await page.goto(f"{live.base}/v/ABCDEFGHJKMN")
    assert response.status == 404
    await page.screenshot(path=SHOTS / f"verify-{lang}-5-unknown.png", full_page=True)
    await ctx.close()


async def test_the_labels_page_in_the_console(browser: Any, live: Live) -> None:
    data = await labelled_show(live)
    first, second = data["labels"][:2]
    async with httpx.AsyncClient(base_url=live.base) as c:
        for label, rating, note in ((first, 5, "香"), (second, 1, "Crystallised, jar leaked")):
            path = f"/api/verify/{label['serial']}"
            assert (await c.post(path, json={"pin": label["pin"]})).status_code == 200
            body = {"pin": label["pin"], "rating": rating, "note": note}
            assert (await c.post(f"{path}/feedback", json=body)).status_code == 201
        for n in range(6):  # one serial opened by six phones: flagged
            await c.get(f"/v/{second['serial']}", headers={"User-Agent": f"phone {n}"})
    page = await console_page(browser, live, viewport={"width": 1366, "height": 900})
    await page.goto(f"{live.base}/host/shows/{data['show_id']}/labels")
    await page.wait_for_selector("#labels")
    assert await page.locator("#labels tbody tr").count() == 4
    assert await page.locator("#flags tbody tr").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / "labels-console.png", full_page=True)
    await page.goto(f"{live.base}/host/shows/{data['show_id']}/labels?lang=zh-CN")
    assert "防伪标签" in await page.inner_text("h1")
    await page.screenshot(path=SHOTS / "labels-console-zh-CN.png", full_page=True)
    await page.goto(f"{live.base}/host/shows/{data['show_id']}/labels?lang=en")
    await page.goto(f"{live.base}/host/quality")
    assert "Crystallised, jar leaked" in await page.inner_text("#by-lot")
    await page.screenshot(path=SHOTS / "quality-console.png", full_page=True)
    # producer statements carry the producer's rating
    await page.goto(f"{live.base}/host/shows/{data['show_id']}/producers")
    assert "Buyers' rating: 3.0 of 5 (2 rated" in await page.inner_text("main")
    # a lot's photo: picked, uploaded at once, its address saved with the lot
    await page.goto(f"{live.base}/host/quality")
    await page.locator("a", has_text="槐花蜜 Acacia honey").first.click()
    photo = page.locator("form.lot").first.locator("input.lot-photo")
    await photo.set_input_files(
        files=[{"name": "hives.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg(800, 600)}]
    )
    field = page.locator("form.lot").first.locator("input[name=image_url]")
    await page.wait_for_function(
        "(el) => el.value.startsWith('/media/')", arg=await field.element_handle()
    )
    await page.locator("form.lot").first.locator("button[type=submit]").click()
    await page.wait_for_selector("form.lot img.thumb")
    await page.screenshot(path=SHOTS / "lots-console.png", full_page=True)
    label_page = await page.context.new_page()
    await label_page.goto(first["url"])
    assert "/media/" in (await label_page.get_attribute(".unit img", "src") or "")
