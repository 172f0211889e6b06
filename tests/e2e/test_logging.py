"""No buyer token, overlay key, admin token or delivery detail reaches the log.

Issue 10, finding 6: uvicorn's access log printed `?buyer=…` and `?key=…` at INFO. A real
`live serve --workers 2` on Redis runs a sale (pages, sockets, orders, delivery details, the
host's order list filtered by buyer) and its whole output is searched afterwards.
"""

from __future__ import annotations

import json
import logging
import sys

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect

from live.server import REDACTED, RedactSecrets, redact
from live.tools.devredis import RedisServer, free_port
from tests.helpers import make_show_with_products
from tests.support.live_process import TOKEN, Server, env
from tests.support.live_server import receive, receive_until

pytestmark = pytest.mark.slow

BUYER = "buyer-secret0123456789abcdef"
PHONE = "13912345678"
PHONE_KEPT = "+86 139 1234 5678"  # as the service keeps it (live.delivery)
STREET = "88 Quiet Orchard Lane"
NAME = "Zhao Xiaolan"


async def test_a_sale_leaves_no_secret_in_the_log(redis_server: RedisServer) -> None:
    server = Server(
        ["serve", "--workers", "2"],
        env(
            LIVE_ADMIN_TOKEN=TOKEN,
            LIVE_REDIS_URL=redis_server.unix_url,
            LIVE_REDIS_PREFIX=f"log{free_port()}",
            LIVE_LOG_LEVEL="info",
        ),
    )
    try:
        server.wait_ready()
        base, port = server.base, server.port
        admin = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=base, headers=admin, timeout=10) as http:
            show_id, product_ids, overlay_key = await make_show_with_products(http)
        async with httpx.AsyncClient(base_url=base, timeout=10) as anyone:
            assert (await anyone.get(f"/overlay/{show_id}?key={overlay_key}")).status_code == 200
            assert (await anyone.get(f"/s/{show_id}?buyer={BUYER}")).status_code == 200
            # Someone pasting the admin token into a URL: refused, and not logged either.
            assert (await anyone.get(f"/api/products?token={TOKEN}")).status_code == 401
            buyer = {"X-Buyer": BUYER}
            profile = {"name": NAME, "phone": PHONE, "city": "Hangzhou", "street": STREET}
            r = await anyone.put("/api/buyer/profile", json=profile, headers=buyer)
            assert r.is_success, r.text
            r = await anyone.post(
                f"/api/shows/{show_id}/orders",
                json={"product_id": product_ids[0], "qty": 1, "key": "tap-0000000000000001"},
                headers=buyer,
            )
            assert r.status_code == 201, r.text
            assert (await anyone.get(f"/api/shows/{show_id}/my-orders", headers=buyer)).is_success
        async with connect(f"ws://127.0.0.1:{port}/ws/shows/{show_id}?buyer={BUYER}") as ws:
            assert (await receive(ws))["type"] == "snapshot"
            order = {
                "type": "order",
                "product_id": product_ids[0],
                "qty": 1,
                "key": "tap-0000000000000002",
            }
            await ws.send(json.dumps(order))
            result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
            assert result.get("ok", True) and "order" in result, result
        overlay = f"ws://127.0.0.1:{port}/ws/shows/{show_id}/overlay?key={overlay_key}"
        async with connect(overlay) as ws:
            assert (await receive(ws))["type"] == "snapshot"
        async with httpx.AsyncClient(base_url=base, headers=admin, timeout=10) as http:
            r = await http.get(f"/api/shows/{show_id}/orders", params={"buyer": BUYER})
            assert r.is_success and len(r.json()["orders"]) == 2
            assert PHONE_KEPT in r.text  # the host does see the details
    finally:
        output = server.stop()

    # The log is there and names the requests (so this test can fail)...
    assert f"GET /overlay/{show_id}?key={REDACTED}" in output, output[-3000:]
    assert f"/ws/shows/{show_id}?buyer={REDACTED}" in output
    assert "opening the store" in output  # the workers' own log lines
    # ...and none of the secrets.
    for secret in (BUYER, overlay_key, TOKEN, PHONE, PHONE_KEPT, STREET, NAME):
        assert secret not in output, f"{secret!r} is in the log"


def test_redaction_rules() -> None:
    assert redact("GET /x?buyer=abc&format=csv&key=k1 HTTP/1.1") == (
        f"GET /x?buyer={REDACTED}&format=csv&key={REDACTED} HTTP/1.1"
    )
    # Any other query value that looks like a token.
    assert redact("/p?ref=Zm9vYmFyYmF6cXV4MTIzNDU2") == f"/p?ref={REDACTED}"
    assert redact("/p?status=paid&limit=20") == "/p?status=paid&limit=20"
    # Reprs and JSON in messages.
    assert (
        redact("event {'buyer': 'b-123', 'qty': 1}") == f"event {{'buyer': {REDACTED}, 'qty': 1}}"
    )
    assert redact('{"phone": "139", "city": "Hangzhou"}') == (
        f'{{"phone": {REDACTED}, "city": "Hangzhou"}}'
    )
    assert redact("Authorization: Bearer abc.def") == f"Authorization: Bearer {REDACTED}"


def test_the_filter_keeps_uvicorns_access_record_shape() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/ws?buyer=abc", "1.1", 200), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.getMessage() == f'127.0.0.1:5 - "GET /ws?buyer={REDACTED} HTTP/1.1" 200'


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise ValueError(f"bad request /ws?buyer={BUYER}")
    except ValueError:
        record = logging.LogRecord(
            "live", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert "ValueError" in text and BUYER not in text and REDACTED in text
