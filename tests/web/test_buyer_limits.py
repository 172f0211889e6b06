"""Limits against scalpers and floods on the sale path: orders and delivery details per client
address (HTTP and sockets share one budget), and the per-buyer limit counted per phone number.
On both backends."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from live.config import Settings, settings_from_env
from live.delivery import normalize_phone, phone_key
from live.ratelimit import address_bucket
from tests.helpers import buyer, key, make_product, make_show, make_show_with_products, post_order
from tests.support.live_server import LiveServer, connect, receive, receive_until

ORDER_BURST = 10
PROFILE_BURST = 20
SLOW = 0.5  # refills per second: a few at most during a test


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        order_rate_per_ip=SLOW,
        order_burst_per_ip=float(ORDER_BURST),
        profile_rate_per_ip=SLOW,
        profile_burst_per_ip=float(PROFILE_BURST),
    )


def delivery(phone: str = "138 0013 8000", **fields: Any) -> dict[str, Any]:
    return {
        "name": "Li Mei",
        "phone": phone,
        "street": "1 Orchard Rd",
        "city": "Hangzhou",
        **fields,
    }


def put_profile(client: TestClient, token: str, **fields: Any) -> Any:
    return client.put(
        "/api/buyer/profile",
        json=delivery(**fields),
        headers={"X-Buyer": token, "Authorization": ""},
    )


def at_most(burst: int, started: float) -> int:
    """What a bucket of `burst` refilling at SLOW per second can have let through since then."""
    return burst + int((time.monotonic() - started) * SLOW) + 1


# --- per address: orders -------------------------------------------------------------------


def test_orders_with_a_fresh_token_each_are_limited_per_address(client: TestClient) -> None:
    p = make_product(client, stock=500, limit_per_buyer=1)
    sid = make_show(client, p["id"])["id"]
    started = time.monotonic()
    answers = [post_order(client, sid, p["id"]) for _ in range(100)]  # a new buyer token every time
    taken = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    assert ORDER_BURST <= len(taken) <= at_most(ORDER_BURST, started)
    assert {r.status_code for r in refused} == {429}
    assert {r.json()["error"] for r in refused} == {"rate_limited"}
    # Refused before the store: nothing of them was applied.
    assert len(client.get(f"/api/shows/{sid}/orders").json()["orders"]) == len(taken)
    assert client.get(f"/api/products/{p['id']}").json()["stock"] == 500 - len(taken)


async def test_socket_and_http_orders_share_the_address_budget(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=500)
    half = ORDER_BURST // 2
    started = time.monotonic()
    for _ in range(half):
        r = await http.post(
            f"/api/shows/{sid}/orders",
            json={"product_id": ids[0], "qty": 1, "key": key()},
            headers={"X-Buyer": buyer(), "Authorization": ""},
        )
        assert r.status_code == 201
    results = []
    for _ in range(3 * half):  # a socket per fresh token, one order each, same address
        async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
            await receive(ws)
            message = {"type": "order", "product_id": ids[0], "qty": 1, "key": key()}
            await ws.send(json.dumps(message))
            result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
            results.append(result)
    accepted = [r for r in results if r["ok"]]
    assert half <= len(accepted) <= at_most(ORDER_BURST, started) - half
    assert {r["error"] for r in results if not r["ok"]} == {"rate_limited"}
    product = (await http.get(f"/api/products/{ids[0]}")).json()
    assert product["sold"] == half + len(accepted)


async def test_the_address_limit_counts_per_address() -> None:
    from live.backends import open_store
    from live.service import PlaceOrder, Service
    from tests.helpers import add_product, add_show

    settings = Settings(order_rate_per_ip=0.001, order_burst_per_ip=3.0)
    svc = Service(open_store(None), settings)
    p = await add_product(svc.store, stock=100)
    show = await add_show(svc.store, p)

    async def tap(address: str) -> str:
        order = PlaceOrder(show.id, buyer(), product_id=p.id, qty=1, key=key(), address=address)
        try:
            await svc.place_order(order)
        except Exception as exc:
            return getattr(exc, "code", "error")
        return "ok"

    assert [await tap("203.0.113.7") for _ in range(4)] == ["ok"] * 3 + ["rate_limited"]
    assert await tap("203.0.113.8") == "ok"  # a neighbour is not affected
    # An IPv6 client can pick any address of its /64: they share one budget.
    v6 = [await tap(f"2001:db8:1:2::{i:x}") for i in range(1, 5)]
    assert v6 == ["ok"] * 3 + ["rate_limited"]
    assert await tap("2001:db8:1:3::1") == "ok"
    assert await tap("") == "ok"  # internal callers (the demo's bots) are not limited


def test_address_buckets() -> None:
    assert address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket("2001:db8::1") == address_bucket("2001:db8:0:0:ffff::2")
    assert address_bucket("2001:db8::1") == "2001:db8::/64"
    assert address_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_bucket("testclient") == "testclient"


# --- per address: delivery details --------------------------------------------------------


def test_a_thousand_profile_writes_from_fresh_tokens_are_refused_past_the_limit(
    client: TestClient,
) -> None:
    tokens = [buyer() for _ in range(1000)]
    started = time.monotonic()
    codes = [put_profile(client, t).status_code for t in tokens]
    saved = [t for t, c in zip(tokens, codes, strict=True) if c == 200]
    assert PROFILE_BURST <= len(saved) <= at_most(PROFILE_BURST, started)
    assert set(codes) == {200, 429}
    r = put_profile(client, buyer())
    assert (r.status_code, r.json()["error"]) == (429, "rate_limited")
    # Refused writes stored nothing.
    store = client.app.state.service.store  # type: ignore[attr-defined]
    kept = client.portal.call(store.get_profiles, tokens)  # type: ignore[union-attr]
    assert set(kept) == set(saved)


def test_profile_checks_come_before_the_rate_limit(client: TestClient) -> None:
    for _ in range(PROFILE_BURST):
        assert put_profile(client, buyer()).status_code == 200
    # A malformed request is `invalid` whatever the budget, and costs none of it.
    r = client.put("/api/buyer/profile", json=delivery(), headers={"Authorization": ""})
    assert (r.status_code, r.json()["error"]) == (400, "invalid")
    assert put_profile(client, buyer()).status_code == 429


def test_settings_from_the_environment() -> None:
    s = settings_from_env(
        {
            "LIVE_ORDER_RATE_PER_IP": "2.5",
            "LIVE_ORDER_BURST_PER_IP": "60",
            "LIVE_PROFILE_RATE_PER_IP": "0.2",
            "LIVE_PROFILE_BURST_PER_IP": "5",
            "LIVE_PROFILE_TTL": "3600",
        }
    )
    assert (s.order_rate_per_ip, s.order_burst_per_ip) == (2.5, 60.0)
    assert (s.profile_rate_per_ip, s.profile_burst_per_ip) == (0.2, 5.0)
    assert s.profile_ttl == 3600
    defaults = settings_from_env({})
    assert (defaults.order_rate_per_ip, defaults.order_burst_per_ip) == (10.0, 40.0)
    assert defaults.profile_ttl == 86400
    for name, bad in [
        ("LIVE_ORDER_RATE_PER_IP", "0"),
        ("LIVE_PROFILE_BURST_PER_IP", "-1"),
        ("LIVE_PROFILE_TTL", "soon"),
    ]:
        with pytest.raises(SystemExit, match=name):
            settings_from_env({name: bad})


# --- per phone ------------------------------------------------------------------------------


def test_phone_keys_are_the_digits_of_the_kept_number_with_its_country_code() -> None:
    """Phones are kept in international form (live.delivery.normalize_phone); the key is its
    digits. Details kept before numbers were normalized are read the same way."""
    kept = normalize_phone("138 0013 8000")
    assert kept == "+86 138 0013 8000"
    assert phone_key(kept) == "8613800138000"
    same = ["138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "13800138000"]
    assert {phone_key(normalize_phone(p)) for p in same} == {"8613800138000"}
    assert {phone_key(p) for p in same} == {"8613800138000"}  # kept before normalizing
    assert phone_key(normalize_phone("+44 20 7946 0958", home=False)) == "442079460958"
    assert phone_key("+86 139 0013 9000") != phone_key("+86 138 0013 8000")
    assert phone_key("not a number 12") == "12"  # unreadable: its bare digits
    assert phone_key("  ") == ""


def test_the_per_buyer_limit_follows_the_phone_however_it_is_typed(client: TestClient) -> None:
    p = make_product(client, stock=50, limit_per_buyer=1)
    sid = make_show(client, p["id"])["id"]
    first, second, third, neighbour = buyer(), buyer(), buyer(), buyer()
    assert post_order(client, sid, p["id"], buyer_token=first).status_code == 201
    assert put_profile(client, first, phone="138 0013 8000").status_code == 200
    assert put_profile(client, second, phone="+86 138-0013-8000").status_code == 200
    assert put_profile(client, third, phone="0086 13800138000").status_code == 200
    for token in (second, third):
        r = post_order(client, sid, p["id"], buyer_token=token)
        assert (r.status_code, r.json()["error"]) == (409, "limit_exceeded")
    assert put_profile(client, neighbour, phone="139 0013 9000").status_code == 200
    assert post_order(client, sid, p["id"], buyer_token=neighbour).status_code == 201
    # The host cancels the first unit: the phone may have one again, from any of its tokens.
    first_order = client.get(f"/api/shows/{sid}/orders", params={"buyer": first}).json()
    client.post(f"/api/orders/{first_order['orders'][0]['id']}/cancel")
    assert post_order(client, sid, p["id"], buyer_token=third).status_code == 201


# --- the client address stays with the host -----------------------------------------------------


async def test_orders_keep_the_client_address_for_the_host_only(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=10)
    me = buyer()
    public = {"Authorization": "", "X-Buyer": me}
    r = await http.post(
        f"/api/shows/{sid}/orders",
        json={"product_id": ids[0], "qty": 1, "key": key()},
        headers=public,
    )
    assert r.status_code == 201
    async with connect(live_server.ws_url(sid, buyer=me)) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()}))
        result, seen = await receive_until(ws, lambda m: m["type"] == "order_result")
    mine = await http.get(f"/api/shows/{sid}/my-orders", headers=public)
    state = await http.get(f"/api/shows/{sid}/state", headers={"Authorization": ""})
    for answer in (r.text, json.dumps(result), json.dumps(seen), mine.text, state.text):
        assert "127.0.0.1" not in answer and '"ip"' not in answer
    host = (await http.get(f"/api/shows/{sid}/orders")).json()["orders"]
    assert [o["ip"] for o in host] == ["127.0.0.1", "127.0.0.1"]
