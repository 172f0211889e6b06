"""A real uvicorn server in a background thread, for socket tests over real TCP."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from live.app import create_app
from live.config import Settings
from live.tools.devredis import free_port


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = settings.with_overrides(port=self.port)
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, show_id: str, **params: str) -> str:
        query = urlencode(params)
        return f"ws://127.0.0.1:{self.port}/ws/shows/{show_id}" + (f"?{query}" if query else "")

    def overlay_url(self, show_id: str, key: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/shows/{show_id}/overlay?key={key}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def receive(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message = json.loads(raw)
    assert isinstance(message, dict)
    return message


async def receive_until(
    ws: ClientConnection, predicate: Any, timeout: float = 5.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read until a message matches; returns it and everything read before it."""
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no matching message within {timeout} s; saw {seen[-5:]}")
        message = await receive(ws, left)
        if predicate(message):
            return message, seen
        seen.append(message)


async def make_show(
    http: Any,
    *,
    stock: int = 10,
    products: int = 1,
    feature: bool = True,
    all_on_sale: bool = False,
    **fields: Any,
) -> tuple[str, list[str], str]:
    """Products and an open show over the host API: (show id, product ids, overlay key).
    The first product is featured (so on sale); `all_on_sale` puts every product on sale."""
    ids = []
    for i in range(products):
        r = await http.post(
            "/api/products", json={"name": f"Honey {i}", "price": 1000, "stock": stock, **fields}
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await http.post("/api/shows", json={"title": "Harvest night", "product_ids": ids})
    assert r.status_code == 201, r.text
    show = r.json()
    assert (await http.post(f"/api/shows/{show['id']}/ordering", json={"open": True})).is_success
    if feature:
        r = await http.post(f"/api/shows/{show['id']}/featured", json={"product_id": ids[0]})
        assert r.is_success, r.text
    for pid in ids if all_on_sale else []:
        r = await http.post(
            f"/api/shows/{show['id']}/on_sale", json={"product_id": pid, "on_sale": True}
        )
        assert r.is_success, r.text
    return show["id"], ids, show["overlay_key"]


def buyer() -> str:
    return "buyer-" + secrets.token_hex(8)


def key() -> str:
    return "k" + secrets.token_hex(8)


__all__ = ["LiveServer", "buyer", "connect", "key", "make_show", "receive", "receive_until"]
