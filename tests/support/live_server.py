"""A real uvicorn server in a background thread, for socket tests over real TCP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlencode

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from live.app import create_app
from live.config import Settings
from live.tools.devredis import free_port
from live.web.lean import LeanWebSocketProtocol


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
            ws=LeanWebSocketProtocol,  # as `live serve` runs
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


# Messages of a frame that held several (a JSON array, docs/protocol.md "Frames") not yet read.
_unread: weakref.WeakKeyDictionary[ClientConnection, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def receive(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    """The next message: a frame holds one, or a JSON array of them read in order."""
    unread = _unread.get(ws)
    if unread:
        return unread.pop(0)
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message = json.loads(raw)
    if isinstance(message, list):
        assert message and all(isinstance(m, dict) for m in message), raw
        _unread[ws] = message[1:]
        message = message[0]
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


__all__ = ["LiveServer", "connect", "receive", "receive_until"]
