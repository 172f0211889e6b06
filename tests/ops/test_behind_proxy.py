"""Two real `live serve` processes on one throwaway redis-server, behind a real Caddy that
terminates TLS: a sale through it (websockets included), a rolling restart mid-sale (SIGTERM to
each process in turn: no acknowledged order lost, no viewer long without a socket; the buyers
are Python clients and the pages' own static/live-client.js in Node), and client addresses
taken from the proxy only (login limits and /metrics count the real client, not a claimed one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from live.errors import CloseCode
from live.tools.devredis import RedisServer, free_port
from tests.helpers import buyer, key, make_show_with_products
from tests.support.caddy import Caddy
from tests.support.live_process import TOKEN, Server, env
from tests.support.live_server import receive
from tests.support.node import node

pytestmark = pytest.mark.slow

DRAIN = 3.0  # LIVE_DRAIN_SECONDS of the processes under test
SCRIPT = Path(__file__).resolve().parent / "js" / "restart_clients.mjs"
PAGES, PAGES_SECONDS = 6, 10  # live-client.js buyers in Node, and how long they buy


async def run_node(script: Path, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """A Node script's findings: its last line of output, a JSON object."""
    proc = await asyncio.create_subprocess_exec(
        node(),
        "--experimental-websocket",
        "--no-warnings",
        str(script),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    found: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return found


ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Site:
    caddy: Caddy
    environ: dict[str, str]
    ports: list[int]
    servers: list[Server] = field(default_factory=list)

    def start(self, i: int) -> None:
        server = Server(["serve"], self.environ, port=self.ports[i])
        server.wait_ready()
        self.servers[i] = server

    def http(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.caddy.base, verify=self.caddy.ssl_context(), timeout=10, **kwargs
        )


@pytest.fixture
def site(redis_server: RedisServer) -> Iterator[Site]:
    ports, caddy_port = [free_port(), free_port()], free_port()
    environ = env(
        LIVE_REDIS_URL=redis_server.unix_url,
        LIVE_REDIS_PREFIX=f"proxy{caddy_port}",
        LIVE_ADMIN_TOKEN=TOKEN,
        LIVE_SECRET_KEY="proxy-test-secret-key-0123456789",
        LIVE_PUBLIC_URL=f"https://127.0.0.1:{caddy_port}",
        LIVE_TRUSTED_PROXIES="127.0.0.1",
        LIVE_METRICS_ALLOW="127.0.0.1",  # the proxy's own address: must not open /metrics
        LIVE_DRAIN_SECONDS=str(DRAIN),
        LIVE_ORDER_RATE_PER_IP="1000000",
        LIVE_ORDER_BURST_PER_IP="1000000",
    )
    servers = [Server(["serve"], environ, port=p) for p in ports]
    caddy: Caddy | None = None
    try:
        for server in servers:
            server.wait_ready()
        # Caddy's first health checks find both processes up: no request meets "no upstream".
        caddy = Caddy(ports, port=caddy_port)
        caddy.wait_healthy(len(ports))
        yield Site(caddy, environ, ports, servers)
    finally:
        for server in servers:
            server.stop()
        if caddy is not None:
            caddy.stop()


@dataclass
class Viewer:
    """A buy page as static/live-client.js runs it: reconnects within half a second after a
    close, resends an unanswered order with the same key until it is answered."""

    url: str
    product_id: str
    ssl: object
    acked: dict[str, str] = field(default_factory=dict)  # key -> order id
    refused: list[str] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)  # seconds without a live socket
    closes: list[int] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    close_times: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        pending: str | None = None
        lost_at: float | None = None
        while True:
            try:
                async with connect(self.url, ssl=self.ssl, open_timeout=5) as ws:
                    assert (await receive(ws, 5))["type"] == "snapshot"
                    if lost_at is not None:
                        self.gaps.append(time.monotonic() - lost_at)
                        lost_at = None
                    while not stop.is_set() or pending is not None:
                        if pending is None:
                            pending = key()
                        await self._order(ws, pending)
                        pending = None
                        await asyncio.sleep(0.3)
                    return
            except ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else 1006)
                self.close_times.append(time.monotonic())
            except (OSError, TimeoutError):
                pass  # no process answered this try: like the page, try again shortly
            if lost_at is None:
                lost_at = time.monotonic()
            # live-client.js's first backoff: full jitter up to 500 ms (backoffDelay(0)).
            await asyncio.sleep(random.uniform(0, 0.5))

    async def _order(self, ws: ClientConnection, order_key: str) -> None:
        """Until the order is answered for good: `busy` and the like are resent (same key)."""
        while True:
            frame = {"type": "order", "product_id": self.product_id, "qty": 1, "key": order_key}
            if order_key in self.sent:
                frame["retry"] = True
            self.sent.add(order_key)
            await ws.send(json.dumps(frame))
            while True:
                message = await receive(ws, 5)
                if message.get("type") == "order_result" and message.get("key") == order_key:
                    break
            if message.get("ok"):
                self.acked[order_key] = message["order"]["id"]
                return
            if message.get("error") not in ("busy", "unavailable", "rate_limited"):
                self.refused.append(order_key)
                return
            await asyncio.sleep(0.2)


