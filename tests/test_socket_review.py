"""Review of the socket / fan-out layer: attacks and careful-engineer checks over real TCP.

The bugs this review found are fixed; their tests stay as guards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from live.backends import Store
from live.config import Settings
from live.hub import Client, Hub, Kind
from tests.conftest import ADMIN_TOKEN
from tests.helpers import add_product, add_show
from tests.live_server import LiveServer, buyer, key, receive, receive_until
from tests.live_server import make_show as _make_show
from tests.redis_server import throwaway_redis

DISCRETE = {"featured", "on_sale", "ordering", "deal", "product", "show_ended"}
CHANGES = DISCRETE | {"stock", "sale"}


# --- helpers ------------------------------------------------------------------------------


async def make_show(http: httpx.AsyncClient, **options: Any) -> tuple[str, list[str], str]:
    """Every product on sale, none featured (this file's scenarios count on that)."""
    return await _make_show(http, feature=False, all_on_sale=True, **options)


def order_frame(product_id: str, qty: int = 1, k: str | None = None) -> str:
    return json.dumps({"type": "order", "product_id": product_id, "qty": qty, "key": k or key()})


async def http_order(
    http: httpx.AsyncClient, sid: str, pid: str, *, who: str | None = None, k: str | None = None
) -> httpx.Response:
    return await http.post(
        f"/api/shows/{sid}/orders",
        headers={"X-Buyer": who or buyer()},
        json={"product_id": pid, "qty": 1, "key": k or key()},
    )


async def public_state(http: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    r = await http.get(f"/api/shows/{sid}/state")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def stats(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/api/stats")).json())


async def drain(
    ws: ClientConnection, quiet: float = 0.7, limit: float = 10.0, closed_ok: bool = False
) -> list[dict[str, Any]]:
    """Everything the socket sends until it stays quiet for `quiet` seconds (or closes, when
    `closed_ok`)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            out.append(await receive(ws, quiet))
        except TimeoutError:
            return out
        except ConnectionClosed:
            if closed_ok:
                return out
            raise
    raise AssertionError(f"the socket never went quiet; last messages {out[-3:]}")


async def close_code(ws: ClientConnection, timeout: float = 3.0) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as info:
        await receive_until(ws, lambda m: False, timeout)
    return info.value.rcvd.code if info.value.rcvd is not None else None


class Viewer:
    """A client following the docs: snapshot, latest-value stock, linked discrete events."""

    def __init__(self) -> None:
        self.seq = -1
        self.event_seq = -1
        self.show: dict[str, Any] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.snapshots = 0
        self.gaps: list[tuple[int, int, int]] = []  # (seq, prev, our event_seq)
        self.seq_problems: list[dict[str, Any]] = []
        self.base = -1  # seq of the latest snapshot

    def apply(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == "snapshot":
            self.snapshots += 1
            self.base = self.seq = m["seq"]
            self.event_seq = m["event_seq"]
            self.show = dict(m["show"])
            self.products = {p["id"]: dict(p) for p in m["products"]}
            return
        if kind in CHANGES and m["seq"] <= self.base:
            self.seq_problems.append(m)
        if kind == "stock":
            p = self.products[m["product_id"]]
            if m["version"] > p["version"]:
                p.update(stock=m["stock"], sold=m["sold"], version=m["version"])
        elif kind in DISCRETE:
            if m["seq"] <= self.event_seq:
                return
            if m["prev"] != self.event_seq:
                self.gaps.append((m["seq"], m["prev"], self.event_seq))
            self._discrete(m)
            self.event_seq = m["seq"]
        if kind in CHANGES:
            self.seq = max(self.seq, m["seq"])

    def _discrete(self, m: dict[str, Any]) -> None:
        kind, products = m["type"], self.products
        if kind == "featured":
            self.show["featured_product_id"] = m["product_id"]
            if m["product_id"]:
                products[m["product_id"]]["on_sale"] = True
        elif kind == "on_sale":
            products[m["product_id"]]["on_sale"] = m["on_sale"]
        elif kind == "ordering":
            self.show["ordering_open"] = m["open"]
            if not m["open"]:
                for p in products.values():
                    p["on_sale"] = False
        elif kind == "deal":
            p = products[m["product_id"]]
            if m["deal_price"] is None:
                p.pop("deal_price", None)
                p.pop("deal_ends_at", None)
            else:
                p.update(deal_price=m["deal_price"], deal_ends_at=m["deal_ends_at"])
        elif kind == "product":
            old = products[m["product"]["id"]]
            # docs/protocol.md: the event's on_sale and deal fields replace the old ones
            kept = {k: v for k, v in old.items() if k not in ("deal_price", "deal_ends_at")}
            merged = {**kept, **m["product"]}
            if m["product"]["version"] < old["version"]:
                merged.update(stock=old["stock"], sold=old["sold"], version=old["version"])
            merged.pop("created_at", None)
            products[old["id"]] = merged
        elif kind == "show_ended":
            self.show.update(ended=True, ordering_open=False, featured_product_id=None)
            for p in products.values():
                p["on_sale"] = False

    def view(self) -> dict[str, Any]:
        return {"show": self.show, "products": self.products}


def truth(state: dict[str, Any]) -> dict[str, Any]:
    return {"show": state["show"], "products": {p["id"]: p for p in state["products"]}}


def raw_socket(port: int, path: str, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket client that does the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.settimeout(3)
    head = b""
    while b"\r\n\r\n" not in head:  # the 101 answer; frames sent before it may be dropped
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.setblocking(False)
    return sock


def masked_text_frame(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 126
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    )


# --- one connection, many orders ----------------------------------------------------------


async def test_a_burst_of_order_frames_gets_exactly_one_result_per_frame(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show(http, stock=6, products=2)
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
    sid, ids, _ = await make_show(http, stock=50)
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


# --- ordering, seq and convergence --------------------------------------------------------


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
    sid, ids, _ = await make_show(http, stock=60, products=2)
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
    sid, ids, _ = await make_show(http, stock=70, products=2)
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


# --- what broadcasts carry, what read-only sockets can do ---------------------------------


async def test_broadcasts_never_carry_buyer_tokens_order_keys_or_the_overlay_key(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show(http, stock=40, limit_per_buyer=3)
    secrets_seen: set[str] = {overlay_key}
    async with (
        connect(live_server.ws_url(sid)) as watcher,
        connect(live_server.overlay_url(sid, overlay_key)) as overlay,
    ):
        await receive(watcher)
        await receive(overlay)
        for _ in range(3):
            me, k = buyer(), key()
            secrets_seen |= {me, k}
            async with connect(live_server.ws_url(sid, buyer=me)) as ws:
                await receive(ws)
                await ws.send(order_frame(ids[0], 1, k))
                await ws.send(order_frame(ids[0], 5, k2 := key()))  # limit_exceeded
                secrets_seen.add(k2)
                results = [m for m in await drain(ws, 0.3) if m["type"] == "order_result"]
                assert [r["ok"] for r in results] == [True, False]
            who, k = buyer(), key()
            secrets_seen |= {who, k}
            assert (await http_order(http, sid, ids[0], who=who, k=k)).status_code == 201
        order = (await http.get(f"/api/shows/{sid}/orders")).json()
        order = (order if isinstance(order, list) else order["orders"])[0]
        assert (await http.post(f"/api/orders/{order['id']}/cancel")).is_success
        rotated = (await http.post(f"/api/shows/{sid}/overlay_key")).json()
        secrets_seen.add(rotated["overlay_key"])
        await http.post(f"/api/shows/{sid}/featured", json={"product_id": None})
        seen = [json.dumps(m) for m in await drain(watcher)]
        seen += [json.dumps(m) for m in await drain(overlay, 0.3, closed_ok=True)]
    assert any('"stock"' in s for s in seen) and any('"sale"' in s for s in seen)
    leaked = {s for s in secrets_seen if any(s in text for text in seen)}
    assert leaked == set()


@pytest.mark.parametrize(
    "query", [{}, {"buyer": "short"}, {"buyer": "o" * 65}, {"buyer": "bad token!xxxxxxxx"}]
)
async def test_a_read_only_socket_changes_nothing(
    live_server: LiveServer, http: httpx.AsyncClient, query: dict[str, str]
) -> None:
    sid, ids, overlay_key = await make_show(http, stock=5)
    owner, k = buyer(), key()
    assert (await http_order(http, sid, ids[0], who=owner, k=k)).status_code == 201
    before = await public_state(http, sid)
    for url in (live_server.ws_url(sid, **query), live_server.overlay_url(sid, overlay_key)):
        async with connect(url) as ws:
            await receive(ws)
            await ws.send(order_frame(ids[0], 1))
            await ws.send(order_frame(ids[0], 1, k))  # someone else's key
            await ws.send(
                json.dumps(
                    {"type": "order", "product_id": ids[0], "qty": 1, "key": k, "buyer": owner}
                )
            )
            await ws.send(json.dumps({"type": "resync"}))
            await ws.send(json.dumps({"type": "cancel", "order_id": "x"}))
            messages = await drain(ws, 0.4)
        results = [m for m in messages if m["type"] == "order_result"]
        assert [(r["ok"], r["error"]) for r in results] == [(False, "invalid")] * 3
        assert all("order" not in r for r in results)
    after = await public_state(http, sid)
    assert after["seq"] == before["seq"] and after["products"] == before["products"]


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_read_only_socket_is_answered_invalid_even_when_it_floods(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show(http)
    async with connect(live_server.ws_url(sid)) as ws:
        await receive(ws)
        for _ in range(15):
            await ws.send(order_frame(ids[0]))
        results = [m for m in await drain(ws, 0.5) if m["type"] == "order_result"]
    assert len(results) == 15
    assert {r["error"] for r in results} == {"invalid"}


# --- connection limits and leaks ----------------------------------------------------------


@pytest.fixture
def limited_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings.with_overrides(max_connections_per_ip=3))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["memory"])
async def test_the_per_address_connection_limit_holds_and_frees_its_slots(
    limited_server: LiveServer,
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=limited_server.base, headers=headers) as http:
        sid, _, overlay_key = await make_show(http)
        for _ in range(2):  # twice: slots come back after the first round closes
            open_ = [await connect(limited_server.ws_url(sid)) for _ in range(2)]
            open_.append(await connect(limited_server.overlay_url(sid, overlay_key)))
            for ws in open_:
                assert (await receive(ws))["type"] == "snapshot"
            for _ in range(4):  # refused ones take no slot
                async with connect(limited_server.ws_url(sid)) as extra:
                    assert await close_code(extra) == 4029
            await open_[0].close()
            await asyncio.sleep(0.2)
            async with connect(limited_server.ws_url(sid)) as again:
                assert (await receive(again))["type"] == "snapshot"
            for ws in open_[1:]:
                await ws.close()
            await asyncio.sleep(0.2)
            assert (await stats(http))["connections"] == 0


async def test_connection_churn_leaves_nothing_behind(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show(http, stock=1000)
    async with connect(live_server.ws_url(sid)) as warm:  # the show's channel exists
        await receive(warm)
    await asyncio.sleep(0.3)
    base = await stats(http)

    async def churn(i: int) -> None:
        ws = await connect(live_server.ws_url(sid, buyer=buyer()))
        mode = i % 4
        if mode == 0:
            await ws.close()  # before reading anything
        elif mode == 1:
            await receive(ws)
            await ws.send(order_frame(ids[0]))
            await ws.close()  # with an order in flight
        elif mode == 2:
            await receive(ws)
            ws.transport.abort()  # cut without a close frame
        else:
            await receive(ws)
            for _ in range(30):
                await ws.send("garbage")  # closed 4000 by the server
            with pytest.raises(ConnectionClosed):
                await receive_until(ws, lambda m: False, 3)

    for start in range(0, 120, 30):
        await asyncio.gather(*(churn(i) for i in range(start, start + 30)))
    deadline = time.monotonic() + 5
    while True:
        now = await stats(http)
        if now["connections"] == 0 and now["tasks"] <= base["tasks"] + 2:
            break
        assert time.monotonic() < deadline, (base, now)
        await asyncio.sleep(0.1)
    assert now["shows"] <= base["shows"]
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:  # still serving
        await receive(ws)
        await ws.send(order_frame(ids[0]))
        result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert result["ok"] is True


async def test_connections_to_unknown_shows_allocate_nothing(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    base = await stats(http)
    for i in range(25):
        async with connect(live_server.ws_url(f"nosuchshow{i}")) as ws:
            assert await close_code(ws) == 4004
    await asyncio.sleep(0.2)
    after = await stats(http)
    assert after["connections"] == 0
    assert after["shows"] == base["shows"]
    assert after["tasks"] <= base["tasks"] + 2


@pytest.mark.parametrize("backend", ["memory"])
async def test_frames_after_the_server_closed_are_ignored(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show(http, stock=10)
    me = buyer()
    # 4000 after too many malformed frames, then orders keep arriving from the same client
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    nonce = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws/shows/{sid}?buyer={me} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    received = await asyncio.wait_for(reader.readuntil(b'"server_time"'), 3)  # 101 + snapshot
    assert received.startswith(b"HTTP/1.1 101")
    writer.write(masked_text_frame("nope") * 40)
    writer.write(masked_text_frame(order_frame(ids[0], 1)) * 5)
    await writer.drain()
    closed_at = None
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(3) as deadline:
            while chunk := await reader.read(65536):
                received += chunk
                if closed_at is None and b"\x0f\xa0" in received:  # close frame, code 4000
                    closed_at = time.monotonic()
                    deadline.reschedule(asyncio.get_running_loop().time() + 0.5)
                    writer.write(masked_text_frame(order_frame(ids[0], 1)) * 5)
                    await writer.drain()
    writer.close()
    assert b"\x0f\xa0" in received
    assert b"order_result" not in received
    # the overlay: rotated away (4011), then it keeps talking
    async with connect(live_server.overlay_url(sid, overlay_key)) as overlay:
        await receive(overlay)
        await http.post(f"/api/shows/{sid}/overlay_key")
        assert await close_code(overlay) == 4011
        with pytest.raises(ConnectionClosed):
            await overlay.send(order_frame(ids[0]))
    await asyncio.sleep(0.2)
    state = await public_state(http, sid)
    assert state["products"][0]["stock"] == 10  # no order from a closed socket was placed
    assert (await stats(http))["connections"] == 0
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"


# --- resync floods ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_resync_flood_from_a_reading_client_hurts_no_one(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show(http, stock=100, products=3)
    async with (
        connect(live_server.ws_url(sid)) as flooder,
        connect(live_server.ws_url(sid, buyer=buyer())) as other,
    ):
        await receive(flooder)
        await receive(other)
        for _ in range(400):
            await flooder.send('{"type":"resync"}')
        started = time.monotonic()
        await other.send(order_frame(ids[0], 2))
        result, _ = await receive_until(other, lambda m: m["type"] == "order_result")
        assert result["ok"] and time.monotonic() - started < 1.0
        got = await drain(flooder)
    snaps = [m for m in got if m["type"] == "snapshot"]
    assert 1 <= len(snaps) <= 5  # resyncs on request are rate limited (a few, not 400)
    assert sum(m.get("error") == "rate_limited" for m in got) >= 390
    stocks = [
        m["stock"] if m["type"] == "stock" else m["products"][0]["stock"]
        for m in got
        if m["type"] == "stock" or m["type"] == "snapshot"
    ]
    assert stocks[-1] == 98  # what the flooder holds in the end is current
    assert all(
        m["seq"] > snaps[-1]["seq"] for m in got[got.index(snaps[-1]) + 1 :] if m["type"] in CHANGES
    )


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_resync_flood_from_a_client_that_never_reads_is_bounded(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, _, _ = await make_show(http, products=30, description="d" * 1990)
    idle = await stats(http)
    stuck = raw_socket(live_server.port, f"/ws/shows/{sid}")
    try:
        await asyncio.get_running_loop().sock_sendall(
            stuck, masked_text_frame('{"type":"resync"}') * 2000
        )
        peak = 0
        for _ in range(12):
            now = await stats(http)
            peak = max(peak, now["rss_bytes"] - idle["rss_bytes"])
            await asyncio.sleep(0.1)
    finally:
        stuck.close()
    # 2,000 x a 66 kB snapshot would be 130 MB; a bounded mailbox holds a few MB at most
    assert peak < 40 * 2**20


# --- the show's channel being dropped while someone reconnects ----------------------------


async def test_a_viewer_rejoining_as_the_channel_is_dropped_still_gets_events(
    store: Store,
) -> None:
    hub = Hub(store, store.open_feed(), unsubscribe_grace=0.01)
    await hub.start()
    try:
        product = await add_product(store)
        show = await add_show(store, product)
        first = Client(limit=100)
        await hub.join(show.id, first)
        hub.leave(show.id, first)  # the last viewer leaves; after the grace the channel goes
        async with asyncio.timeout(2):
            while show.id in hub.channels:
                await asyncio.sleep(0)
        second = Client(limit=100)  # a viewer reconnects right then
        await hub.join(show.id, second)
        await asyncio.sleep(0.1)
        await store.set_featured(show.id, None)
        async with asyncio.timeout(1):
            while not any(i.kind is Kind.EVENT for i in second.items):
                await asyncio.sleep(0.02)
    finally:
        await hub.close()


# --- Redis specifics ----------------------------------------------------------------------


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
            sid, ids, _ = await make_show(http)
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


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_deal_event_carries_the_same_end_time_as_the_snapshot(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show(http)
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
    sid, ids, _ = await make_show(http)
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
