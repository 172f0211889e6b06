"""The host API and the HTTP order endpoint, end to end through HTTP, on both backends."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import buyer, make_product, make_show, post_order, stock

HOST_ROUTES = [
    ("POST", "/api/products", {"name": "x", "price": 1, "stock": 1}),
    ("GET", "/api/products", None),
    ("GET", "/api/products/p1", None),
    ("PATCH", "/api/products/p1", {"stock": 1}),
    ("POST", "/api/shows", {"title": "x", "product_ids": []}),
    ("GET", "/api/shows/s1", None),
    ("POST", "/api/shows/s1/featured", {"product_id": None}),
    ("POST", "/api/shows/s1/ordering", {"open": True}),
    ("POST", "/api/shows/s1/on_sale", {"product_id": "p1", "on_sale": True}),
    ("POST", "/api/shows/s1/deal", {"product_id": "p1", "price": 1, "ends_at": 2e9}),
    ("PUT", "/api/shows/s1/lineup", {"product_ids": []}),
    ("POST", "/api/shows/s1/toasts", {"on": False}),
    ("POST", "/api/shows/s1/overlay_key", None),
    ("GET", "/api/shows/s1/orders", None),
    ("GET", "/api/orders/o1", None),
    ("POST", "/api/orders/o1/cancel", None),
    ("POST", "/api/orders/o1/status", {"status": "paid"}),
    ("POST", "/api/shows/s1/end", None),
    ("GET", "/api/stats", None),
    ("GET", "/api/shows", None),
    ("GET", "/api/shows/s1/live", None),
    ("PUT", "/api/uploads", None),
    ("GET", "/api/shows/s1/packing.csv", None),
    ("GET", "/api/shows/s1/producers.csv", None),
]


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and isinstance(body["detail"], str) and body["detail"]
    return dict(body)


@pytest.mark.parametrize(("method", "path", "body"), HOST_ROUTES)
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic abc", "Bearer "])
def test_host_routes_need_the_admin_token(
    client: TestClient, method: str, path: str, body: Any, auth: str | None
) -> None:
    headers = {"Authorization": auth or ""}
    r = client.request(method, path, json=body, headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_product_create_get_list(client: TestClient) -> None:
    p = make_product(
        client,
        name="Wild honey 野生蜂蜜",
        unit="jar",
        limit_per_buyer=3,
        producer="Auntie Zhao",
        description="Raw.",
        image_url="https://example.org/h.jpg",
    )
    assert p["id"] and p["currency"] == "CNY" and p["sold"] == 0 and p["stock"] == 10
    assert client.get(f"/api/products/{p['id']}").json() == p
    assert [x["id"] for x in client.get("/api/products").json()["products"]] == [p["id"]]


def test_oversized_body_is_413_and_changes_nothing(client: TestClient) -> None:
    r = client.post(
        "/api/products", json={"name": "x", "price": 1, "stock": 1, "description": "d" * 70_000}
    )
    assert_error(r, 413, "too_large")
    assert client.get("/api/products").json()["products"] == []


def test_patch_product_fields_and_stock(client: TestClient) -> None:
    p = make_product(client, stock=5)
    r = client.patch(f"/api/products/{p['id']}", json={"stock_delta": 3, "name": "Hot sauce"})
    assert r.status_code == 200 and (r.json()["stock"], r.json()["name"]) == (8, "Hot sauce")
    r = client.patch(f"/api/products/{p['id']}", json={"stock": 2})
    assert r.json()["stock"] == 2
    assert_error(
        client.patch(f"/api/products/{p['id']}", json={"stock_delta": -3}), 409, "conflict"
    )
    assert_error(
        client.patch(f"/api/products/{p['id']}", json={"stock": 1, "stock_delta": 1}),
        400,
        "invalid",
    )
    assert_error(client.patch(f"/api/products/{p['id']}", json={"stock": -1}), 400, "invalid")
    assert_error(client.patch(f"/api/products/{p['id']}", json={"id": "other"}), 400, "invalid")
    assert_error(client.patch("/api/products/missing", json={"stock": 1}), 404, "not_found")
    assert stock(client, p["id"]) == 2


def test_show_creation_validates_its_lineup(client: TestClient) -> None:
    p = make_product(client)
    assert_error(
        client.post("/api/shows", json={"title": "x", "product_ids": ["missing"]}), 400, "invalid"
    )
    assert_error(
        client.post("/api/shows", json={"title": "x", "product_ids": [p["id"], p["id"]]}),
        400,
        "invalid",
    )
    assert_error(
        client.post("/api/shows", json={"title": "", "product_ids": [p["id"]]}), 400, "invalid"
    )
    assert_error(
        client.post("/api/shows", json={"title": "x", "product_ids": "p1"}), 400, "invalid"
    )


def test_new_show_links_and_closed_state(client: TestClient) -> None:
    p = make_product(client)
    show = make_show(client, p["id"], open_=False)
    # the co-op's language rides along (LIVE_LANG, zh-CN unless set): OBS would say English
    assert show["viewer_url"].endswith(f"/s/{show['id']}?lang=zh-CN")
    assert show["overlay_url"].endswith(
        f"/overlay/{show['id']}?key={show['overlay_key']}&lang=zh-CN"
    )
    assert show["ordering_open"] is False and show["featured_product_id"] is None
    assert [x["on_sale"] for x in show["products"]] == [False]
    assert_error(post_order(client, show["id"], p["id"]), 409, "ordering_closed")


def test_featuring_opens_the_product_and_ordering_rules(client: TestClient) -> None:
    a, b = make_product(client), make_product(client)
    show = make_show(client, a["id"], b["id"], open_=False)
    sid = show["id"]
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    assert_error(post_order(client, sid, a["id"]), 409, "not_on_sale")
    r = client.post(f"/api/shows/{sid}/featured", json={"product_id": a["id"]})
    assert r.status_code == 200 and r.json()["featured_product_id"] == a["id"]
    assert post_order(client, sid, a["id"]).status_code == 201
    client.post(f"/api/shows/{sid}/featured", json={"product_id": None})
    assert post_order(client, sid, a["id"]).status_code == 201  # un-featuring keeps it on sale
    client.post(f"/api/shows/{sid}/on_sale", json={"product_id": a["id"], "on_sale": False})
    assert_error(post_order(client, sid, a["id"]), 409, "not_on_sale")
    outsider = make_product(client)
    assert_error(
        client.post(f"/api/shows/{sid}/featured", json={"product_id": outsider["id"]}),
        400,
        "invalid",
    )
    client.post(f"/api/shows/{sid}/on_sale", json={"product_id": b["id"], "on_sale": True})
    client.post(f"/api/shows/{sid}/ordering", json={"open": False})
    assert_error(post_order(client, sid, b["id"]), 409, "ordering_closed")
    state = client.get(f"/api/shows/{sid}").json()
    assert [x["on_sale"] for x in state["products"]] == [False, True]  # closing keeps the flags
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    assert post_order(client, sid, b["id"]).status_code == 201  # the sale resumes as it was


def test_deal_price_checked_shown_and_charged(client: TestClient) -> None:
    p = make_product(client, price=3000, stock=10)
    sid = make_show(client, p["id"])["id"]
    ends = time.time() + 60
    url = f"/api/shows/{sid}/deal"
    assert_error(
        client.post(url, json={"product_id": p["id"], "price": 3000, "ends_at": ends}),
        400,
        "invalid",
    )
    assert_error(
        client.post(url, json={"product_id": p["id"], "price": 1990, "ends_at": time.time() - 1}),
        400,
        "invalid",
    )
    assert_error(client.post(url, json={"product_id": p["id"], "price": 1990}), 400, "invalid")
    assert_error(
        client.post(url, json={"product_id": p["id"], "price": -5, "ends_at": ends}), 400, "invalid"
    )
    r = client.post(url, json={"product_id": p["id"], "price": 1990, "ends_at": ends})
    assert r.status_code == 200
    shown = r.json()["products"][0]
    assert (shown["price"], shown["deal_price"], shown["deal_ends_at"]) == (
        3000,
        1990,
        pytest.approx(ends),
    )
    public = client.get(f"/api/shows/{sid}/state").json()["products"][0]
    assert public["deal_price"] == 1990
    assert post_order(client, sid, p["id"]).json()["price"] == 1990
    client.post(url, json={"product_id": p["id"], "price": None})
    assert "deal_price" not in client.get(f"/api/shows/{sid}/state").json()["products"][0]
    assert post_order(client, sid, p["id"]).json()["price"] == 3000


def test_http_order_is_idempotent_201_then_200(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    first = post_order(client, sid, p["id"], qty=2, key="tap-0001", buyer_token=me)
    assert first.status_code == 201
    body = first.json()
    assert (body["show_id"], body["product_id"], body["qty"], body["price"], body["status"]) == (
        sid,
        p["id"],
        2,
        2800,
        "claimed",
    )
    assert isinstance(body["created_at"], float)
    again = post_order(client, sid, p["id"], qty=2, key="tap-0001", buyer_token=me)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert_error(
        post_order(client, sid, p["id"], qty=3, key="tap-0001", buyer_token=me), 400, "invalid"
    )
    assert stock(client, p["id"]) == 3


def test_http_order_refusals_carry_reason_and_stock(client: TestClient) -> None:
    p = make_product(client, stock=2, limit_per_buyer=2)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    assert_error(post_order(client, sid, p["id"], qty=3, buyer_token=me), 409, "limit_exceeded")
    assert post_order(client, sid, p["id"], qty=2, buyer_token=me).status_code == 201
    body = assert_error(post_order(client, sid, p["id"]), 409, "sold_out")
    assert body["stock"] == 0


def test_order_errors_for_unknown_show_and_product(client: TestClient) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    assert_error(post_order(client, "nope", p["id"]), 404, "not_found")
    assert_error(post_order(client, sid, "unknown-product"), 409, "not_on_sale")


def test_buyer_flood_is_rate_limited(client: TestClient) -> None:
    p = make_product(client, stock=1000)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    codes = [post_order(client, sid, p["id"], buyer_token=me).status_code for _ in range(30)]
    assert codes.count(429) >= 10 and codes[0] == 201
    assert stock(client, p["id"]) == 1000 - codes.count(201)
    assert post_order(client, sid, p["id"]).status_code == 201  # another buyer is unaffected


def test_orders_list_json_and_csv(client: TestClient) -> None:
    p = make_product(client, name='=HYPERLINK("x") chili, "hot"', stock=10)
    sid = make_show(client, p["id"])["id"]
    placed = [post_order(client, sid, p["id"], qty=q).json() for q in (1, 2, 3)]
    orders = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    assert [o["id"] for o in orders] == [o["id"] for o in placed]
    assert all(o["buyer"] for o in orders)
    r = client.get(f"/api/shows/{sid}/orders?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")  # a BOM: spreadsheets read UTF-8
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert [row["id"] for row in rows] == [o["id"] for o in placed]
    assert [int(row["qty"]) for row in rows] == [1, 2, 3]
    assert rows[0]["product_name"].startswith("'=")  # a formula stays text in a spreadsheet


def test_cancel_returns_stock_once(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    o = post_order(client, sid, p["id"], qty=2).json()
    assert stock(client, p["id"]) == 3
    r = client.post(f"/api/orders/{o['id']}/cancel")
    assert (
        r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["changed"] is True
    )
    r = client.post(f"/api/orders/{o['id']}/cancel")
    assert r.status_code == 200 and r.json()["changed"] is False
    assert stock(client, p["id"]) == 5
    assert client.get(f"/api/products/{p['id']}").json()["sold"] == 0


def test_order_status_route(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    o = post_order(client, sid, p["id"]).json()
    assert o["cash_on_delivery"] is False
    paid = client.post(f"/api/orders/{o['id']}/status", json={"status": "paid"}).json()
    assert paid["status"] == "paid"
    shipped = client.post(f"/api/orders/{o['id']}/status", json={"status": "shipped"}).json()
    assert (shipped["status"], shipped["cash_on_delivery"]) == ("shipped", False)
    assert_error(client.post(f"/api/orders/{o['id']}/cancel"), 409, "conflict")
    assert_error(
        client.post(f"/api/orders/{o['id']}/status", json={"status": "cancelled"}), 400, "invalid"
    )


def test_public_state_is_the_snapshot_without_buyer_data(client: TestClient) -> None:
    a, b = make_product(client), make_product(client, name="Honey")
    sid = make_show(client, a["id"], b["id"], open_=False)["id"]
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    client.post(f"/api/shows/{sid}/featured", json={"product_id": a["id"]})
    me = buyer()
    post_order(client, sid, a["id"], buyer_token=me)
    r = client.get(f"/api/shows/{sid}/state", headers={"Authorization": ""})
    assert r.status_code == 200
    snap = r.json()
    assert snap["type"] == "snapshot" and isinstance(snap["seq"], int) and snap["seq"] > 0
    assert len(snap["show"].pop("short_code")) == 6
    assert snap["show"] == {
        "id": sid,
        "title": "Harvest night",
        "ordering_open": True,
        "featured_product_id": a["id"],
        "ended": False,
        "toasts": True,
    }
    assert [(x["id"], x["on_sale"], x["stock"], x["sold"]) for x in snap["products"]] == [
        (a["id"], True, 9, 1),
        (b["id"], False, 10, 0),
    ]
    assert me not in r.text and "overlay_key" not in r.text and '"buyer"' not in r.text


def test_seq_grows_with_every_change(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    seqs = [client.get(f"/api/shows/{sid}/state").json()["seq"]]
    post_order(client, sid, p["id"])
    seqs.append(client.get(f"/api/shows/{sid}/state").json()["seq"])
    client.patch(f"/api/products/{p['id']}", json={"stock_delta": 1})
    seqs.append(client.get(f"/api/shows/{sid}/state").json()["seq"])
    client.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
    seqs.append(client.get(f"/api/shows/{sid}/state").json()["seq"])
    assert seqs == sorted(set(seqs))


def test_overlay_key_rotation_ends_the_old_url(client: TestClient) -> None:
    p = make_product(client)
    show = make_show(client, p["id"])
    old = show["overlay_url"].split("8000", 1)[1] if "8000" in show["overlay_url"] else None
    assert old and client.get(old).status_code == 200
    new = client.post(f"/api/shows/{show['id']}/overlay_key").json()
    assert client.get(old).status_code == 403
    assert client.get(new["overlay_url"].split("8000", 1)[1]).status_code == 200


def test_pages_escape_html_and_send_safe_headers(client: TestClient) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    p = make_product(client, name=evil)
    r = client.post("/api/shows", json={"title": evil, "product_ids": [p["id"]]})
    show = r.json()
    client.post(f"/api/shows/{show['id']}/featured", json={"product_id": p["id"]})
    for path in (f"/s/{show['id']}", f"/overlay/{show['id']}?key={show['overlay_key']}"):
        r = client.get(path)
        assert r.status_code == 200
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "&lt;script&gt;" in client.get(f"/s/{show['id']}").text  # the title, as text
    assert client.get("/s/missing").status_code == 404
    # A wrong key answers a blank page that tells nothing about the show.
    wrong = client.get(f"/overlay/{show['id']}?key=wrong")
    assert wrong.status_code == 403 and "script" not in wrong.text.lower()
    assert show["title"] not in wrong.text and "&lt;" not in wrong.text
    assert client.get("/overlay/missing?key=x").status_code == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_ending_a_show_closes_everything(client: TestClient) -> None:
    p = make_product(client, stock=5)
    show = make_show(client, p["id"])
    client.post(f"/api/shows/{show['id']}/featured", json={"product_id": p["id"]})
    r = client.post(f"/api/shows/{show['id']}/end")
    assert r.status_code == 200
    body = r.json()
    assert body["ordering_open"] is False and body["featured_product_id"] is None
    assert [x["on_sale"] for x in body["products"]] == [False]
    state = client.get(f"/api/shows/{show['id']}/state").json()
    assert state["show"]["ended"] is True
    assert_error(post_order(client, show["id"], p["id"]), 409, "ordering_closed")
    assert_error(client.post("/api/shows/missing/end"), 404, "not_found")


def test_stats_tell_the_operator_about_this_process(client: TestClient) -> None:
    stats = client.get("/api/stats").json()
    assert set(stats) >= {"pid", "connections", "shows", "deliveries", "rss_bytes", "tasks"}
    assert stats["connections"] == 0 and stats["rss_bytes"] > 0


def test_short_link_and_qr_code(client: TestClient) -> None:
    p = make_product(client)
    show = make_show(client, p["id"])
    code = show["short_url"].rsplit("/", 1)[1]
    assert len(code) == 6 and show["short_url"].endswith(f"/b/{code}")
    r = client.get(f"/b/{code}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == f"/s/{show['id']}"
    assert client.get(f"/b/{code.lower()}", follow_redirects=False).status_code == 302
    assert client.get("/b/ZZZZZZ", follow_redirects=False).status_code == 404
    qr = client.get(f"/api/shows/{show['id']}/qr.svg", headers={"Authorization": ""})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and "<path" in qr.text


def test_delivery_details_reach_only_the_host(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    details = {
        "name": "Li Hua",
        "phone": "+86 138 0000 0000",
        "address": "9 Tea Lane",
        "city": "Hangzhou",
    }
    placed = post_order(client, sid, p["id"], buyer_token=me).json()
    r = client.put("/api/buyer/profile", json=details, headers={"X-Buyer": me, "Authorization": ""})
    assert r.status_code == 200
    host = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    delivery = host[0]["delivery"]
    assert {k: delivery[k] for k in details} == details  # "address" is the street line
    assert delivery["full_address"] == "Hangzhou 9 Tea Lane"
    assert delivery["toasts"] is False  # nobody appears in sale toasts unless they agree
    csv_text = client.get(f"/api/shows/{sid}/orders?format=csv").text
    assert "9 Tea Lane" in csv_text and "Hangzhou" in csv_text
    mine = client.get(f"/api/shows/{sid}/my-orders", headers={"X-Buyer": me, "Authorization": ""})
    assert mine.status_code == 200
    assert [o["id"] for o in mine.json()["orders"]] == [placed["id"]]
    public = client.get(f"/api/shows/{sid}/state", headers={"Authorization": ""}).text
    for secret in ("Li Hua", "138 0000", "9 Tea Lane", me):
        assert secret not in public and secret not in mine.text.replace(placed["key"], "")
    other = client.get(
        f"/api/shows/{sid}/my-orders", headers={"X-Buyer": buyer(), "Authorization": ""}
    )
    assert other.json()["orders"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "phone": "13800000000", "address": "a", "city": "c"},
        {"name": "n", "phone": "call me", "address": "a", "city": "c"},
        {"name": "n", "phone": "13800000000", "address": "a" * 301, "city": "c"},
        {"name": "n", "phone": "13800000000", "address": "a"},
        {"name": "n", "phone": "13800000000", "address": "  ", "city": "c"},
    ],
)
def test_bad_delivery_details_are_refused(client: TestClient, body: dict[str, Any]) -> None:
    r = client.put(
        "/api/buyer/profile", json=body, headers={"X-Buyer": buyer(), "Authorization": ""}
    )
    assert_error(r, 400, "invalid")


def test_buyer_routes_need_a_buyer_token(client: TestClient) -> None:
    details = {"name": "n", "phone": "13800000000", "address": "a", "city": "c"}
    assert_error(
        client.put("/api/buyer/profile", json=details, headers={"Authorization": ""}),
        400,
        "invalid",
    )
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    assert_error(
        client.get(f"/api/shows/{sid}/my-orders", headers={"X-Buyer": "short"}), 400, "invalid"
    )


# --- the first real show --------------------------------------------------------------------


def test_an_ended_show_is_final(client: TestClient) -> None:
    p, q = make_product(client, stock=5), make_product(client)
    show = make_show(client, p["id"])
    sid = show["id"]
    assert client.post(f"/api/shows/{sid}/end").status_code == 200
    assert_error(post_order(client, sid, p["id"]), 409, "ordering_closed")
    for path, body in (
        ("ordering", {"open": True}),
        ("featured", {"product_id": p["id"]}),
        ("featured", {"product_id": None}),
        ("on_sale", {"product_id": p["id"], "on_sale": True}),
        ("deal", {"product_id": p["id"], "price": 1, "ends_at": time.time() + 60}),
        ("deal", {"product_id": p["id"], "price": None}),
        ("toasts", {"on": False}),
    ):
        assert_error(client.post(f"/api/shows/{sid}/{path}", json=body), 409, "conflict")
    r = client.put(f"/api/shows/{sid}/lineup", json={"product_ids": [p["id"], q["id"]]})
    assert_error(r, 409, "conflict")
    again = client.post(f"/api/shows/{sid}/end")  # harmless
    assert again.status_code == 200 and again.json()["ended"] is True
    assert client.post(f"/api/shows/{sid}/ordering", json={"open": False}).status_code == 200
    host = client.get(f"/api/shows/{sid}").json()
    assert host["ended"] is True and host["ordering_open"] is False
    assert host["product_ids"] == [p["id"]] and host["toasts"] is True
    assert client.get(f"/api/shows/{sid}/state").json()["show"]["ended"] is True
    assert_error(post_order(client, sid, p["id"]), 409, "ordering_closed")
    assert stock(client, p["id"]) == 5


def test_the_lineup_changes_during_a_show(client: TestClient) -> None:
    a, b, c = make_product(client), make_product(client, stock=5), make_product(client)
    sid = make_show(client, a["id"], b["id"])["id"]
    client.post(f"/api/shows/{sid}/featured", json={"product_id": b["id"]})
    placed = post_order(client, sid, b["id"], qty=2).json()
    r = client.put(f"/api/shows/{sid}/lineup", json={"product_ids": [c["id"], a["id"]]})
    assert r.status_code == 200, r.text
    show = r.json()
    assert show["product_ids"] == [c["id"], a["id"]] and show["featured_product_id"] is None
    assert [(x["id"], x["on_sale"]) for x in show["products"]] == [
        (c["id"], False),
        (a["id"], True),
    ]
    public = client.get(f"/api/shows/{sid}/state").json()
    assert [x["id"] for x in public["products"]] == [c["id"], a["id"]]
    assert_error(post_order(client, sid, b["id"]), 409, "not_on_sale")
    orders = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    assert [(o["id"], o["status"]) for o in orders] == [(placed["id"], "claimed")]
    rows = client.get(f"/api/shows/{sid}/orders?format=csv").text
    assert b["name"] in rows  # the order keeps its product's name
    assert stock(client, b["id"]) == 3


@pytest.mark.parametrize(
    "case", ["unknown", "duplicate", "too many", "archived", "not a list", "extra field"]
)
def test_a_bad_lineup_is_refused_and_changes_nothing(client: TestClient, case: str) -> None:
    a, b = make_product(client), make_product(client)
    sid = make_show(client, a["id"])["id"]
    before = client.get(f"/api/shows/{sid}").json()
    body: dict[str, Any] = {
        "unknown": {"product_ids": [a["id"], "p-missing"]},
        "duplicate": {"product_ids": [a["id"], b["id"], a["id"]]},
        "too many": {"product_ids": [f"p{i}" for i in range(201)]},
        "archived": {"product_ids": [a["id"], b["id"]]},
        "not a list": {"product_ids": a["id"]},
        "extra field": {"product_ids": [a["id"]], "title": "x"},
    }[case]
    if case == "archived":
        assert client.patch(f"/api/products/{b['id']}", json={"archived": True}).status_code == 200
    assert_error(client.put(f"/api/shows/{sid}/lineup", json=body), 400, "invalid")
    assert client.get(f"/api/shows/{sid}").json() == before
    assert_error(
        client.put("/api/shows/missing/lineup", json={"product_ids": [a["id"]]}), 404, "not_found"
    )


def test_archived_products_leave_the_catalog_but_keep_their_orders(client: TestClient) -> None:
    p, other = make_product(client, stock=5), make_product(client)
    assert p["archived"] is False
    sid = make_show(client, p["id"])["id"]
    placed = post_order(client, sid, p["id"]).json()
    r = client.patch(f"/api/products/{p['id']}", json={"archived": True})
    assert r.status_code == 200 and r.json()["archived"] is True
    assert [x["id"] for x in client.get("/api/products").json()["products"]] == [other["id"]]
    listed = client.get("/api/products?archived=1").json()["products"]
    assert [(x["id"], x["archived"]) for x in listed] == [(p["id"], True), (other["id"], False)]
    assert client.get(f"/api/products/{p['id']}").json()["archived"] is True
    r = client.post("/api/shows", json={"title": "Next week", "product_ids": [p["id"]]})
    assert_error(r, 400, "invalid")
    # the show already holding it, and its orders, are untouched
    assert post_order(client, sid, p["id"]).status_code == 201
    assert client.get(f"/api/orders/{placed['id']}").json()["status"] == "claimed"
    assert_error(client.patch(f"/api/products/{p['id']}", json={"archived": "yes"}), 400, "invalid")
    r = client.patch(f"/api/products/{p['id']}", json={"archived": False})
    assert r.json()["archived"] is False
    assert len(client.get("/api/products").json()["products"]) == 2


def test_orders_carry_a_short_number(client: TestClient) -> None:
    p = make_product(client, stock=10)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    first = post_order(client, sid, p["id"], key="tap-00000001", buyer_token=me).json()
    second = post_order(client, sid, p["id"]).json()
    assert (first["number"], second["number"]) == (1, 2)
    again = post_order(client, sid, p["id"], key="tap-00000001", buyer_token=me)
    assert again.status_code == 200 and again.json()["number"] == 1
    host = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    assert [o["number"] for o in host] == [1, 2]
    mine = client.get(f"/api/shows/{sid}/my-orders", headers={"X-Buyer": me}).json()["orders"]
    assert [o["number"] for o in mine] == [1]
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/api/shows/{sid}/orders?format=csv").text.removeprefix("\ufeff")
            )
        )
    )
    assert [row["number"] for row in rows] == ["#0001", "#0002"]
    assert client.get(f"/api/orders/{second['id']}").json()["number"] == 2


def test_shipping_an_unpaid_order_needs_the_cash_on_delivery_choice(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    o = post_order(client, sid, p["id"]).json()
    url = f"/api/orders/{o['id']}/status"
    body = assert_error(client.post(url, json={"status": "shipped"}), 409, "conflict")
    assert '"unpaid": true' in body["detail"]
    assert client.get(f"/api/orders/{o['id']}").json()["status"] == "claimed"
    assert_error(client.post(url, json={"status": "paid", "unpaid": True}), 400, "invalid")
    assert_error(client.post(url, json={"status": "shipped", "unpaid": "yes"}), 400, "invalid")
    shipped = client.post(url, json={"status": "shipped", "unpaid": True})
    assert shipped.status_code == 200
    assert (shipped.json()["status"], shipped.json()["cash_on_delivery"]) == ("shipped", True)
    host = client.get(f"/api/shows/{sid}/orders").json()["orders"][0]
    assert host["cash_on_delivery"] is True
    rows = client.get(f"/api/shows/{sid}/orders?format=csv").text.removeprefix("\ufeff")
    assert next(csv.DictReader(io.StringIO(rows)))["cash_on_delivery"] == "yes"


def test_sale_toasts_per_show(client: TestClient) -> None:
    p = make_product(client)
    r = client.post(
        "/api/shows", json={"title": "Quiet", "product_ids": [p["id"]], "toasts": False}
    )
    assert r.status_code == 201 and r.json()["toasts"] is False
    sid = r.json()["id"]
    assert client.get(f"/api/shows/{sid}/state").json()["show"]["toasts"] is False
    r = client.post(f"/api/shows/{sid}/toasts", json={"on": True})
    assert r.status_code == 200 and r.json()["toasts"] is True
    assert client.get(f"/api/shows/{sid}/state").json()["show"]["toasts"] is True
    assert [s["toasts"] for s in client.get("/api/shows").json()["shows"]] == [True]
    assert_error(client.post(f"/api/shows/{sid}/toasts", json={"on": "off"}), 400, "invalid")
    assert_error(client.post("/api/shows/missing/toasts", json={"on": True}), 404, "not_found")
    default = make_show(client, p["id"], open_=False)
    assert default["toasts"] is True