def log_so_far(server: Server) -> str:
    """What a running process has logged (read without moving the offset it writes at)."""
    assert server.log is not None
    fd = server.log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")


def stop_in_turn(site: Site, i: int) -> float:
    """SIGTERM process i, wait for it to exit; the seconds it took."""
    proc = site.servers[i].proc
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=DRAIN + 5)
    took = time.monotonic() - started
    output = site.servers[i].stop()
    assert "draining: /readyz answers 503" in output, output[-2000:]
    return took


async def test_a_rolling_restart_behind_caddy_loses_no_order(site: Site) -> None:
    async with site.http(headers=ADMIN) as http:
        show_id, (product_id,), _ = await make_show_with_products(http, stock=10_000)
    tls = site.caddy.ssl_context()
    viewers = [
        Viewer(f"{site.caddy.ws_base}/ws/shows/{show_id}?buyer={buyer()}", product_id, tls)
        for _ in range(12)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(v.run(stop)) for v in viewers]
    # And the pages' own client, static/live-client.js, in Node, for the whole restart.
    pages = asyncio.create_task(
        run_node(
            SCRIPT,
            f"{site.caddy.ws_base}/ws/shows/{show_id}",
            product_id,
            str(PAGES),
            str(PAGES_SECONDS),
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(site.caddy.root_cert)},
        )
    )
    try:
        await asyncio.sleep(1.0)
        took, stopped = [], []
        for i in (0, 1):
            stopped.append(time.monotonic())
            took.append(await asyncio.to_thread(stop_in_turn, site, i))
            await asyncio.to_thread(site.start, i)
            await asyncio.to_thread(site.caddy.wait_healthy, 4)  # both back before the next
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await asyncio.gather(*tasks)
            found = await pages

    # Each process exited within its drain window, and its sockets were closed with 1012.
    assert all(t < DRAIN + 1.0 for t in took), took
    codes = [c for v in viewers for c in v.closes]
    assert codes.count(CloseCode.SERVICE_RESTART) >= len(viewers), codes
    # The closes of one restart were spread over the drain window, not sent in one wave.
    waves: list[list[float]] = [[], []]
    for at in sorted(t for v in viewers for t in v.close_times):
        waves[1 if at >= stopped[1] else 0].append(at)
    assert all(len(w) >= 3 and w[-1] - w[0] > DRAIN * 0.5 * 0.4 for w in waves), waves
    # Nobody was without a socket for more than a few seconds.
    gaps = [g for v in viewers for g in v.gaps]
    assert gaps and max(gaps) < 3.0, sorted(gaps)[-5:]
    # The pages' client reconnected by itself after each 1012, quickly, and lost no order.
    assert found["closes"].count(CloseCode.SERVICE_RESTART) >= PAGES, found["closes"]
    assert found["gaps"] and max(found["gaps"]) < 3000, sorted(found["gaps"])[-5:]
    assert not found["refused"], found["refused"]
    # Every acknowledged order is in the store, and the store holds no order nobody heard of.
    acked = {order_id for v in viewers for order_id in v.acked.values()}
    assert len(acked) == sum(len(v.acked) for v in viewers)  # one order per key
    acked |= set(found["acked"])
    assert len(acked) == sum(len(v.acked) for v in viewers) + len(found["acked"])
    assert len(acked) > 50, len(acked)
    async with site.http(headers=ADMIN) as http:
        r = await http.get(f"/api/shows/{show_id}/orders")
        assert r.status_code == 200, r.text
        stored = {o["id"] for o in r.json()["orders"]}
        stock = (await http.get(f"/api/products/{product_id}")).json()["stock"]
    assert stored == acked, (len(stored - acked), len(acked - stored))
    assert stock == 10_000 - len(acked)
    assert not any(v.refused for v in viewers)


