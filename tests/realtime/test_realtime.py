"""The show sockets over real TCP (uvicorn in a thread), on both backends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import buyer, key, make_show_with_products
from tests.support.live_server import LiveServer, receive, receive_until


async def test_first_message_is_the_snapshot_without_buyer_data(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http)
    me = buyer()
    async with connect(live_server.ws_url(sid, buyer=me)) as ws:
        snap = await receive(ws)
    state = (await http.get(f"/api/shows/{sid}/state")).json()
    assert snap["type"] == "snapshot"
    assert snap["seq"] == state["seq"] and snap["event_seq"] == state["event_seq"]
    assert snap["show"] == state["show"] and snap["products"] == state["products"]
    assert snap["show"]["featured_product_id"] == ids[0]
    assert [p["on_sale"] for p in snap["products"]] == [True]
    text = json.dumps(snap)
    assert me not in text and overlay_key not in text


async def test_order_over_the_socket_is_answered_once_and_idempotent(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=5)
    me, k = buyer(), key()
    async with (
        connect(live_server.ws_url(sid, buyer=me)) as a,
        connect(live_server.ws_url(sid, buyer=me)) as b,
    ):
        await receive(a)
        await receive(b)
        await a.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 2, "key": k}))
        first, _ = await receive_until(a, lambda m: m["type"] == "order_result")
        assert first["ok"] is True and first["key"] == k and first["order"]["qty"] == 2
        assert first["stock"] == 3 and first["repeat"] is False
        await b.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 2, "key": k}))
        again, _ = await receive_until(b, lambda m: m["type"] == "order_result")
        assert (
            again["ok"] is True
            and again["order"]["id"] == first["order"]["id"]
            and again["repeat"] is True
        )
        await b.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 3, "key": k}))
        other, _ = await receive_until(b, lambda m: m["type"] == "order_result")
        assert (other["ok"], other["error"]) == (False, "invalid")
        await a.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 9, "key": key()}))
        refused, _ = await receive_until(a, lambda m: m["type"] == "order_result")
        assert (refused["ok"], refused["error"], refused["stock"]) == (False, "sold_out", 3)
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 3


@pytest.mark.parametrize(
    "query", [{}, {"buyer": "short"}, {"buyer": "x" * 65}, {"buyer": "has space in it 1234"}]
)
async def test_a_socket_without_a_valid_buyer_token_is_read_only(
    live_server: LiveServer, http: httpx.AsyncClient, query: dict[str, str]
) -> None:
    sid, ids, _ = await make_show_with_products(http)
    async with connect(live_server.ws_url(sid, **query)) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()}))
        result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert (result["ok"], result["error"]) == (False, "invalid")
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 10


async def test_host_actions_reach_every_socket_with_a_linked_seq(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, products=2)
    a_id, b_id = ids
    async with (
        connect(live_server.ws_url(sid, buyer=buyer())) as v1,
        connect(live_server.ws_url(sid)) as v2,
    ):
        snaps = [await receive(v1), await receive(v2)]
        await http.post(f"/api/shows/{sid}/featured", json={"product_id": b_id})
        await http.post(f"/api/shows/{sid}/on_sale", json={"product_id": a_id, "on_sale": False})
        await http.post(
            f"/api/shows/{sid}/deal", json={"product_id": b_id, "price": 500, "ends_at": 4e9}
        )
        await http.patch(f"/api/products/{b_id}", json={"name": "Wild honey <b>new</b>"})
        await http.post(f"/api/shows/{sid}/deal", json={"product_id": b_id, "price": None})
        await http.post(f"/api/shows/{sid}/ordering", json={"open": False})
        await http.post(f"/api/shows/{sid}/end")
        for ws, snap in zip((v1, v2), snaps, strict=True):
            events = []
            while not events or events[-1]["type"] != "show_ended":
                message = await receive(ws)
                if message["type"] not in ("stock", "sale"):
                    events.append(message)
            assert [e["type"] for e in events] == [
                "featured",
                "on_sale",
                "deal",
                "product",
                "deal",
                "ordering",
                "show_ended",
            ]
            prev = snap["event_seq"]
            for e in events:  # each discrete event names the one before it
                assert e["prev"] == prev and e["seq"] > prev
                prev = e["seq"]
            featured, on_sale, deal, product, end_deal, ordering, _ = events
            assert featured["product_id"] == b_id
            assert (on_sale["product_id"], on_sale["on_sale"]) == (a_id, False)
            assert (deal["product_id"], deal["deal_price"], deal["deal_ends_at"]) == (
                b_id,
                500,
                4e9,
            )
            assert (
                product["product"]["name"] == "Wild honey <b>new</b>"
                and product["product"]["id"] == b_id
            )
            assert end_deal["deal_price"] is None
            assert ordering["open"] is False


async def test_a_burst_of_orders_is_coalesced_and_the_final_stock_arrives(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=150)
    async with connect(live_server.ws_url(sid)) as viewer:
        await receive(viewer)

        async def tap() -> int:
            r = await http.post(
                f"/api/shows/{sid}/orders",
                headers={"X-Buyer": buyer()},
                json={"product_id": ids[0], "qty": 1, "key": key()},
            )
            return r.status_code

        codes = await asyncio.gather(*(tap() for _ in range(200)))
        assert codes.count(201) == 150 and codes.count(409) == 50
        final, seen = await receive_until(
            viewer, lambda m: m["type"] == "stock" and m["stock"] == 0
        )
        stock_messages = [m for m in seen if m["type"] == "stock"] + [final]
        assert len(stock_messages) < 60  # 150 changes, coalesced (100 ms windows)
        versions = [m["version"] for m in stock_messages]
        assert versions == sorted(versions) and final["sold"] == 150
        toasts = [m for m in seen if m["type"] == "sale"]
        assert len(toasts) < 20 and all(
            set(t) == {"type", "seq", "product_id", "qty", "name", "city"} for t in toasts
        )


async def test_stock_changes_reach_other_shows_holding_the_product(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=10)
    other = (await http.post("/api/shows", json={"title": "Rerun", "product_ids": ids})).json()[
        "id"
    ]
    async with connect(live_server.ws_url(other)) as viewer:
        snap = await receive(viewer)
        await http.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": ids[0], "qty": 3, "key": key()},
        )
        stock, _ = await receive_until(viewer, lambda m: m["type"] == "stock")
        assert stock["stock"] == 7 and stock["seq"] > snap["seq"]
        await http.patch(f"/api/products/{ids[0]}", json={"stock_delta": 5})
        stock, _ = await receive_until(viewer, lambda m: m["type"] == "stock")
        assert stock["stock"] == 12


async def test_overlay_socket_is_read_only_and_closed_when_its_key_rotates(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http)
    async with connect(live_server.overlay_url(sid, "wrong-key")) as bad:
        with pytest.raises(ConnectionClosed) as info:
            await receive(bad)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4003
    async with connect(live_server.overlay_url(sid, overlay_key)) as overlay:
        assert (await receive(overlay))["type"] == "snapshot"
        await overlay.send(
            json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()})
        )
        result, _ = await receive_until(overlay, lambda m: m["type"] == "order_result")
        assert (result["ok"], result["error"]) == (False, "invalid")
        await http.post(f"/api/shows/{sid}/overlay_key")
        with pytest.raises(ConnectionClosed) as info:
            await receive_until(overlay, lambda m: False)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4011


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [(None, True), ("http://evil.example", False), ("null", False), ("SAME", True)],
)
async def test_browser_sockets_must_come_from_this_origin(
    live_server: LiveServer, http: httpx.AsyncClient, origin: str | None, allowed: bool
) -> None:
    sid, _, _ = await make_show_with_products(http)
    if origin == "SAME":
        origin = f"http://127.0.0.1:{live_server.port}"
    headers = {"Origin": origin} if origin else {}
    async with connect(live_server.ws_url(sid), additional_headers=headers) as ws:
        if allowed:
            assert (await receive(ws))["type"] == "snapshot"
        else:
            with pytest.raises(ConnectionClosed) as info:
                await receive(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4003


async def test_unknown_show_is_closed_with_4004(live_server: LiveServer) -> None:
    for show_id in ("nope", "bad%20id"):
        async with connect(live_server.ws_url(show_id)) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await receive(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4004


async def test_only_the_show_socket_paths_are_sockets(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The viewers' and overlay's sockets are matched before the router (CrowdSockets): a path
    beside them is not taken for one of them."""
    sid, _, overlay_key = await make_show_with_products(http)
    base = f"ws://127.0.0.1:{live_server.port}"
    for path in (f"/ws/shows/{sid}/overlay/x", f"/ws/shows/{sid}/", "/ws/shows/", f"/ws/{sid}"):
        with pytest.raises(InvalidStatus) as refused:  # no such route: the handshake is refused
            async with connect(f"{base}{path}?key={overlay_key}"):
                pass
        assert refused.value.response.status_code == 403
    async with connect(live_server.overlay_url(sid, overlay_key)) as overlay:
        assert (await receive(overlay))["type"] == "snapshot"


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("not json", "hello", "invalid_json"),
    ("truncated", '{"type": "order", "qty"', "invalid_json"),
    ("array", "[1, 2]", "invalid_frame"),
    ("empty object", "{}", "invalid_frame"),
    ("type not a string", '{"type": 7}', "invalid_frame"),
    ("unknown type", '{"type": "steal"}', "unknown_type"),
    ("binary", b"\x00\x01", "binary_frame"),
    ("oversized", '{"type": "ping", "pad": "' + "x" * 5000 + '"}', "too_large"),
    ("deep nesting", "[" * 1500 + "]" * 1500, "invalid_json"),
]


