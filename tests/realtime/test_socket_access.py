"""What a socket may do and learn: broadcasts carry no buyer token, order key or overlay key;
a read-only socket changes nothing, even when it floods."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import (
    buyer,
    key,
)
from tests.support.live_server import LiveServer, receive
from tests.support.sockets import (
    drain,
    http_order,
    on_sale_show,
    order_frame,
    public_state,
)


async def test_broadcasts_never_carry_buyer_tokens_order_keys_or_the_overlay_key(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await on_sale_show(http, stock=40, limit_per_buyer=3)
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
    sid, ids, overlay_key = await on_sale_show(http, stock=5)
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
    sid, ids, _ = await on_sale_show(http)
    async with connect(live_server.ws_url(sid)) as ws:
        await receive(ws)
        for _ in range(15):
            await ws.send(order_frame(ids[0]))
        results = [m for m in await drain(ws, 0.5) if m["type"] == "order_result"]
    assert len(results) == 15
    assert {r["error"] for r in results} == {"invalid"}
