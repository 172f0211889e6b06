"""Connections are bounded and leave nothing behind: the per-address limit, churn, unknown
shows, frames after the server closed, resync floods."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from live.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.helpers import (
    buyer,
)
from tests.support.live_server import LiveServer, receive, receive_until
from tests.support.sockets import (
    CHANGES,
    close_code,
    drain,
    masked_text_frame,
    on_sale_show,
    order_frame,
    public_state,
    raw_socket,
    stats,
)


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
        sid, _, overlay_key = await on_sale_show(http)
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
    sid, ids, _ = await on_sale_show(http, stock=1000)
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
    sid, ids, overlay_key = await on_sale_show(http, stock=10)
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


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_resync_flood_from_a_reading_client_hurts_no_one(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await on_sale_show(http, stock=100, products=3)
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
    sid, _, _ = await on_sale_show(http, products=30, description="d" * 1990)
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
