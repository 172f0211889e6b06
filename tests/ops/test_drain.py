"""The drain a SIGTERM starts (live/web/drain.py), step by step on a real uvicorn in the test's
own loop: readiness first, new sockets turned away, an order in flight answered before its
socket closes with 1012. (The signal itself, and a rolling restart behind a real proxy:
tests/ops/test_behind_proxy.py and tests/ops/test_logs.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from live.app import create_app
from live.config import Settings
from live.errors import CloseCode
from live.tools.devredis import free_port
from tests.conftest import ADMIN_TOKEN
from tests.helpers import buyer, key, make_show_with_products
from tests.support.live_server import receive

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ORDER_TAKES = 0.6  # seconds the store takes to answer in this test


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[tuple[Starlette, int]]:
    port = free_port()
    application = create_app(settings.with_overrides(port=port, drain_seconds=2.0))
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield application, port
    finally:
        server.should_exit = True
        await task


def slow_orders(application: Starlette) -> None:
    """Every order takes ORDER_TAKES seconds: one is surely in flight when the drain starts."""
    service = application.state.service
    place = service.place_order

    async def slow(order: Any) -> Any:
        await asyncio.sleep(ORDER_TAKES)
        return await place(order)

    setattr(service, "place_order", slow)  # noqa: B010


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_an_order_in_flight_is_answered_before_the_socket_closes(
    app: tuple[Starlette, int],
) -> None:
    application, port = app
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=10) as http:
        show_id, (product_id,), _ = await make_show_with_products(http)
        slow_orders(application)
        url = f"ws://127.0.0.1:{port}/ws/shows/{show_id}?buyer={buyer()}"
        async with connect(url) as ws:
            assert (await receive(ws))["type"] == "snapshot"
            order_key = key()
            await ws.send(
                json.dumps({"type": "order", "product_id": product_id, "qty": 1, "key": order_key})
            )
            await asyncio.sleep(0.05)  # the order is being decided
            drain = application.state.drain
            started = time.monotonic()
            draining = asyncio.create_task(drain.run())
            await asyncio.sleep(0)

            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["error"] == "draining"
            assert "live_draining 1.0" in (await http.get("/metrics")).text
            # A socket that still arrives is turned away at once, to reconnect elsewhere.
            async with connect(url) as late:
                with pytest.raises(ConnectionClosed) as turned_away:
                    await receive(late)
                assert turned_away.value.rcvd is not None
                assert turned_away.value.rcvd.code == CloseCode.SERVICE_RESTART

            messages = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    messages.append(await receive(ws, 5))
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == CloseCode.SERVICE_RESTART
            results = [m for m in messages if m["type"] == "order_result"]
            assert len(results) == 1 and results[0]["key"] == order_key and results[0]["ok"]
            await draining
            assert time.monotonic() - started < drain.notice + drain.spread + 1.5
        orders = (await http.get(f"/api/shows/{show_id}/orders")).json()["orders"]
        assert [o["id"] for o in orders] == [results[0]["order"]["id"]]
