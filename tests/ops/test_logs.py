"""The log of a real `live serve` with `LIVE_LOG_FORMAT=json`: every line one JSON object, a
line for each event that matters (start, refused logins, drain, slow consumers), and no buyer's
delivery details anywhere, though a sale with them ran through it."""

from __future__ import annotations

import json
import logging
import re
import sys

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect

from live.logs import JsonFormatter, Throttled
from tests.helpers import buyer, key, make_show_with_products
from tests.support.live_process import TOKEN, Server, env
from tests.support.live_server import receive, receive_until

pytestmark = pytest.mark.slow

NAME = "Qian Meilin"
PHONE = "13987654321"
STREET = "17 Lotus Terrace Road"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


async def test_json_lines_for_what_matters_and_no_buyer_details() -> None:
    server = Server(
        ["serve"],
        env(
            LIVE_ADMIN_TOKEN=TOKEN,
            LIVE_LOG_FORMAT="json",
            LIVE_DRAIN_SECONDS="2",
            LIVE_ORDER_RATE_PER_IP="1000000",
            LIVE_ORDER_BURST_PER_IP="1000000",
        ),
    )
    try:
        server.wait_ready()
        async with httpx.AsyncClient(base_url=server.base, headers=ADMIN, timeout=10) as http:
            show_id, (product_id,), _ = await make_show_with_products(http)
        me = buyer()
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as anyone:
            profile = {"name": NAME, "phone": PHONE, "city": "Ningbo", "street": STREET}
            r = await anyone.put("/api/buyer/profile", json=profile, headers={"X-Buyer": me})
            assert r.is_success, r.text
            page = (await anyone.get("/host")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            r = await anyone.post(
                "/host/login", data={"csrf": csrf.group(1), "token": "a-wrong-guess"}
            )
            assert r.status_code == 401
        async with connect(f"ws://127.0.0.1:{server.port}/ws/shows/{show_id}?buyer={me}") as ws:
            assert (await receive(ws))["type"] == "snapshot"
            order = {"type": "order", "product_id": product_id, "qty": 1, "key": key()}
            await ws.send(json.dumps(order))
            result, _ = await receive_until(ws, lambda m: m["type"] == "order_result")
            assert result["ok"], result
    finally:
        output = server.stop()  # SIGTERM: the drain is logged too

    lines = [line for line in output.splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # every line, uvicorn's included
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        records.append(record)
    messages = "\n".join(r["message"] for r in records)
    assert "Sunlit Live" in messages  # the start
    assert "console login refused (err_wrong) from 127.0.0.1" in messages
    assert "draining: /readyz answers 503" in messages
    assert "drained:" in messages
    for detail in (NAME, PHONE, STREET, "Meilin", "87654321"):
        assert detail not in output, detail


def test_a_storm_of_warnings_is_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    throttled = Throttled(logging.getLogger("live.test"), 60.0)
    with caplog.at_level(logging.WARNING, "live.test"):
        for i in range(500):
            throttled.note(f"slow consumer dropped ({i})")
    assert [r.getMessage() for r in caplog.records] == ["slow consumer dropped (0)"]
    throttled.last -= 61
    with caplog.at_level(logging.WARNING, "live.test"):
        throttled.note("slow consumer dropped (500)")
    assert caplog.records[-1].getMessage() == (
        "slow consumer dropped (500) (and 499 more in the last 60 s)"
    )


def test_json_lines_carry_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "live", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and line["message"] == "failed"
    assert "ValueError: boom" in line["exception"]
