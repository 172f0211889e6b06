"""static/live-client.js, run in Node against a real server: state rules, array frames,
reconnect, resend, and `busy` retried with the same key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from live.tools.devredis import free_port
from tests.conftest import ADMIN_TOKEN
from tests.support.live_server import LiveServer
from tests.support.node import node

SCRIPT = Path(__file__).resolve().parent / "js" / "client_check.mjs"
BUSY_SCRIPT = Path(__file__).resolve().parent / "js" / "busy_check.mjs"


async def run_node(script: Path, *args: str) -> dict[str, Any]:
    """Runs one check script; its last line of output is a JSON object of findings."""
    proc = await asyncio.create_subprocess_exec(
        node(),
        "--experimental-websocket",
        "--no-warnings",
        str(script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    found: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return found


async def sale(http: httpx.AsyncClient, stock: int = 10) -> tuple[str, str]:
    """A show with one product on sale, ordering open: (show id, product id)."""
    pid = (
        await http.post("/api/products", json={"name": "Tea", "price": 100, "stock": stock})
    ).json()["id"]
    sid = (await http.post("/api/shows", json={"title": "t", "product_ids": [pid]})).json()["id"]
    await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
    await http.post(f"/api/shows/{sid}/featured", json={"product_id": pid})
    return sid, pid


@pytest.mark.parametrize("backend", ["memory"])
async def test_the_shared_client_keeps_state_reconnects_and_resends(
    live_server: LiveServer,
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.base, headers=headers) as http:
        sid, pid = await sale(http)
        url = live_server.ws_url(sid, buyer="node-client-0123456789")
        found = await run_node(SCRIPT, url, pid)
        stock = (await http.get(f"/api/products/{pid}")).json()["stock"]
        keys = [o["key"] for o in (await http.get(f"/api/shows/{sid}/orders")).json()["orders"]]
    assert (
        found["stale_stock"] == "stale"
        and found["newer_stock"] == "applied"
        and found["stock_now"] == 4
    )
    assert found["linked_event"] == "applied" and found["closed_keeps_on_sale"] is True
    assert found["gap"] == "gap"
    assert found["deal_on"] is True and found["deal_gone"] is True
    assert found["backoff"] == sorted(found["backoff"]) and max(found["backoff"]) < 15000
    # busy: the hint, plus up to half of it again; a missing hint waits 1 s, a huge one 30 s
    assert found["busy_delays"] == [400, 600, 1000, 100, 44985]
    assert found["http_busy"] == ["busy", 250, 2000]  # the body's ms before Retry-After's s
    # one frame, several messages: each applied in order, as if it had come alone
    assert found["array_seen"] == ["snapshot:1", "stock:2", "stock:3", "ordering:4", "ordering:5"]
    assert found["array_whys"] == ["snapshot", "applied", "applied", "applied"]
    assert found["array_state"] == [7, True, 5]
    assert found["array_order_ok"] is True and found["array_resync"] == 1
    assert found["array_junk_ignored"] is True
    assert found["first_ok"] is True
    assert found["resent_ok"] is True and found["resent_qty"] == 2
    assert found["resend_retry_flags"] == [False]  # tapped while down: its first frame
    assert found["repeat_same_order"] is True
    assert found["inflight_ok"] is True
    assert found["inflight_retry_flags"] == [False, True]  # resent after the reconnect
    assert found["sockets"] == 3 and found["snapshots"] == 3  # it reconnected and resynced
    assert "closed" in found["statuses"]
    assert found["initial_drawn"] is True and found["http_ok"] is True
    assert found["lost_answer_same_order"] is True and found["http_down_socket_orders"] is True
    assert found["handed_over_retry_flags"] == [True]  # the key went over HTTP first
    # HTTP busy: waited the body's 200 ms (not Retry-After's 1 s), then the same key as a retry
    assert found["http_busy_ok"] is True and 200 <= found["http_busy_waited"] < 1000
    assert found["http_busy_bodies"] == [
        ["http-busy-key-0001", False],
        ["http-busy-key-0001", True],
    ]
    assert found["http_busy_retries"] == [
        {"key": "http-busy-key-0001", "error": "busy", "retryIn": 200, "attempt": 1}
    ]
    assert stock == 10 - 1 - 2 - 1 - 3 - 1  # each resend, hand-over or busy retry took stock once
    assert len(keys) == len(set(keys)) == 7
    assert found["final_stock"] == stock


class TickRelay:
    """Between Node and the real server: the server's messages go on packed into one JSON array
    per tick, and the first order is answered `busy` here without reaching the server (so, as
    `busy` promises, nothing of it was applied). Everything else is the real server's."""

    TICK = 0.05

    def __init__(self, target: str, retry_after_ms: int) -> None:
        self.target = target
        self.retry_after_ms = retry_after_ms
        self.port = free_port()
        self.orders: list[dict[str, Any]] = []  # every order frame the client sent
        self.frames: list[int] = []  # messages in each frame passed on to the client

    async def handle(self, client: ServerConnection) -> None:
        assert client.request is not None
        async with connect(self.target + client.request.path) as server:
            tasks = [
                asyncio.create_task(self.down(server, client)),
                asyncio.create_task(self.up(client, server)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()

    async def down(self, server: ClientConnection, client: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = messages(await server.recv())
                until = loop.time() + self.TICK
                while (left := until - loop.time()) > 0:
                    try:
                        batch += messages(await asyncio.wait_for(server.recv(), left))
                    except TimeoutError:
                        break
                self.frames.append(len(batch))
                await client.send(json.dumps(batch))
        except ConnectionClosed:
            await client.close()

    async def up(self, client: ServerConnection, server: ClientConnection) -> None:
        async for text in client:
            frame = json.loads(text)
            if frame.get("type") == "order":
                self.orders.append(frame)
                if len(self.orders) == 1:
                    busy = {
                        "type": "order_result",
                        "key": frame["key"],
                        "ok": False,
                        "error": "busy",
                        "detail": "too many orders at once",
                        "retry_after_ms": self.retry_after_ms,
                    }
                    await client.send(json.dumps([busy]))
                    continue
            await server.send(text)
        await server.close()


def messages(text: str | bytes) -> list[Any]:
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize("backend", ["memory"])
async def test_busy_is_retried_after_the_hint_with_the_same_key_over_array_frames(
    live_server: LiveServer,
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.base, headers=headers) as http:
        sid, pid = await sale(http)
        relay = TickRelay(f"ws://127.0.0.1:{live_server.port}", retry_after_ms=300)
        async with serve(relay.handle, "127.0.0.1", relay.port):
            url = live_server.ws_url(sid, buyer="node-busy-0123456789")
            url = url.replace(str(live_server.port), str(relay.port))
            found = await run_node(BUSY_SCRIPT, url, pid)
        orders = (await http.get(f"/api/shows/{sid}/orders")).json()["orders"]
        stock = (await http.get(f"/api/products/{pid}")).json()["stock"]
    key = "busy-key-00000001"
    # refused busy once, told to the page, sent again after 300-450 ms with the same key
    assert [r["key"] for r in found["retries"]] == [key]
    assert 300 <= found["retries"][0]["retryIn"] <= 450 and found["retries"][0]["attempt"] == 1
    assert found["waited_ms"] >= 300
    assert [(o["key"], o.get("retry", False)) for o in relay.orders] == [(key, False), (key, True)]
    # the final answer is the server's, and the only one the page gets
    assert found["answer"] == {
        "ok": True,
        "error": None,
        "repeat": False,
        "key": key,
        "qty": 2,
        "stock": 8,
    }
    assert found["pending_left"] == 0
    assert [(o["key"], o["qty"]) for o in orders] == [(key, 2)] and stock == 8
    # every frame was an array and the state followed them: snapshot, answer, stock
    assert relay.frames and found["types"][0] == "snapshot" and "order_result" in found["types"]
    assert found["final_stock"] == 8


def test_the_close_code_table_is_mirrored_by_the_client_and_the_docs() -> None:
    """One close-code table: live.errors.CloseCode. The JS client and docs/protocol.md repeat it."""
    import re

    from live.errors import STOP_CODES, CloseCode

    root = Path(__file__).resolve().parents[2]
    script = (root / "static" / "live-client.js").read_text()
    block = re.search(r"export const CloseCode = Object\.freeze\(\{(.*?)\}\);", script, re.S)
    assert block, "live-client.js exports a CloseCode table"
    mirrored = dict(re.findall(r"(\w+): (\d+),", block.group(1)))
    assert {name: int(code) for name, code in mirrored.items()} == {
        code.name: code.value for code in CloseCode
    }
    stop = re.search(r"const STOP_CODES = new Set\(\[(.*?)\]\)", script)
    assert stop, "live-client.js names the codes it does not reconnect after"
    assert {CloseCode[name] for name in re.findall(r"CloseCode\.(\w+)", stop.group(1))} == set(
        STOP_CODES
    )
    docs = (root / "docs" / "protocol.md").read_text()
    rows = {int(code) for code in re.findall(r"^\| (\d{4}) \|", docs, re.M)}
    assert rows == {code.value for code in CloseCode}
