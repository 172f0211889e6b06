"""Hostile and malformed input to the HTTP API: path ids, bodies, order bodies, buyer tokens,
text, deals and numbers at the edges. Every refusal is a clean 4xx in the error shape and
changes nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.helpers import (
    NO_AUTH,
    assert_error,
    buyer,
    make_product,
    make_show,
    post_order,
    stock,
)

HYPO = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


ODD_IDS = [
    "nope",  # merely unknown
    "x:y",  # ':' is the Redis key separator
    "products",  # the name of the Redis product list key
    "p1:shows",  # would collide with the product->shows set key
    "%2E%2E",  # ".." that the client does not normalise away
    "%00",
    "a%00b",
    "%0A",
    "p1%0A",  # '$' in a regex matches before a trailing newline
    "%E2%80%AE",  # right-to-left override
    "%F0%9F%8C%B6",  # an emoji
    "%3Cscript%3E",
    "'%20OR%201=1",
    "x" * 65,
    "%2A",
    "%C3%A9",
]


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_path_ids_are_404_with_the_error_shape(client: TestClient, odd: str) -> None:
    calls = [
        ("GET", f"/api/products/{odd}", None),
        ("PATCH", f"/api/products/{odd}", {"stock": 1}),
        ("GET", f"/api/shows/{odd}", None),
        ("POST", f"/api/shows/{odd}/featured", {"product_id": None}),
        ("POST", f"/api/shows/{odd}/ordering", {"open": True}),
        ("POST", f"/api/shows/{odd}/overlay_key", None),
        ("GET", f"/api/shows/{odd}/orders", None),
        ("GET", f"/api/shows/{odd}/orders?format=csv", None),
        ("GET", f"/api/shows/{odd}/state", None),
        ("GET", f"/api/orders/{odd}", None),
        ("POST", f"/api/orders/{odd}/cancel", None),
        ("POST", f"/api/orders/{odd}/status", {"status": "paid"}),
    ]
    for method, path, body in calls:
        r = client.request(method, path, json=body)
        assert_error(r, 404, "not_found")
    r = post_order(client, odd, "p1")
    assert_error(r, 404, "not_found")


BAD_PRODUCT_BODIES: list[Any] = [
    {"name": "x", "price": 10**30, "stock": 1},
    {"name": "x", "price": -1, "stock": 1},
    {"name": "x", "price": 1.5, "stock": 1},
    {"name": "x", "price": "100", "stock": 1},
    {"name": "x", "price": True, "stock": 1},
    {"name": "x", "price": 1, "stock": 10**9 + 1},
    {"name": "x", "price": 1, "stock": -(2**63) - 1},
    {"name": "x", "price": 1, "stock": 1, "limit_per_buyer": 0},
    {"name": "x", "price": 1, "stock": 1, "currency": "cny"},
    {"name": "x", "price": 1, "stock": 1, "currency": "CNYY"},
    {"name": "x", "price": 1, "stock": 1, "image_url": "javascript:alert(1)"},
    {"name": "x", "price": 1, "stock": 1, "image_url": " javascript:alert(1)"},
    {"name": "x", "price": 1, "stock": 1, "image_url": "data:text/html,<script>1</script>"},
    {"name": "   \t\n", "price": 1, "stock": 1},
    {"name": "\u3000", "price": 1, "stock": 1},
    {"name": "x" * 201, "price": 1, "stock": 1},
    {"name": "x", "price": 1, "stock": 1, "description": "d" * 2001},
    {"name": {"$gt": ""}, "price": 1, "stock": 1},
    {"name": ["x"], "price": 1, "stock": 1},
    {"name": None, "price": 1, "stock": 1},
    {"name": "x", "price": 1, "stock": 1, "id": "chosen"},
    {"name": "x", "price": 1, "stock": 1, "sold": 5},
    {"name": "x", "price": 1},
    {"price": 1, "stock": 1},
    {"name": "x", "price": 1, "stock": -1},
    {"name": "x", "price": 1, "stock": 10**30},
    {"name": "x", "price": 1, "stock": True},
    {"name": "x", "price": 1, "stock": 1, "currency": "rmb"},
    {"name": "x", "price": 1, "stock": 1, "colour": "red"},
    [1, 2],
    [],
    [{"name": "x", "price": 1, "stock": 1}],
    "x",
    None,
    1,
]


@pytest.mark.parametrize("body", BAD_PRODUCT_BODIES)
def test_bad_product_bodies_are_400_invalid_and_create_nothing(
    client: TestClient, body: Any
) -> None:
    before = client.get("/api/products").json()["products"]
    assert_error(client.post("/api/products", json=body), 400, "invalid")
    assert client.get("/api/products").json()["products"] == before


RAW_BODIES = [
    b"",
    b"{",
    b"\xff\xfe{}",
    b"\xef\xbb\xbf" + b'{"name":"x","price":1,"stock":1}',  # a BOM is not JSON
    b'{"name":"\xff","price":1,"stock":1}',  # invalid UTF-8
    b'{"name":"\\ud800","price":1,"stock":1}',  # a lone surrogate
    b'{"name":"x","price":1,"stock":1,"zz":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    b'{"name":' + b"[" * 20_000 + b"]" * 20_000 + b',"price":1,"stock":1}',
    b'{"name":"x","price":NaN,"stock":1}',
    b'{"name":"x","price":Infinity,"stock":1}',
    b'{"name":"x","price":1e400,"stock":1}',
    b"name=x&price=1&stock=1",
    b"null",
    b"name=chili",
    b'{"name": "x", "price": 1',  # truncated
]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda b: repr(b[:24]))
@pytest.mark.parametrize("ctype", ["application/json", "text/plain", None])
def test_malformed_raw_bodies_are_400_never_500(
    client: TestClient, raw: bytes, ctype: str | None
) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = client.post("/api/products", content=raw, headers=headers)
    assert_error(r, 400, "invalid")
    assert client.get("/api/products").json()["products"] == []


def test_chunked_body_over_the_limit_is_413_and_changes_nothing(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"name":"x","price":1,"stock":1,"description":"'
        for _ in range(80):
            yield b"d" * 1024
        yield b'"}'

    r = client.post("/api/products", content=chunks())
    assert_error(r, 413, "too_large")
    assert client.get("/api/products").json()["products"] == []


def test_unknown_route_and_wrong_method_keep_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.delete("/api/products"), 405, "method_not_allowed")
    assert_error(client.put("/api/shows/s1/orders", json={}), 405, "method_not_allowed")


def test_405_says_which_methods_are_allowed(client: TestClient) -> None:
    r = client.delete("/api/products")
    assert r.status_code == 405
    assert "GET" in r.headers.get("allow", "") and "POST" in r.headers.get("allow", "")


BAD_ORDER_BODIES: list[Any] = [
    {"qty": 1, "key": "k" * 8},
    {"product_id": "P", "qty": 0, "key": "k" * 8},
    {"product_id": "P", "qty": -1, "key": "k" * 8},
    {"product_id": "P", "qty": 10_001, "key": "k" * 8},
    {"product_id": "P", "qty": 10**40, "key": "k" * 8},
    {"product_id": "P", "qty": 1.0, "key": "k" * 8},
    {"product_id": "P", "qty": 1.5, "key": "k" * 8},
    {"product_id": "P", "qty": "1", "key": "k" * 8},
    {"product_id": "P", "qty": True, "key": "k" * 8},
    {"product_id": "P", "qty": 1, "key": "k" * 7},
    {"product_id": "P", "qty": 1, "key": "k" * 65},
    {"product_id": "P", "qty": 1, "key": "kkkk:kkkk"},
    {"product_id": "P", "qty": 1, "key": "kkkk kkkk"},
    {"product_id": "P", "qty": 1, "key": "kkkkkkk\u00e9"},
    {"product_id": "P", "qty": 1, "key": "kkkkkkkk\u0000"},
    {"product_id": "P", "qty": 1, "key": 12345678},
    {"product_id": "P", "qty": 1, "key": None},
    {"product_id": "P", "qty": 1},
    {"product_id": "P", "qty": 1, "key": "k" * 8, "price": 1},
    {"product_id": "P", "qty": 1, "key": "k" * 8, "buyer": "b" * 16},
    {"product_id": ["P"], "qty": 1, "key": "k" * 8},
]


@pytest.mark.parametrize("body", BAD_ORDER_BODIES)
def test_malformed_orders_are_400_invalid_and_take_nothing(client: TestClient, body: Any) -> None:
    p = make_product(client, stock=5)
    show = make_show(client, p["id"])
    if isinstance(body.get("product_id"), str):
        body = {**body, "product_id": p["id"]}
    r = client.post(
        f"/api/shows/{show['id']}/orders", json=body, headers={"X-Buyer": buyer(), **NO_AUTH}
    )
    assert_error(r, 400, "invalid")
    assert stock(client, p["id"]) == 5
    assert client.get(f"/api/shows/{show['id']}/orders").json()["orders"] == []


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "short",
        "x" * 15,
        "x" * 65,
        "buyer:with:colons00",
        "buyer token with sp",
        "b" * 15 + "\u00e9",
        "<script>alert(1)</script>",
    ],
)
def test_bad_buyer_tokens_are_invalid(client: TestClient, token: str | None) -> None:
    p = make_product(client, stock=5)
    show = make_show(client, p["id"])
    headers: dict[str, Any] = dict(NO_AUTH)
    if token is not None:
        headers["X-Buyer"] = token.encode("utf-8")  # raw bytes, as a hostile client sends
    r = client.post(
        f"/api/shows/{show['id']}/orders",
        json={"product_id": p["id"], "qty": 1, "key": "k" * 8},
        headers=headers,
    )
    assert_error(r, 400, "invalid")
    assert stock(client, p["id"]) == 5


def test_buyer_token_and_key_length_bounds_are_accepted(client: TestClient) -> None:
    p = make_product(client, stock=5)
    show = make_show(client, p["id"])
    r = post_order(client, show["id"], p["id"], key="k" * 8, buyer_token="b" * 16)
    assert r.status_code == 201, r.text
    r = post_order(client, show["id"], p["id"], key="-_" * 32, buyer_token="B-_" * 21 + "z")
    assert r.status_code == 201, r.text
    assert stock(client, p["id"]) == 3


# Regression: the id/key/currency patterns once ended in "$", which also matches before a
# trailing newline (fixed in cc875df by anchoring with \Z).
def test_order_key_with_a_trailing_newline_is_invalid(client: TestClient) -> None:
    p = make_product(client, stock=5)
    show = make_show(client, p["id"])
    r = client.post(
        f"/api/shows/{show['id']}/orders",
        json={"product_id": p["id"], "qty": 1, "key": "abcdefgh\n"},
        headers={"X-Buyer": buyer(), **NO_AUTH},
    )
    assert_error(r, 400, "invalid")
    assert stock(client, p["id"]) == 5


def test_currency_with_a_trailing_newline_is_invalid(client: TestClient) -> None:
    r = client.post(
        "/api/products", json={"name": "x", "price": 1, "stock": 1, "currency": "USD\n"}
    )
    assert_error(r, 400, "invalid")


NAMES = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=200)


@HYPO
@given(
    name=NAMES,
    description=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
)
def test_any_unicode_name_round_trips_or_is_refused_cleanly(
    client: TestClient, name: str, description: str
) -> None:
    r = client.post(
        "/api/products", json={"name": name, "price": 1, "stock": 1, "description": description}
    )
    if not name.strip():
        assert_error(r, 400, "invalid")
        return
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["name"] == name.strip() and p["description"] == description
    got = client.get(f"/api/products/{p['id']}").json()
    assert got["name"] == name.strip() and got["description"] == description
    r = client.patch(f"/api/products/{p['id']}", json={"name": name, "producer": name[:200]})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name.strip()


def test_patch_trims_text_like_create_does(client: TestClient) -> None:
    p = make_product(client, unit="  jar  ", producer="  Auntie Zhao  ")
    assert (p["unit"], p["producer"]) == ("jar", "Auntie Zhao")
    r = client.patch(
        f"/api/products/{p['id']}", json={"unit": "  jar  ", "producer": "  Auntie Zhao  "}
    )
    assert r.status_code == 200
    assert (r.json()["unit"], r.json()["producer"]) == ("jar", "Auntie Zhao")


def test_deal_inputs_at_the_edges(client: TestClient) -> None:
    p = make_product(client, price=1000, stock=5)
    show = make_show(client, p["id"])
    url = f"/api/shows/{show['id']}/deal"
    now = time.time()
    for body in (
        {"product_id": p["id"], "price": 1000, "ends_at": now + 60},
        {"product_id": p["id"], "price": 999, "ends_at": now - 1},
        {"product_id": p["id"], "price": 999},
        {"product_id": p["id"], "price": 999, "ends_at": "soon"},
        {"product_id": p["id"], "price": 999, "ends_at": 1e12},
        {"product_id": p["id"], "price": -1, "ends_at": now + 60},
        {"product_id": "nope", "price": 1, "ends_at": now + 60},
    ):
        assert_error(client.post(url, json=body), 400, "invalid")
    r = client.post(url, json={"product_id": p["id"], "price": 0, "ends_at": now + 60})
    assert r.status_code == 200, r.text
    got = post_order(client, show["id"], p["id"], qty=2)
    assert got.status_code == 201 and got.json()["price"] == 0 and got.json()["total"] == 0
    r = client.post(url, json={"product_id": p["id"], "price": None})
    assert r.status_code == 200
    assert post_order(client, show["id"], p["id"]).json()["price"] == 1000


def test_huge_prices_and_quantities_stay_exact(client: TestClient) -> None:
    p = make_product(client, price=10**12 - 1, stock=10**9)
    show = make_show(client, p["id"])
    r = post_order(client, show["id"], p["id"], qty=10_000)
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["price"], o["qty"], o["total"]) == (10**12 - 1, 10_000, (10**12 - 1) * 10_000)
    listed = client.get(f"/api/shows/{show['id']}/orders").json()["orders"][0]
    assert listed["price"] == 10**12 - 1
    assert stock(client, p["id"]) == 10**9 - 10_000
