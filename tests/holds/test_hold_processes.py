"""Holds (issue 14) across real `live serve` processes on Redis: the deadline outlives a process
killed with SIGKILL (a new one started after it expires the claim), and a viewer's socket sees
the stock come back live."""

from __future__ import annotations

import asyncio
import time

import httpx2 as httpx
from websockets.asyncio.client import connect

from live.tools.devredis import RedisServer, free_port
from tests.helpers import buyer, key
from tests.support.live_process import TOKEN, Server, env
from tests.support.live_server import receive_until

HOST = {"Authorization": f"Bearer {TOKEN}"}


def holding_server(redis: RedisServer, prefix: str) -> Server:
    environ = env(
        LIVE_REDIS_URL=redis.unix_url,
        LIVE_ADMIN_TOKEN=TOKEN,
        LIVE_REDIS_PREFIX=prefix,
        LIVE_HOLD_SWEEP_SECONDS="0.2",
        LIVE_ORDER_RATE_PER_IP="1000000",
        LIVE_ORDER_BURST_PER_IP="1000000",
    )
    server = Server(["serve"], environ)
    server.wait_ready()
    return server


async def sale(http: httpx.AsyncClient, hold: int) -> tuple[str, str]:
    product = await http.post("/api/products", json={"name": "Tea", "price": 900, "stock": 5})
    pid = product.json()["id"]
    body = {"title": "Harvest night", "product_ids": [pid], "hold_seconds": hold}
    show = (await http.post("/api/shows", json=body)).json()
    assert show["hold_seconds"] == hold
    sid = show["id"]
    await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
    await http.post(f"/api/shows/{sid}/on_sale", json={"product_id": pid, "on_sale": True})
    return sid, pid


async def claim(http: httpx.AsyncClient, sid: str, pid: str) -> dict[str, object]:
    answer = await http.post(
        f"/api/shows/{sid}/orders",
        json={"product_id": pid, "qty": 2, "key": key()},
        headers={"X-Buyer": buyer()},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_claim_expires_after_its_process_was_killed(redis_server: RedisServer) -> None:
    prefix = f"hold{free_port()}"
    first = holding_server(redis_server, prefix)
    async with httpx.AsyncClient(base_url=first.base, headers=HOST) as http:
        sid, pid = await sale(http, hold=2)
        order = await claim(http, sid, pid)
    assert isinstance(order["expires_at"], float)
    first.proc.kill()  # SIGKILL well before the deadline: no shutdown, nothing flushed
    first.proc.wait(timeout=10)
    first.stop()
    await asyncio.sleep(max(0.0, float(order["expires_at"]) - time.time()) + 0.2)
    second = holding_server(redis_server, prefix)
    try:
        async with httpx.AsyncClient(base_url=second.base, headers=HOST) as http:
            for _ in range(50):
                got = (await http.get(f"/api/shows/{sid}/orders")).json()["orders"]
                if got[0]["status"] == "expired":
                    break
                await asyncio.sleep(0.1)
            assert got[0]["status"] == "expired"
            assert (await http.get(f"/api/products/{pid}")).json()["stock"] == 5
            paying = await http.post(f"/api/orders/{order['id']}/status", json={"status": "paid"})
            assert paying.status_code == 409 and paying.json()["error"] == "conflict"
    finally:
        second.stop()


async def test_a_viewer_sees_the_stock_come_back(redis_server: RedisServer) -> None:
    prefix = f"hold{free_port()}"
    server = holding_server(redis_server, prefix)
    try:
        async with httpx.AsyncClient(base_url=server.base, headers=HOST) as http:
            sid, pid = await sale(http, hold=1)
            ws_url = f"ws://127.0.0.1:{server.port}/ws/shows/{sid}?buyer={buyer()}"
            async with connect(ws_url) as ws:
                await receive_until(ws, lambda m: m["type"] == "snapshot")
                await claim(http, sid, pid)
                await receive_until(ws, lambda m: m.get("stock") == 3 and m["type"] != "snapshot")
                back, _ = await receive_until(ws, lambda m: m.get("stock") == 5, timeout=5)
                assert back["type"] == "stock" and back["product_id"] == pid
    finally:
        server.stop()