@pytest.mark.parametrize(("case", "frame", "code"), BAD_FRAMES, ids=[c for c, _, _ in BAD_FRAMES])
async def test_bad_frames_get_an_error_and_hurt_nobody(
    live_server: LiveServer, http: httpx.AsyncClient, case: str, frame: str | bytes, code: str
) -> None:
    sid, ids, _ = await make_show_with_products(http)
    async with (
        connect(live_server.ws_url(sid, buyer=buyer())) as bad,
        connect(live_server.ws_url(sid, buyer=buyer())) as good,
    ):
        await receive(bad)
        await receive(good)
        await bad.send(frame)
        answer = await receive(bad)
        assert answer["type"] == "error" and answer["error"] == code and answer["detail"]
        await bad.send(json.dumps({"type": "ping"}))
        assert (await receive(bad))["type"] == "pong"  # still served
        await good.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()}))
        result, _ = await receive_until(good, lambda m: m["type"] == "order_result")
        assert result["ok"] is True
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 9


BAD_ORDERS: list[tuple[str, dict[str, Any], Any]] = [
    ("qty string", {"qty": "1"}, "KEY"),
    ("qty float", {"qty": 1.5}, "KEY"),
    ("qty zero", {"qty": 0}, "KEY"),
    ("qty negative", {"qty": -3}, "KEY"),
    ("qty huge", {"qty": 10**12}, "KEY"),
    ("unknown field", {"price": 1}, "KEY"),
    ("missing key", {"key": None}, None),
    ("short key", {"key": "abc"}, "abc"),
    ("overlong key", {"key": "k" * 65}, None),
    ("key not a string", {"key": 12345678}, None),
]


