"""The console's server side: sessions, CSRF, login limits, accounts, uploads, back office."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from typing import Any

from starlette.testclient import TestClient

from live.auth import hash_password, verify_password
from tests.conftest import ADMIN_TOKEN
from tests.helpers import buyer, csrf_of, log_in, make_product, make_show, png, post_order


def test_passwords_are_hashed_with_scrypt_and_verified() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong", stored) and not verify_password("x", None)
    assert hash_password("same") != hash_password("same")  # salted


def test_pages_need_a_session(anon: TestClient) -> None:
    login_page = anon.get("/host")
    assert login_page.status_code == 200 and 'name="token"' in login_page.text
    for path in ("/host/shows/s1", "/host/shows/s1/packing", "/host/shows/s1/producers"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/host"


def test_login_session_csrf_and_logout(anon: TestClient) -> None:
    assert log_in(anon, token="wrong").status_code == 401
    r = log_in(anon, token=ADMIN_TOKEN)
    assert r.status_code == 303 and r.headers["location"] == "/host"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = anon.get("/host")
    assert "商品目录" in page.text  # the console speaks the co-op's language: zh-CN by default
    token = csrf_of(page.text)
    assert anon.get("/api/products").status_code == 200  # a session reads
    body = {"name": "Tea", "price": 100, "stock": 1}
    refused = anon.post("/api/products", json=body)  # but writes need the CSRF token
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert (
        anon.post("/api/products", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    )
    assert anon.post("/api/products", json=body, headers={"X-CSRF-Token": token}).status_code == 201
    assert (
        anon.post("/host/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    )
    assert anon.get("/api/products").status_code == 401


def test_repeated_failures_are_slowed_then_refused(anon: TestClient) -> None:
    started = time.monotonic()
    codes = [log_in(anon, token=f"guess-{i}").status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    assert time.monotonic() - started >= 5 * 0.5  # each failure cost half a second
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 429  # even the right one, for now


def test_named_host_accounts(anon: TestClient) -> None:
    store = anon.app.state.service.store  # type: ignore[attr-defined]
    anon.portal.call(store.set_user, "mei", hash_password("a long password"))  # type: ignore[union-attr]
    assert log_in(anon, name="mei", password="wrong password").status_code == 401
    assert log_in(anon, name="nobody", password="a long password").status_code == 401
    assert log_in(anon, name="mei", password="a long password").status_code == 303
    assert "mei" in anon.get("/host").text


def test_photo_uploads_are_checked_stored_and_served(client: TestClient) -> None:
    r = client.put("/api/uploads", content=png(40, 30), headers={"Content-Type": "image/png"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    got = client.get(url)
    assert got.status_code == 200 and got.content.startswith(b"RIFF")  # re-encoded as WebP
    assert (
        got.headers["content-type"] == "image/webp" and "immutable" in got.headers["cache-control"]
    )

    def put(body: bytes, kind: str, **headers: str) -> int:
        return int(
            client.put(
                "/api/uploads", content=body, headers={"Content-Type": kind, **headers}
            ).status_code
        )

    image = png()
    assert put(b"<svg onload=alert(1)>", "image/png") == 415
    assert put(image, "text/html") == 415
    assert put(image[: len(image) // 2], "image/png") == 415  # truncated
    assert put(b"\xff\xd8\xff\xe0" + b"<html>" * 20, "image/jpeg") == 415
    # the right markers around nothing are no photo either
    assert put(b"\xff\xd8\xff\xe0" + b"\x00" * 60 + b"\xff\xd9", "image/jpeg") == 415
    assert put(b"\x89PNG" + b"0" * (21 * 1024 * 1024), "image/png") == 413
    assert put(image, "image/png", Authorization="") == 401
    for bad in ("/media/..%2Fpyproject.toml", "/media/nope.png", "/media/.hidden"):
        assert client.get(bad).status_code == 404


def test_packing_list_and_producer_statements(client: TestClient) -> None:
    honey = make_product(client, name="野生蜂蜜 honey", stock=10, producer="赵阿姨", unit="jar")
    chili = make_product(client, name="Chili", stock=10, producer="Li family", unit="jar")
    sid = make_show(client, honey["id"], chili["id"])["id"]
    ann, bob = buyer(), buyer()
    o1 = post_order(client, sid, honey["id"], qty=2, buyer_token=ann).json()
    post_order(client, sid, chili["id"], qty=1, buyer_token=ann)
    post_order(client, sid, chili["id"], qty=3, buyer_token=bob)
    client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": ann, "Authorization": ""},
        json={"name": "安", "phone": "13800000000", "address": "1 Road", "city": "杭州"},
    )
    client.post(f"/api/orders/{o1['id']}/status", json={"status": "paid"})
    r = client.get(f"/api/shows/{sid}/packing.csv")
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert [row["buyer"] for row in rows] == [bob, ann]  # missing details first
    assert rows[1]["items"] == "野生蜂蜜 honey × 2; Chili × 1" and rows[1]["city"] == "杭州"
    assert rows[1]["units"] == "3"
    r = client.get(f"/api/shows/{sid}/producers.csv")
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    owed = {row["producer"]: (row["to_bring"], row["owed"]) for row in rows}
    assert owed == {"赵阿姨": ("2", f"{2 * 2800 / 100:.2f}"), "Li family": ("4", "0.00")}


def test_orders_can_be_filtered(client: TestClient) -> None:
    a, b = make_product(client, stock=10), make_product(client, stock=10)
    sid = make_show(client, a["id"], b["id"])["id"]
    me = buyer()
    first = post_order(client, sid, a["id"], buyer_token=me).json()
    post_order(client, sid, b["id"])
    client.post(f"/api/orders/{first['id']}/status", json={"status": "paid"})
    get = lambda q: [o["id"] for o in client.get(f"/api/shows/{sid}/orders?{q}").json()["orders"]]  # noqa: E731
    assert get("status=paid") == [first["id"]]
    assert get(f"buyer={me}") == [first["id"]]
    assert len(get(f"product_id={b['id']}")) == 1 and get("status=shipped") == []


# --- languages and money ------------------------------------------------------------------------


def console_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, page[:200]
    return match.group(1)


def test_the_console_speaks_the_coops_language_and_remembers_a_choice(anon: TestClient) -> None:
    login_page = anon.get("/host")
    assert console_lang(login_page.text) == "zh-CN" and "管理令牌" in login_page.text
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    page = anon.get("/host")
    assert console_lang(page.text) == "zh-CN" and "合作社设置" in page.text
    # the script's words come in the page, in the page's language
    text = re.search(r'<script type="application/json" id="console-text">(.*?)</script>', page.text)
    assert text and json.loads(text.group(1))["cancel_selected"] == "取消所选订单"
    # the co-op sets English once, in the console (CSRF form)
    r = anon.post(
        "/host/settings", data={"csrf": csrf_of(page.text), "lang": "en"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/host?saved=1"
    store = anon.app.state.service.store  # type: ignore[attr-defined]
    assert anon.portal.call(store.get_coop_settings) == {"lang": "en"}  # type: ignore[union-attr]
    anon.cookies.delete("live_lang")  # another browser, which never chose
    page = anon.get("/host?saved=1")
    assert (
        console_lang(page.text) == "en" and "Co-op settings" in page.text and "Saved." in page.text
    )
    # one browser switches to Chinese: remembered for every console page, not for the co-op
    switched = anon.get("/host?lang=zh-CN")
    assert (
        console_lang(switched.text) == "zh-CN"
        and "live_lang=zh-CN" in switched.headers["set-cookie"]
    )
    sid = make_show(anon_with_token(anon), make_product(anon_with_token(anon))["id"])["id"]
    for path in (
        "/host",
        f"/host/shows/{sid}",
        f"/host/shows/{sid}/packing",
        f"/host/shows/{sid}/producers",
    ):
        assert console_lang(anon.get(path).text) == "zh-CN", path
    anon.cookies.delete("live_lang")
    assert console_lang(anon.get(f"/host/shows/{sid}/packing").text) == "en"
    assert "Packing list" in anon.get(f"/host/shows/{sid}/packing").text
    # a language that is not offered is ignored
    assert console_lang(anon.get("/host?lang=fr").text) == "en"


def anon_with_token(client: TestClient) -> TestClient:
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return client


def test_the_settings_form_checks_its_session_token_and_value(anon: TestClient) -> None:
    store = anon.app.state.service.store  # type: ignore[attr-defined]
    token = csrf_of(anon.get("/host").text)
    r = anon.post("/host/settings", data={"csrf": token, "lang": "en"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/host"  # no session: nothing saved
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    token = csrf_of(anon.get("/host").text)
    assert anon.post("/host/settings", data={"lang": "en"}).status_code == 403
    assert anon.post("/host/settings", data={"csrf": "forged", "lang": "en"}).status_code == 403
    assert anon.post("/host/settings", data={"csrf": token, "lang": "fr"}).status_code == 400
    assert anon.portal.call(store.get_coop_settings) == {}  # type: ignore[union-attr]


def test_console_money_follows_each_currency(client: TestClient) -> None:
    dollars = make_product(client, name="Maple syrup", price=1250, currency="USD", producer="Co-op")
    euros = make_product(client, name="Olive oil", price=900, currency="EUR", producer="Olive farm")
    sid = make_show(client, dollars["id"], euros["id"])["id"]
    o = post_order(client, sid, dollars["id"], qty=2).json()
    post_order(client, sid, euros["id"])
    client.post(f"/api/orders/{o['id']}/status", json={"status": "paid"})
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    packing = client.get(f"/host/shows/{sid}/packing?lang=en").text
    statements = client.get(f"/host/shows/{sid}/producers").text
    assert "$25.00" in packing and "€9.00" in packing and "€9.00 not paid yet" in packing
    assert "$25.00" in statements and "€0.00" in statements
    assert "¥" not in packing + statements


def test_no_console_page_or_script_writes_a_currency_of_its_own() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [*root.glob("templates/host_*.html"), *root.glob("static/console*.js")]
    assert len(files) >= 7
    for path in files:
        text = path.read_text()
        for symbol in ("¥", "￥", "CNY", "元"):
            assert symbol not in text, (path.name, symbol)


# --- packing list, exports ------------------------------------------------------------------------


def test_the_packing_page_leaves_out_shipped_orders_and_names_unpaid_items(
    client: TestClient,
) -> None:
    honey = make_product(client, name="Wild honey", stock=10, unit="jar")
    chili = make_product(client, name="Chili", stock=10, unit="jar")
    sid = make_show(client, honey["id"], chili["id"])["id"]
    ann, bob = buyer(), buyer()
    paid = post_order(client, sid, honey["id"], qty=2, buyer_token=ann).json()
    post_order(client, sid, chili["id"], qty=1, buyer_token=ann)
    gone = post_order(client, sid, chili["id"], qty=3, buyer_token=bob).json()
    client.post(f"/api/orders/{paid['id']}/status", json={"status": "paid"})
    client.post(f"/api/orders/{gone['id']}/status", json={"status": "paid"})
    client.post(f"/api/orders/{gone['id']}/status", json={"status": "shipped"})
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    page = client.get(f"/host/shows/{sid}/packing?lang=en").text
    assert "1 parcel to pack" in page and "1 shipped order is not listed." in page
    assert page.count('<article class="parcel') == 1  # bob's only order has shipped
    assert re.search(r"Chili <span class=\"flag\">not paid</span>", page)
    assert not re.search(r"Wild honey <span", page)  # paid
    assert "¥28.00 not paid yet" in page


def test_csv_exports_over_http(client: TestClient) -> None:
    honey = make_product(client, name="野生蜂蜜 honey", stock=10, producer="赵阿姨", unit="500g")
    sid = make_show(client, honey["id"])["id"]
    ann, bob = buyer(), buyer()
    first = post_order(client, sid, honey["id"], qty=2, buyer_token=ann).json()
    post_order(client, sid, honey["id"], qty=1, buyer_token=bob)
    r = client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": ann, "Authorization": ""},
        json={
            "name": "安",
            "phone": "13800000000",
            "street": "文一路 1 号",
            "city": "杭州",
            "province": "浙江",
            "district": "西湖区",
            "postcode": "310000",
        },
    )
    assert r.status_code == 200, r.text

    def rows(path: str) -> list[dict[str, str]]:
        got = client.get(path)
        assert got.status_code == 200 and got.text.startswith("\ufeff")
        assert got.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(got.text.removeprefix("\ufeff"))))

    orders = rows(f"/api/shows/{sid}/orders?format=csv")
    mine = next(o for o in orders if o["id"] == first["id"])
    assert (mine["price"], mine["total"], mine["currency"]) == ("28.00", "56.00", "CNY")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", mine["created_at"])
    assert (mine["phone"], mine["postcode"], mine["district"]) == (
        "'+86 138 0000 0000",
        "'310000",
        "西湖区",
    )
    packing = rows(f"/api/shows/{sid}/packing.csv")
    assert [p["buyer"] for p in packing] == [bob, ann]
    assert (packing[1]["total"], packing[1]["unpaid"], packing[1]["weight_kg"]) == (
        "56.00",
        "56.00",
        "1",
    )
    courier = rows(f"/api/shows/{sid}/packing.csv?format=courier")
    assert courier == [
        {
            "parcel": "2",
            "name": "安",
            "phone": "'+86 138 0000 0000",
            "country": "",
            "province": "浙江",
            "city": "杭州",
            "district": "西湖区",
            "street": "文一路 1 号",
            "postcode": "'310000",
            "items": "野生蜂蜜 honey × 2",
            "weight_kg": "1",
        }
    ]
    assert (
        "courier-"
        in client.get(f"/api/shows/{sid}/packing.csv?format=courier").headers["content-disposition"]
    )
    statements = rows(f"/api/shows/{sid}/producers.csv")
    assert [(s["producer"], s["to_bring"], s["owed"], s["currency"]) for s in statements] == [
        ("赵阿姨", "3", "0.00", "CNY")
    ]


def test_viewers_now_counts_phones_not_the_console_or_the_overlay(client: TestClient) -> None:
    product = make_product(client)
    show = make_show(client, product["id"])
    sid = show["id"]
    live = lambda: client.get(f"/api/shows/{sid}/live").json()["viewers"]  # noqa: E731
    key = show["overlay_url"].split("key=")[1]
    with client.websocket_connect(f"/ws/shows/{sid}/overlay?key={key}") as overlay:
        assert overlay.receive_json()["type"] == "snapshot"
        with client.websocket_connect(f"/ws/shows/{sid}?buyer={buyer()}") as phone:
            assert phone.receive_json()["type"] == "snapshot"
            assert live() == 1
            client.headers.pop("Authorization")
            assert log_in(client, token=ADMIN_TOKEN).status_code == 303
            with client.websocket_connect(f"/ws/shows/{sid}/host") as console:
                assert console.receive_json()["type"] == "snapshot"
                assert live() == 1  # the console watching is not a viewer
            with client.websocket_connect(f"/ws/shows/{sid}") as anonymous_phone:
                assert anonymous_phone.receive_json()["type"] == "snapshot"
                assert live() == 2  # a phone that has not ordered yet is a viewer


def test_the_login_page_shows_while_redis_is_away(tmp_path: Any) -> None:
    from tests.helpers import app_client

    with app_client(f"unix://{tmp_path}/no-such.sock", timeout=0.5) as c:
        c.headers.pop("Authorization")
        page = c.get("/host")
        assert page.status_code == 200 and console_lang(page.text) == "zh-CN"
        assert 'name="token"' in page.text


def test_the_show_page_links_carry_the_language_and_an_ended_show_says_so(
    client: TestClient,
) -> None:
    p = make_product(client)
    show = make_show(client, p["id"])
    sid = show["id"]
    log_in(client, token=ADMIN_TOKEN)
    page = client.get(f"/host/shows/{sid}?lang=en").text
    # the links as the host API gives them: buy page and overlay in the co-op's language
    for url in (show["short_url"], show["viewer_url"], show["overlay_url"]):
        assert f'value="{url.replace("&", "&amp;")}"' in page, url
    assert show["viewer_url"].endswith("?lang=zh-CN") and "&lang=zh-CN" in show["overlay_url"]
    assert re.search(r'id="ended"[^>]* hidden', page)  # running: no banner
    assert not re.search(r'id="live-controls"[^>]* hidden', page)
    assert client.post(f"/api/shows/{sid}/end").status_code == 200
    page = client.get(f"/host/shows/{sid}?lang=en").text
    assert not re.search(r'id="ended"[^>]* hidden', page) and "This show has ended" in page
    for part in ("live-controls", "lineup-add", "keys-hint"):
        assert re.search(rf'id="{part}"[^>]* hidden', page), part
    assert "本场直播已结束" in client.get(f"/host/shows/{sid}?lang=zh-CN").text
