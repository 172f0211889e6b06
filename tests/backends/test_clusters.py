"""The host's view of order clusters (`GET /api/shows/{id}/clusters`): addresses and phone
numbers behind many orders or units in a show. The grouping is pure; the endpoint runs on both
backends."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from starlette.testclient import TestClient

from live.clusters import Thresholds, find_clusters
from live.domain import Order, OrderStatus
from live.service import PlaceOrder
from tests.helpers import buyer, make_product, make_show


def placed(buyer: str, *, ip: str = "", qty: int = 1, cancelled: bool = False) -> Order:
    return Order(
        id="o" + secrets.token_hex(4),
        show_id="s1",
        product_id="p1",
        buyer=buyer,
        qty=qty,
        price=100,
        currency="CNY",
        status=OrderStatus.CANCELLED if cancelled else OrderStatus.CLAIMED,
        created_at=0.0,
        key="k" + secrets.token_hex(4),
        ip=ip,
    )


def test_clusters_group_live_orders_by_address_and_by_phone() -> None:
    crowd = [placed(f"t{i}", ip="203.0.113.7") for i in range(5)]
    v6 = [placed("u1", ip="2001:db8:1:2::1", qty=6), placed("u2", ip="2001:db8:1:2::99", qty=4)]
    loyal = [placed("one", ip="198.51.100.1") for _ in range(7)]  # one token: not a cluster
    phone = [placed(f"f{i}", ip=f"192.0.2.{i}", qty=4) for i in range(3)]
    gone = [placed(f"c{i}", ip="192.0.2.200", cancelled=True) for i in range(9)]
    phones = {f"f{i}": "8613800138000" for i in range(3)} | {"t0": "8613900139000"}
    found = find_clusters(crowd + v6 + loyal + phone + gone, phones, Thresholds())
    summary = [(c.kind, c.value, c.orders, c.units, len(c.buyers)) for c in found]
    assert summary == [
        ("phone", "8613800138000", 3, 12, 3),
        ("address", "2001:db8:1:2::/64", 2, 10, 2),
        ("address", "203.0.113.7", 5, 5, 5),
    ]
    assert set(found[2].order_ids) == {o.id for o in crowd}
    everyone = find_clusters(crowd + loyal, {}, Thresholds(min_buyers=1, min_orders=6))
    assert [(c.value, c.buyers) for c in everyone] == [("198.51.100.1", ("one",))]


def tap(client: TestClient, show_id: str, product_id: str, token: str, ip: str, qty: int) -> None:
    """An order from a given client address, through the service (the test client has one)."""
    svc = client.app.state.service  # type: ignore[attr-defined]
    order = PlaceOrder(show_id, token, product_id, qty, key="k" + secrets.token_hex(6), address=ip)
    call = functools.partial(svc.place_order, order)
    client.portal.call(call)  # type: ignore[union-attr]


def clusters(client: TestClient, show_id: str, **params: Any) -> Any:
    return client.get(f"/api/shows/{show_id}/clusters", params=params)


def test_the_host_sees_clusters_of_a_show(client: TestClient) -> None:
    p = make_product(client, stock=100)
    sid = make_show(client, p["id"])["id"]
    other = make_show(client, p["id"])["id"]
    for _ in range(5):
        tap(client, sid, p["id"], buyer(), "203.0.113.7", 1)
    tap(client, other, p["id"], buyer(), "203.0.113.7", 1)  # another show: not counted
    family = [buyer() for _ in range(3)]
    for i, (token, typed) in enumerate(
        zip(family, ["138 0013 8000", "+86 138-0013-8000", "13800138000"], strict=True)
    ):
        details = {"name": "Li", "phone": typed, "street": "1 Rd", "city": "Hangzhou"}
        r = client.put("/api/buyer/profile", json=details, headers={"X-Buyer": token})
        assert r.status_code == 200
        tap(client, sid, p["id"], token, f"198.51.100.{i}", 4)
    r = clusters(client, sid)
    assert r.status_code == 200
    body = r.json()
    assert (body["min_buyers"], body["min_orders"], body["min_units"]) == (2, 5, 10)
    assert [(c["kind"], c["value"], c["orders"], c["units"]) for c in body["clusters"]] == [
        ("phone", "8613800138000", 3, 12),
        ("address", "203.0.113.7", 5, 5),
    ]
    assert sorted(body["clusters"][0]["buyers"]) == sorted(family)
    orders = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    by_ip = {o["id"] for o in orders if o["ip"] == "203.0.113.7"}
    assert set(body["clusters"][1]["order_ids"]) == by_ip
    # Thresholds are parameters; cancelled orders don't count.
    assert clusters(client, sid, min_orders=6, min_units=13).json()["clusters"] == []
    for oid in body["clusters"][0]["order_ids"]:
        assert client.post(f"/api/orders/{oid}/cancel").status_code == 200
    assert [c["kind"] for c in clusters(client, sid).json()["clusters"]] == ["address"]


def test_clusters_are_for_the_host_only_and_check_their_parameters(client: TestClient) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    r = client.get(f"/api/shows/{sid}/clusters", headers={"Authorization": ""})
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    for bad in ({"min_orders": "0"}, {"min_units": "many"}, {"min_buyers": "2000000"}):
        r = clusters(client, sid, **bad)
        assert (r.status_code, r.json()["error"]) == (400, "invalid"), bad
    assert clusters(client, "s-unknown").status_code == 404