@pytest.mark.parametrize(("case", "change", "echo"), BAD_ORDERS, ids=[c for c, _, _ in BAD_ORDERS])
async def test_malformed_orders_get_one_invalid_result(
    live_server: LiveServer, http: httpx.AsyncClient, case: str, change: dict[str, Any], echo: Any
) -> None:
    sid, ids, _ = await make_show_with_products(http)
    k = key()
    frame: dict[str, Any] = {"type": "order", "product_id": ids[0], "qty": 1, "key": k, **change}
    frame = {name: value for name, value in frame.items() if value is not None}
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        await receive(ws)
        await ws.send(json.dumps(frame))
        result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert (result["ok"], result["error"]) == (False, "invalid")
        assert result["key"] == (k if echo == "KEY" else echo)
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 10


async def test_unknown_product_is_not_on_sale(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, _, _ = await make_show_with_products(http)
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        await receive(ws)
        await ws.send(
            json.dumps({"type": "order", "product_id": "no-such-product", "qty": 1, "key": key()})
        )
        result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert (result["ok"], result["error"]) == (False, "not_on_sale")


async def test_an_order_flood_is_rate_limited_per_connection(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=1000)
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        await receive(ws)
        for _ in range(40):
            await ws.send(
                json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()})
            )
        results = []
        while len(results) < 40:
            message = await receive(ws)
            if message["type"] == "order_result":
                results.append(message)
        accepted = sum(r["ok"] for r in results)
        assert 5 <= accepted <= 20
        assert {r["error"] for r in results if not r["ok"]} == {"rate_limited"}
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 1000 - accepted


