"""Orders over the socket under pressure: a burst of frames on one connection, one key on two
connections, and a Redis that refuses writes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2 as httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from live.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.helpers import (
    buyer,
    key,
)
from tests.support.live_server import LiveServer, receive, receive_until
from tests.support.redis_server import throwaway_redis
from tests.support.sockets import (
    drain,
    on_sale_show,
    order_frame,
    public_state,
)


async def test_a_burst_of_order_frames_gets_exactly_one_result_per_frame(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http, stock=6, products=2)
    me = buyer()
    keys = [key() for _ in range(4)]
    # 10 frames (the burst allowance) sent back to back: 4 new orders, 4 repeats of them
    # interleaved, a malformed one and an order for a product the show does not sell.
    frames = [order_frame(ids[0], 2, keys[0]), order_frame(ids[0], 2, keys[0])]
    frames += [order_frame(ids[0], 2, keys[1]), order_frame(ids[1], 1, keys[2])]
    frames += [order_frame(ids[0], 2, keys[1]), order_frame(ids[0], 2, keys[3])]
    frames += [order_frame(ids[0], 2, keys[3]), order_frame(ids[1], 1, keys[2])]
    frames += [json.dumps({"type": "order", "product_id": ids[0], "qty": 0, "key": "bad-qty-1"})]
    frames += [order_frame("not-in-lineup", 1, "lineup-key")]
    async with connect(live_server.ws_url(sid, buyer=me)) as ws:
        await receive(ws)
        for f in frames:
            await ws.send(f)
            await ws.send(json.dumps({"type": "ping"}))
        messages = await drain(ws, quiet=0.6)
    results = [m for m in messages if m["type"] == "order_result"]
    assert len(results) == len(frames)
    assert [m["type"] for m in messages].count("pong") == len(frames)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_key.setdefault(r["key"], []).append(r)
    assert sorted(len(v) for v in by_key.values()) == [1, 1, 2, 2, 2, 2]
    for k in keys[:3]:
        first, again = by_key[k]
        assert first["ok"] and again["ok"] and not first["repeat"] and again["repeat"]
        assert first["order"]["id"] == again["order"]["id"]
    # stock 6 of ids[0]: keys 0 and 1 take 2 each, key 3 takes the last 2
    assert all(r["ok"] for r in by_key[keys[3]])
    assert by_key["bad-qty-1"][0]["error"] == "invalid"
    assert by_key["lineup-key"][0]["error"] == "not_on_sale"
    state = await public_state(http, sid)
    assert [p["stock"] for p in state["products"]] == [0, 5]


async def test_the_same_key_on_two_connections_at_once_takes_stock_once(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http, stock=50)
    me = buyer()
    keys = [key() for _ in range(8)]
    async with (
        connect(live_server.ws_url(sid, buyer=me)) as a,
        connect(live_server.ws_url(sid, buyer=me)) as b,
    ):
        await receive(a)
        await receive(b)
        for k in keys:
            await asyncio.gather(
                a.send(order_frame(ids[0], 3, k)), b.send(order_frame(ids[0], 3, k))
            )
        got_a = [m for m in await drain(a, 0.5) if m["type"] == "order_result"]
        got_b = [m for m in await drain(b, 0.2) if m["type"] == "order_result"]
    assert len(got_a) == len(got_b) == len(keys)
    ok_a = {r["key"]: r["order"]["id"] for r in got_a if r["ok"]}
    ok_b = {r["key"]: r["order"]["id"] for r in got_b if r["ok"]}
    # the buyer limiter (burst 10 across the buyer's connections) may refuse some of the 16
    refused = [r["error"] for r in got_a + got_b if not r["ok"]]
    assert set(refused) <= {"rate_limited"}
    for k in set(ok_a) & set(ok_b):
        assert ok_a[k] == ok_b[k]  # one order per key, whichever connection asked
    placed = set(ok_a) | set(ok_b)
    assert placed
    state = await public_state(http, sid)
    assert state["products"][0]["stock"] == 50 - 3 * len(placed)
    orders = (await http.get(f"/api/shows/{sid}/orders")).json()
    orders = orders if isinstance(orders, list) else orders["orders"]
    assert sorted(o["key"] for o in orders) == sorted(placed)


@pytest.mark.redis
async def test_a_redis_error_reply_answers_the_order_unavailable() -> None:
    server = throwaway_redis()
    live = None
    try:
        settings = Settings(
            admin_token=ADMIN_TOKEN, secret_key="s", redis_url=server.unix_url, redis_prefix="oom"
        )
        live = LiveServer(settings)
        live.start()
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        raw = aioredis.Redis.from_url(server.unix_url)
        async with httpx.AsyncClient(base_url=live.base, headers=headers) as http:
            sid, ids, _ = await on_sale_show(http)
            async with connect(live.ws_url(sid, buyer=buyer())) as ws:
                await receive(ws)
                await raw.config_set("maxmemory", "1")  # Redis now refuses writes: OOM
                try:
                    await ws.send(order_frame(ids[0]))
                    result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
                finally:
                    await raw.config_set("maxmemory", "0")
                    await raw.aclose()
                assert (result["ok"], result["error"]) == (False, "unavailable")
                await ws.send(json.dumps({"type": "ping"}))
                assert (await receive(ws))["type"] == "pong"  # and the socket stays up
    finally:
        if live is not None:
            live.stop()
        server.discard()
