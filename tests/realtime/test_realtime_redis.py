"""Realtime on Redis: a dropped or silent subscription resyncs clients; processes share a show."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2 as httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from live.backends.redis import Keys, RedisFeed
from live.events import Stock
from tests.conftest import ADMIN_TOKEN
from tests.support.live_server import LiveServer, receive, receive_until

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_dropped_subscription_sends_every_client_a_fresh_snapshot(
    live_server: LiveServer, redis_url: str
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.base, headers=headers) as http:
        pid = (
            await http.post("/api/products", json={"name": "Shoes", "price": 100, "stock": 9})
        ).json()["id"]
        sid = (await http.post("/api/shows", json={"title": "t", "product_ids": [pid]})).json()[
            "id"
        ]
        async with connect(live_server.ws_url(sid)) as viewer:
            first = await receive(viewer)
            raw = aioredis.Redis.from_url(redis_url)
            try:
                killed = await raw.client_kill_filter(_type="pubsub")
            finally:
                await raw.aclose()
            assert killed >= 1
            # While the subscription was down, a change happened; the resync snapshot holds it.
            await http.patch(f"/api/products/{pid}", json={"stock": 4})
            snap, _ = await receive_until(viewer, lambda m: m["type"] == "snapshot", timeout=10)
            assert snap["seq"] >= first["seq"]
            await http.patch(f"/api/products/{pid}", json={"stock": 3})
            latest, _ = await receive_until(
                viewer, lambda m: m["type"] == "stock" and m["stock"] == 3
            )
            assert latest["product_id"] == pid  # and events flow again afterwards


async def test_a_silent_subscription_is_caught_by_the_liveness_probe(
    redis_url: str, key_prefix: str
) -> None:
    """A probe sent and not heard back within the timeout, while nothing else waits on the
    subscription, means the subscription is lost: it is made again and the shows resynced."""
    broker = RedisFeed(redis_url, Keys(key_prefix), probe_interval=0.2, probe_timeout=0.3)
    resynced: list[set[str]] = []
    got: list[object] = []

    async def resync(shows: set[str]) -> None:
        resynced.append(shows)

    await broker.start(lambda show, event: got.append(event), resync)
    try:
        await broker.subscribe("s1")
        # The probes stop coming back, as over a half-dead link: still sent, never delivered.
        await broker._pubsub.unsubscribe(broker._probe_channel)
        deadline = asyncio.get_running_loop().time() + 5
        while not resynced and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert resynced and resynced[0] == {"s1"} and broker.reconnects >= 1
        raw = aioredis.Redis.from_url(redis_url)
        try:
            await raw.publish(
                Keys(key_prefix).channel("s1"),
                json.dumps(
                    {
                        "type": "stock",
                        "seq": 1,
                        "product_id": "p",
                        "stock": 3,
                        "sold": 0,
                        "version": 2,
                    }
                ),
            )
        finally:
            await raw.aclose()
        while not got and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        # resubscribed: events flow again
        assert got == [Stock(seq=1, product_id="p", stock=3, sold=0, version=2)]
    finally:
        await broker.close()


async def test_a_loop_too_busy_to_probe_is_not_a_lost_subscription(
    redis_url: str, key_prefix: str
) -> None:
    """A flash sale on a small machine can hold the event loop for seconds: no probe is sent
    then, and what arrives waits unread. That is not a lost subscription (losing it would
    resync every viewer, more work for a loop already behind)."""
    broker = RedisFeed(redis_url, Keys(key_prefix), probe_interval=0.1, probe_timeout=0.3)

    async def resync(shows: set[str]) -> None:
        pass

    await broker.start(lambda show, event: None, resync)
    try:
        await broker.subscribe("s1")
        await asyncio.sleep(0.3)
        for _ in range(3):
            time.sleep(0.6)  # the loop is held: longer than a probe's timeout each time
            await asyncio.sleep(0.25)
        assert broker.reconnects == 0
    finally:
        await broker.close()