async def login_attempts(client: httpx.AsyncClient, tries: int, spoof: bool) -> list[int]:
    page = (await client.get("/host")).text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page[:300]
    codes = []
    for i in range(tries):
        headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"} if spoof else {}
        r = await client.post(
            "/host/login", data={"csrf": match.group(1), "token": f"guess-{i}"}, headers=headers
        )
        codes.append(r.status_code)
        if r.status_code == 429:
            break
    return codes


async def test_login_limits_count_the_address_the_proxy_saw(site: Site) -> None:
    # 127.0.0.2 claims a new address per try: Caddy replaces the claim with the address it
    # saw, so the limit still counts 127.0.0.2 (five tries per process, two processes).
    spoofer = httpx.AsyncHTTPTransport(local_address="127.0.0.2", verify=site.caddy.ssl_context())
    async with site.http(transport=spoofer) as client:
        codes = await login_attempts(client, 20, spoof=True)
    assert codes[-1] == 429, codes
    assert len(codes) <= 12, codes
    # Another client behind the same proxy is not limited by that.
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.3", verify=site.caddy.ssl_context())
    async with site.http(transport=other) as client:
        assert await login_attempts(client, 1, spoof=False) == [401]
    # The refusals are logged with the address Caddy saw, never the claimed one.
    outputs = "".join(log_so_far(server) for server in site.servers)
    assert "console login refused" in outputs
    assert "from 127.0.0.2" in outputs
    assert "203.0.113." not in outputs


async def test_the_sale_and_its_socket_go_through_tls(site: Site) -> None:
    async with site.http(headers=ADMIN) as http:
        show_id, (product_id,), _ = await make_show_with_products(http, stock=5)
        page = await http.get(f"/s/{show_id}")
        assert page.status_code == 200
        # Its public URL is https: the app says so (HSTS) through the proxy.
        assert "strict-transport-security" in page.headers
    away = httpx.AsyncHTTPTransport(local_address="127.0.0.2", verify=site.caddy.ssl_context())
    async with site.http(transport=away) as anyone:
        # Through the proxy, /metrics sees the client's address, not the allowed proxy's.
        assert (await anyone.get("/metrics")).status_code == 401
    async with httpx.AsyncClient(timeout=5) as scraper:  # straight from 127.0.0.1: allowed
        r = await scraper.get(f"http://127.0.0.1:{site.ports[0]}/metrics")
        assert r.status_code == 200 and "live_orders_total" in r.text
    me = buyer()
    url = f"{site.caddy.ws_base}/ws/shows/{show_id}?buyer={me}"
    async with connect(url, ssl=site.caddy.ssl_context()) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        order = {"type": "order", "product_id": product_id, "qty": 2, "key": key()}
        await ws.send(json.dumps(order))
        with contextlib.suppress(TimeoutError):
            while True:
                message = await receive(ws)
                if message["type"] == "order_result":
                    break
        assert message["type"] == "order_result" and message["ok"], message
        assert message["stock"] == 3
