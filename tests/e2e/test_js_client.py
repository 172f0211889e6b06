"""static/live-client.js, run in Node against a real server: state rules, reconnect, resend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.support.live_server import LiveServer
from tests.support.node import node

SCRIPT = Path(__file__).resolve().parent / "js" / "client_check.mjs"


@pytest.mark.parametrize("backend", ["memory"])
async def test_the_shared_client_keeps_state_reconnects_and_resends(
    live_server: LiveServer,
) -> None:
    binary = node()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.base, headers=headers) as http:
        pid = (
            await http.post("/api/products", json={"name": "Tea", "price": 100, "stock": 10})
        ).json()["id"]
        sid = (await http.post("/api/shows", json={"title": "t", "product_ids": [pid]})).json()[
            "id"
        ]
        await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
        await http.post(f"/api/shows/{sid}/featured", json={"product_id": pid})
        url = live_server.ws_url(sid, buyer="node-client-0123456789")
        proc = await asyncio.create_subprocess_exec(
            binary,
            "--experimental-websocket",
            "--no-warnings",
            str(SCRIPT),
            url,
            pid,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        found = json.loads(out.decode().strip().splitlines()[-1])
        stock = (await http.get(f"/api/products/{pid}")).json()["stock"]
    assert (
        found["stale_stock"] == "stale"
        and found["newer_stock"] == "applied"
        and found["stock_now"] == 4
    )
    assert found["linked_event"] == "applied" and found["closed_keeps_on_sale"] is True
    assert found["gap"] == "gap"
    assert found["deal_on"] is True and found["deal_gone"] is True
    assert found["backoff"] == sorted(found["backoff"]) and max(found["backoff"]) < 15000
    assert found["first_ok"] is True
    assert found["resent_ok"] is True and found["resent_qty"] == 2
    assert found["sockets"] == 2 and found["snapshots"] == 2  # it reconnected and resynced
    assert found["repeat_same_order"] is True
    assert "closed" in found["statuses"]
    assert found["initial_drawn"] is True and found["http_ok"] is True
    assert found["lost_answer_same_order"] is True and found["http_down_socket_orders"] is True
    assert stock == 10 - 1 - 2 - 3  # each resend or hand-over took stock once
    assert found["final_stock"] == stock


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
