"""Pre-orders of the next harvest, on both backends: once the stock is gone an order is taken as
a pre-order up to the cap, marked and dated; a harvest turns pre-orders into orders that ship and
the rest into stock, in one step; no more pre-orders than the cap under a race."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from typing import Any

import pytest
from starlette.testclient import TestClient

from live.backends import Store
from live.domain import Option, OrderAccepted, Product
from live.errors import Conflict, Invalid, NotFound, OrderRefused, Reason
from tests.helpers import (
    NO_AUTH,
    add_product,
    add_show,
    assert_error,
    buyer,
    make_product,
    make_show,
    order_request,
    post_order,
)

MAY = "2027-05-10"


async def outcome(store: Store, request: Any) -> OrderAccepted | OrderRefused:
    try:
        return await store.place_order(request)
    except OrderRefused as refused:
        return refused


def pick(show: Any, product: Product, option_id: str | None = None, **kw: Any) -> Any:
    return dataclasses.replace(order_request(show, product, **kw), option_id=option_id)


async def test_orders_beyond_stock_are_pre_orders_up_to_the_cap(store: Store) -> None:
    honey = await add_product(store, stock=1, preorder_cap=3, ships_from=MAY)
    show = await add_show(store, honey)
    first = await store.place_order(order_request(show, honey))
    assert not first.order.preorder and first.order.ships_from == ""
    second = await store.place_order(order_request(show, honey, qty=2))
    order = second.order
    assert (order.preorder, order.ships_from, order.harvest, second.stock) == (True, MAY, 1, 0)
    assert await store.get_order(order.id) == order
    after = await store.get_product(honey.id)
    assert (after.stock, after.sold, after.preordered) == (0, 3, 2)
    refused = await outcome(store, order_request(show, honey, qty=2))
    assert isinstance(refused, OrderRefused)
    assert (refused.reason, refused.stock) == (Reason.SOLD_OUT, 0)
    assert (await store.place_order(order_request(show, honey))).order.preorder
    refused = await outcome(store, order_request(show, honey))
    assert isinstance(refused, OrderRefused) and refused.reason is Reason.SOLD_OUT
    # a product without a cap is sold out as before
    plain = await add_product(store, stock=0)
    show2 = await add_show(store, plain)
    refused = await outcome(store, order_request(show2, plain))
    assert isinstance(refused, OrderRefused) and refused.reason is Reason.SOLD_OUT


async def test_a_harvest_turns_pre_orders_into_orders_that_ship(store: Store) -> None:
    honey = await add_product(store, stock=0, preorder_cap=5, ships_from=MAY)
    show = await add_show(store, honey)
    a = (await store.place_order(order_request(show, honey, qty=2))).order
    b = (await store.place_order(order_request(show, honey, qty=1))).order
    _, changed = await store.cancel_order(b.id)  # before the harvest: back to the room
    assert changed
    after = await store.get_product(honey.id)
    assert (after.stock, after.sold, after.preordered) == (0, 2, 2)
    with pytest.raises(Conflict):
        await store.receive_harvest(honey.id, None, 1)  # does not cover the pre-orders
    assert await store.get_product(honey.id) == after
    harvested = await store.receive_harvest(honey.id, None, 10)
    assert (harvested.stock, harvested.preordered, harvested.harvests) == (8, 0, 1)
    assert await store.get_product(honey.id) == harvested
    # the harvested pre-order, cancelled, goes back to stock
    await store.cancel_order(a.id)
    after = await store.get_product(honey.id)
    assert (after.stock, after.sold, after.preordered) == (10, 0, 0)
    # orders take stock again; once it is gone, pre-orders wait for the second harvest
    late = await store.place_order(order_request(show, honey, qty=10))
    assert not late.order.preorder
    again = await store.place_order(order_request(show, honey))
    assert again.order.preorder and again.order.harvest == 2


async def test_options_take_their_own_pre_orders_and_harvests(store: Store) -> None:
    jars = (
        Option(id="v500", name="500 g", stock=1, preorder_cap=2, ships_from=MAY),
        Option(id="v1k", name="1 kg", stock=0),
    )
    honey = await add_product(store, stock=1, options=jars)
    show = await add_show(store, honey)
    await store.place_order(pick(show, honey, "v500"))
    pre = await store.place_order(pick(show, honey, "v500", qty=2))
    assert pre.order.preorder and pre.order.ships_from == MAY and pre.order.option_name == "500 g"
    refused = await outcome(store, pick(show, honey, "v1k"))
    assert isinstance(refused, OrderRefused) and refused.reason is Reason.SOLD_OUT
    after = await store.get_product(honey.id)
    assert after.preordered == 2 and [o.preordered for o in after.options] == [2, 0]
    with pytest.raises(Invalid):
        await store.receive_harvest(honey.id, None, 5)
    with pytest.raises(NotFound):
        await store.receive_harvest(honey.id, "nosuchoption", 5)
    harvested = await store.receive_harvest(honey.id, "v500", 5)
    assert [(o.stock, o.preordered, o.harvests) for o in harvested.options] == [
        (3, 0, 1),
        (0, 0, 0),
    ]
    assert (harvested.stock, harvested.preordered) == (3, 0)
    assert await store.get_product(honey.id) == harvested


async def test_no_more_pre_orders_than_the_cap_under_a_race(store: Store, second: Store) -> None:
    honey = await add_product(store, stock=2, preorder_cap=5, ships_from=MAY)
    jars = (Option(id="v1", name="1 kg", stock=1, preorder_cap=3),)
    boxed = await add_product(store, stock=1, options=jars)
    show = await add_show(store, honey, boxed)
    clients = (store, second)
    jobs = [outcome(clients[i % 2], order_request(show, honey, buyer=buyer())) for i in range(30)]
    jobs += [outcome(clients[i % 2], pick(show, boxed, "v1")) for i in range(20)]
    results = await asyncio.gather(*jobs)
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    assert all(r.reason is Reason.SOLD_OUT for r in results if isinstance(r, OrderRefused))
    plain = [r.order for r in accepted if r.order.product_id == honey.id]
    assert len(plain) == 7 and sum(o.preorder for o in plain) == 5
    optioned = [r.order for r in accepted if r.order.product_id == boxed.id]
    assert len(optioned) == 4 and sum(o.preorder for o in optioned) == 3
    h, b = await second.get_product(honey.id), await second.get_product(boxed.id)
    assert (h.stock, h.sold, h.preordered) == (0, 7, 5)
    assert (b.stock, b.sold, b.preordered) == (0, 4, 3)
    # a harvest racing the last cancels: every unit ends up in stock exactly once
    # a harvest racing two cancels of pre-orders: in whatever order they land, each cancelled
    # unit ends up in stock exactly once (through the room before the harvest, after it direct)
    waiting = [o for o in plain if o.preorder]
    await asyncio.gather(
        store.receive_harvest(honey.id, None, 5), *(second.cancel_order(o.id) for o in waiting[:2])
    )
    h = await store.get_product(honey.id)
    assert (h.stock, h.sold, h.preordered, h.harvests) == (2, 5, 0, 1)


# --- over HTTP --------------------------------------------------------------------------------


def test_pre_orders_over_http_are_marked_everywhere(client: TestClient) -> None:
    p = make_product(client, name="New honey", stock=1, preorder_cap=2, ships_from=MAY)
    assert (p["preorder_cap"], p["ships_from"], p["preordered"]) == (2, MAY, 0)
    for bad in ({"preorder_cap": -1}, {"ships_from": "10 May"}):
        r = client.post("/api/products", json={"name": "x", "price": 1, "stock": 0, **bad})
        assert_error(r, 400, "invalid")
    show = make_show(client, p["id"])
    first = post_order(client, show["id"], p["id"])
    pre = post_order(client, show["id"], p["id"], qty=2)
    assert first.status_code == pre.status_code == 201, pre.text
    assert not first.json()["preorder"]
    assert (pre.json()["preorder"], pre.json()["ships_from"], pre.json()["stock"]) == (True, MAY, 0)
    assert_error(post_order(client, show["id"], p["id"]), 409, "sold_out")
    state = client.get(f"/api/shows/{show['id']}/state", headers=NO_AUTH).json()
    assert state["products"][0]["preordered"] == 2
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/api/shows/{show['id']}/orders?format=csv").text.lstrip("\ufeff")
            )
        )
    )
    assert [(r["preorder"], r["ships_from"]) for r in rows] == [("", ""), ("yes", MAY)]
    # the packing list keeps the pre-order apart until the harvest
    packing = client.get(f"/api/shows/{show['id']}/packing.csv").text
    waiting = client.get(f"/api/shows/{show['id']}/packing.csv?format=preorders").text
    assert "New honey × 1" in packing and MAY not in packing
    assert f"New honey ({MAY}) × 2" in waiting
    statements = client.get(f"/api/shows/{show['id']}/producers.csv").text
    rows = csv.DictReader(io.StringIO(statements.lstrip("\ufeff")))
    assert next(iter(rows))["to_bring"] == "1"  # the pre-ordered units come with the harvest
    assert_error(
        client.post(f"/api/products/{p['id']}/harvest", json={"units": 1}), 409, "conflict"
    )
    r = client.post(f"/api/products/{p['id']}/harvest", json={"units": 12})
    assert r.status_code == 200, r.text
    assert (r.json()["stock"], r.json()["preordered"]) == (10, 0)
    packing = client.get(f"/api/shows/{show['id']}/packing.csv").text
    assert "New honey × 2" in packing  # harvested: packed with the rest
    assert (
        "New honey" not in client.get(f"/api/shows/{show['id']}/packing.csv?format=preorders").text
    )
    r = client.post(f"/api/products/{p['id']}/harvest", json={"units": 1}, headers=NO_AUTH)
    assert r.status_code == 401