async def test_resync_request_answers_a_fresh_snapshot(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=10)
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        first = await receive(ws)
        await http.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": ids[0], "qty": 4, "key": key()},
        )
        await ws.send(json.dumps({"type": "resync"}))
        snap, _ = await receive_until(ws, lambda m: m["type"] == "snapshot")
        assert snap["seq"] > first["seq"] and snap["products"][0]["stock"] == 6


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_client_that_stops_reading_is_dropped_and_the_others_get_everything(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    import base64
    import os
    import socket

    sid, ids, _ = await make_show_with_products(http)
    # A phone that stopped reading: a tiny receive buffer, never read after the handshake.
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", live_server.port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    stuck.sendall(
        f"GET /ws/shows/{sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    try:
        async with connect(live_server.ws_url(sid)) as good:
            await receive(good)
            received = 0

            async def read() -> None:
                nonlocal received
                async for _ in good:
                    received += 1

            reader = asyncio.create_task(read())
            idle = (await http.get("/api/stats")).json()
            assert idle["connections"] == 2
            story = "s" * 1990
            for i in range(4000):  # ~9 MB of product events: far more than the socket buffers hold
                await http.patch(
                    f"/api/products/{ids[0]}", json={"description": f"{story}{i % 10}"}
                )
            await asyncio.sleep(1.5)
            after = (await http.get("/api/stats")).json()
            reader.cancel()
        assert received >= 4000  # the reading viewer got every event
        assert after["connections"] == 1  # the stuck one was dropped
        assert after["rss_bytes"] - idle["rss_bytes"] < 20 * 2**20  # its backlog was not kept
    finally:
        stuck.close()


@pytest.mark.parametrize("agreed", [True, False])
async def test_a_sale_toast_names_a_buyer_only_if_they_agreed_and_then_only_initial_and_city(
    live_server: LiveServer, http: httpx.AsyncClient, agreed: bool
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http, stock=10)
    me = buyer()
    r = await http.put(
        "/api/buyer/profile",
        headers={"X-Buyer": me},
        json={
            "name": " 王小明",
            "phone": "13800000000",
            "street": "1 Road",
            "city": "上海",
            "toasts": agreed,
        },
    )
    assert r.status_code == 200
    async with connect(live_server.overlay_url(sid, overlay_key)) as overlay:
        await receive(overlay)
        await http.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": me},
            json={"product_id": ids[0], "qty": 2, "key": key()},
        )
        toast, _ = await receive_until(overlay, lambda m: m["type"] == "sale")
    expected = ("王", "上海", 2) if agreed else (None, None, 2)
    assert (toast["name"], toast["city"], toast["qty"]) == expected
    assert "小明" not in json.dumps(toast) and "13800000000" not in json.dumps(toast)
    assert me not in json.dumps(toast)


