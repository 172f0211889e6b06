"""Every viewer ends on the true state: seq and the event chain while host actions race orders,
viewers joining mid-burst, deal end times and price edits under a running deal."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import (
    buyer,
)
from tests.support.live_server import LiveServer, receive, receive_until
from tests.support.sockets import (
    DISCRETE,
    Viewer,
    drain,
    http_order,
    on_sale_show,
    public_state,
    truth,
)


async def _host_actions(http: httpx.AsyncClient, sid: str, ids: list[str]) -> None:
    a, b = ids
    for i in range(6):
        await http.post(f"/api/shows/{sid}/featured", json={"product_id": b if i % 2 else a})
        await http.post(f"/api/shows/{sid}/on_sale", json={"product_id": b, "on_sale": True})
        await http.post(
            f"/api/shows/{sid}/deal", json={"product_id": a, "price": 500 + i, "ends_at": 4e9}
        )
        await http.patch(f"/api/products/{b}", json={"name": f"Wild honey {i}"})
        await http.patch(f"/api/products/{a}", json={"stock_delta": 3})
        await asyncio.sleep(0.02)
    await http.post(f"/api/shows/{sid}/deal", json={"product_id": a, "price": None})


async def _orders(http: httpx.AsyncClient, sid: str, ids: list[str], n: int) -> None:
    async def one(i: int) -> None:
        await asyncio.sleep(i * 0.004)
        r = await http_order(http, sid, ids[i % 2])
        assert r.status_code in (201, 409), r.text

    await asyncio.gather(*(one(i) for i in range(n)))


async def test_host_actions_racing_orders_keep_seq_and_the_event_chain(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http, stock=60, products=2)
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        first = await receive(ws)
        assert first["type"] == "snapshot"
        await asyncio.gather(_host_actions(http, sid, ids), _orders(http, sid, ids, 100))
        messages = [first, *await drain(ws)]
    viewer = Viewer()
    for m in messages:
        viewer.apply(m)
    assert viewer.snapshots == 1  # no resync was needed in normal operation
    assert viewer.seq_problems == []  # every change after the snapshot has a larger seq
    assert viewer.gaps == []  # discrete events chain through prev without a gap
    discrete = [m for m in messages if m["type"] in DISCRETE]
    assert len(discrete) == 6 * 4 + 1
    for pid in ids:  # latest-value stock never goes backwards on the wire
        versions = [
            m["version"] for m in messages if m["type"] == "stock" and m["product_id"] == pid
        ]
        assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert viewer.view() == truth(await public_state(http, sid))


async def test_viewers_joining_during_a_burst_converge_to_the_true_state(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http, stock=70, products=2)
    viewers: list[tuple[Viewer, list[dict[str, Any]]]] = []

    async def watch(delay: float) -> None:
        await asyncio.sleep(delay)
        async with connect(live_server.ws_url(sid)) as ws:
            messages = await drain(ws, quiet=1.0)
        viewer = Viewer()
        for m in messages:
            viewer.apply(m)
        viewers.append((viewer, messages))

    await asyncio.gather(
        _host_actions(http, sid, ids),
        _orders(http, sid, ids, 120),
        *(watch(0.03 * i) for i in range(12)),
    )
    expected = truth(await public_state(http, sid))
    assert len(viewers) == 12
    for viewer, messages in viewers:
        assert messages[0]["type"] == "snapshot"
        assert viewer.seq_problems == [] and viewer.gaps == []
        assert viewer.view() == expected


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_deal_event_carries_the_same_end_time_as_the_snapshot(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http)
    ends_at = round(time.time() + 3600, 0) + 0.123456
    async with connect(live_server.ws_url(sid)) as ws:
        await receive(ws)
        r = await http.post(
            f"/api/shows/{sid}/deal", json={"product_id": ids[0], "price": 600, "ends_at": ends_at}
        )
        assert r.is_success, r.text
        deal, _ = await receive_until(ws, lambda m: m["type"] == "deal")
    state = await public_state(http, sid)
    assert state["products"][0]["deal_ends_at"] == ends_at
    assert deal["deal_ends_at"] == ends_at


async def test_a_price_edit_under_a_running_deal_reaches_viewers(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http)
    async with connect(live_server.ws_url(sid)) as ws:
        viewer = Viewer()
        viewer.apply(await receive(ws))
        await http.post(
            f"/api/shows/{sid}/deal", json={"product_id": ids[0], "price": 800, "ends_at": 4e9}
        )
        assert (await http.patch(f"/api/products/{ids[0]}", json={"price": 700})).is_success
        for m in await drain(ws, 0.5):
            viewer.apply(m)
    assert viewer.gaps == []
    product = truth(await public_state(http, sid))["products"][ids[0]]
    assert product["price"] == 700 and "deal_price" not in product  # 800 is no discount now
    assert viewer.products[ids[0]] == product
