"""Options on the show socket and in the hub: order frames name the option, stock messages
carry every option's stock (coalesced per product version, so per option too), and the hub's
cheap refusal knows a sold-out option."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Callable

import httpx2 as httpx
from websockets.asyncio.client import connect

from live.backends import Store
from live.domain import Option
from live.errors import Reason
from live.hub import Client, Hub
from live.tools.devredis import RedisServer, free_port
from tests.helpers import add_product, add_show, buyer, key, order_request
from tests.support.live_process import TOKEN, Live
from tests.support.live_server import LiveServer, receive
from tests.support.sockets import drain

HOST = {"Authorization": f"Bearer {TOKEN}"}


async def _until(check: Callable[[], object], expected: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while check() != expected:
            await asyncio.sleep(0.01)


async def test_the_hub_refuses_a_sold_out_option_not_the_product(store: Store) -> None:
    sizes = (Option(id="v37", name="37", stock=1), Option(id="v38", name="38", stock=3))
    p = await add_product(store, stock=4, options=sizes)
    show = await add_show(store, p)
    hub = Hub(store, store.open_feed(), stock_interval=0)
    await hub.start()
    try:
        await hub.join(show.id, Client(limit=1000))
        known = functools.partial(hub.known_refusal, show.id, p.id)
        await _until(lambda: hub.channels[show.id].view.fresh, True)
        assert known("v37") is None and known("v38") is None
        assert known(None) is None and known("nosuch") is None  # the store says `invalid`
        request = dataclasses.replace(order_request(show, p), option_id="v37")
        await store.place_order(request)
        await _until(lambda: known("v37"), Reason.SOLD_OUT)
        assert known("v38") is None and known(None) is None
        await store.update_option_stock(p.id, "v37", stock_delta=2)
        await _until(lambda: known("v37"), None)
        await store.update_option_stock(p.id, "v38", stock=0)
        await _until(lambda: known("v38"), Reason.SOLD_OUT)
    finally:
        await hub.close()


async def test_socket_orders_name_the_option_and_stock_carries_every_option(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        "/api/products",
        json={
            "name": "Shoes",
            "price": 15800,
            "stock": 0,
            "options": [{"name": "37", "stock": 2}, {"name": "38", "stock": 1}],
        },
    )
    product = r.json()
    s37, s38 = (o["id"] for o in product["options"])
    show = (
        await http.post("/api/shows", json={"title": "t", "product_ids": [product["id"]]})
    ).json()
    sid = show["id"]
    await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
    await http.post(
        f"/api/shows/{sid}/on_sale", json={"product_id": product["id"], "on_sale": True}
    )
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        snapshot = await receive(ws)
        assert [o["stock"] for o in snapshot["products"][0]["options"]] == [2, 1]
        frame = {"type": "order", "product_id": product["id"], "qty": 1, "key": key()}
        await ws.send(json.dumps({**frame, "option_id": s38}))
        await ws.send(json.dumps({**frame, "key": key()}))  # no option: invalid
        await ws.send(json.dumps({**frame, "key": key(), "option_id": s38}))  # sold out
        messages = await drain(ws, quiet=0.5)
    results = [m for m in messages if m["type"] == "order_result"]
    assert [(m["ok"], m.get("error")) for m in results] == [
        (True, None),
        (False, "invalid"),
        (False, "sold_out"),
    ]
    assert results[0]["order"]["option_name"] == "38" and results[0]["stock"] == 0
    assert results[2]["stock"] == 0
    stock = [m for m in messages if m["type"] == "stock"]
    assert stock[-1]["stock"] == 2
    assert stock[-1]["options"] == [
        {"id": s37, "stock": 2, "sold": 0},
        {"id": s38, "stock": 0, "sold": 1},
    ]


async def test_two_processes_race_for_the_last_pair_of_one_size(redis_server: RedisServer) -> None:
    """Two `live serve` processes on one Redis take orders for the last two of size 38."""
    prefix = f"opt{free_port()}"
    a, b = Live(redis_server, prefix), Live(redis_server, prefix)
    try:
        async with (
            httpx.AsyncClient(base_url=a.base, headers=HOST) as on_a,
            httpx.AsyncClient(base_url=b.base, headers=HOST) as on_b,
        ):
            body = {
                "name": "Shoes",
                "price": 15800,
                "stock": 0,
                "options": [{"name": "38", "stock": 2}, {"name": "39", "stock": 9}],
            }
            product = (await on_a.post("/api/products", json=body)).json()
            pid, s38 = product["id"], product["options"][0]["id"]
            show = (await on_a.post("/api/shows", json={"title": "t", "product_ids": [pid]})).json()
            sid = show["id"]
            await on_a.post(f"/api/shows/{sid}/ordering", json={"open": True})
            await on_a.post(f"/api/shows/{sid}/on_sale", json={"product_id": pid, "on_sale": True})

            async def one(http: httpx.AsyncClient) -> int:
                order = {"product_id": pid, "qty": 1, "key": key(), "option_id": s38}
                answer = await http.post(
                    f"/api/shows/{sid}/orders", json=order, headers={"X-Buyer": buyer()}
                )
                return answer.status_code

            codes = await asyncio.gather(*(one((on_a, on_b)[i % 2]) for i in range(24)))
            assert sorted(codes) == [201, 201] + [409] * 22
            after = (await on_b.get(f"/api/products/{pid}")).json()
            assert [o["stock"] for o in after["options"]] == [0, 9] and after["stock"] == 9
            orders = (await on_b.get(f"/api/shows/{sid}/orders")).json()["orders"]
            assert [o["option_name"] for o in orders] == ["38", "38"]
    finally:
        a.stop()
        b.stop()