async def test_the_host_socket_needs_a_console_session(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, _, _ = await make_show_with_products(http)
    url = f"ws://127.0.0.1:{live_server.port}/ws/shows/{sid}/host"
    async with connect(url) as ws:  # no session cookie: refused
        with pytest.raises(ConnectionClosed) as info:
            await receive(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4003
    async with connect(url, additional_headers={"Cookie": "live_session=forged"}) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await receive(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4003


async def test_a_lineup_change_reaches_viewers_as_a_fresh_snapshot(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http, products=2, all_on_sale=True)
    a_id, b_id = ids
    c_id = (
        await http.post("/api/products", json={"name": "Tea", "price": 900, "stock": 8})
    ).json()["id"]
    async with (
        connect(live_server.ws_url(sid, buyer=buyer())) as viewer,
        connect(live_server.overlay_url(sid, overlay_key)) as overlay,
    ):
        firsts = [await receive(viewer), await receive(overlay)]
        r = await http.put(f"/api/shows/{sid}/lineup", json={"product_ids": [c_id, a_id]})
        assert r.status_code == 200, r.text
        r = await http.post(f"/api/shows/{sid}/featured", json={"product_id": c_id})
        featured_seq = r.json()["seq"]  # the featured event's seq: nothing else changed since
        await http.patch(f"/api/products/{b_id}", json={"stock_delta": 5})  # no longer here
        await http.patch(f"/api/products/{c_id}", json={"stock_delta": 1})
        for ws, first in zip((viewer, overlay), firsts, strict=True):
            snap, seen = await receive_until(ws, lambda m: m["type"] == "snapshot")
            assert not [m for m in seen if m["type"] not in ("stock", "sale")]
            assert [p["id"] for p in snap["products"]] == [c_id, a_id]
            assert snap["event_seq"] > first["event_seq"] and snap["seq"] > first["seq"]
            if snap["event_seq"] >= featured_seq:
                # The snapshot was read after the featured change: it holds it, and the event
                # itself (older than the snapshot) is rightly not sent.
                assert snap["show"]["featured_product_id"] == c_id
            else:
                assert snap["show"]["featured_product_id"] in (a_id, None)
                featured, _ = await receive_until(ws, lambda m: m["type"] == "featured")
                assert featured["seq"] == featured_seq
                assert featured["prev"] == snap["event_seq"]  # the chain goes on from it
            stock, seen = await receive_until(
                ws, lambda m: m["type"] == "stock" and m["product_id"] == c_id
            )
            assert stock["stock"] == 9
            assert not [m for m in seen if m.get("product_id") == b_id]


async def test_no_sale_toasts_while_a_show_has_them_off(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http, stock=10)
    async with (
        connect(live_server.overlay_url(sid, overlay_key)) as overlay,
        connect(live_server.ws_url(sid)) as viewer,
    ):
        await receive(overlay)
        await receive(viewer)
        r = await http.post(f"/api/shows/{sid}/toasts", json={"on": False})
        assert r.status_code == 200 and r.json()["toasts"] is False
        for qty in (1, 2):
            await http.post(
                f"/api/shows/{sid}/orders",
                headers={"X-Buyer": buyer()},
                json={"product_id": ids[0], "qty": qty, "key": key()},
            )
        await http.post(f"/api/shows/{sid}/toasts", json={"on": True})
        for ws in (overlay, viewer):
            off, _ = await receive_until(ws, lambda m: m["type"] == "toasts")
            assert off["on"] is False
            on, seen = await receive_until(ws, lambda m: m["type"] == "toasts")
            assert on["on"] is True and on["prev"] == off["seq"]
            if not any(m.get("stock") == 7 for m in seen):  # coalesced stock may come later
                last, more = await receive_until(ws, lambda m: m.get("stock") == 7)
                seen += [*more, last]
            assert {m["type"] for m in seen} == {"stock"}  # both orders' stock, and no "sale"
        await http.post(
            f"/api/shows/{sid}/orders",
            headers={"X-Buyer": buyer()},
            json={"product_id": ids[0], "qty": 1, "key": key()},
        )
        for ws in (overlay, viewer):
            sale, _ = await receive_until(ws, lambda m: m["type"] == "sale")
            assert sale["qty"] == 1
    snap = (await http.get(f"/api/shows/{sid}/state")).json()
    assert snap["show"]["toasts"] is True


async def test_an_ended_show_refuses_socket_orders_and_results_carry_the_number(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, _ = await make_show_with_products(http, stock=5)
    async with connect(live_server.ws_url(sid, buyer=buyer())) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()}))
        result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert result["ok"] is True and result["order"]["number"] == 1
        assert result["order"]["cash_on_delivery"] is False
        await http.post(f"/api/shows/{sid}/end")
        await receive_until(ws, lambda m: m["type"] == "show_ended")
        assert (
            await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
        ).status_code == 409
        await ws.send(json.dumps({"type": "order", "product_id": ids[0], "qty": 1, "key": key()}))
        result, seen = await receive_until(ws, lambda m: m["type"] == "order_result")
        assert (result["ok"], result["error"]) == (False, "ordering_closed")
        assert [m["type"] for m in seen] == []  # ending again or the 409 told viewers nothing
        await http.post(f"/api/shows/{sid}/end")
        await ws.send(json.dumps({"type": "ping"}))
        _, seen = await receive_until(ws, lambda m: m["type"] == "pong")
        assert seen == []
    assert (await http.get(f"/api/products/{ids[0]}")).json()["stock"] == 4


async def test_turning_toasts_off_drops_a_toast_still_waiting_for_its_turn(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    sid, ids, overlay_key = await make_show_with_products(http, stock=10)
    async with connect(live_server.overlay_url(sid, overlay_key)) as overlay:
        await receive(overlay)

        async def buy() -> None:
            r = await http.post(
                f"/api/shows/{sid}/orders",
                headers={"X-Buyer": buyer()},
                json={"product_id": ids[0], "qty": 1, "key": key()},
            )
            assert r.status_code == 201

        await buy()
        await receive_until(overlay, lambda m: m["type"] == "sale")  # shown at once
        await buy()  # its toast waits for the next second
        await http.post(f"/api/shows/{sid}/toasts", json={"on": False})
        await receive_until(overlay, lambda m: m["type"] == "toasts")
        with pytest.raises((AssertionError, TimeoutError)):  # nothing, or only stock
            await receive_until(overlay, lambda m: m["type"] == "sale", timeout=1.5)
