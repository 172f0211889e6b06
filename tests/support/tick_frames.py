"""A Playwright route for a page's show socket with the real server on the other end: the
server's messages reach the page packed into one JSON array per tick (a frame may hold several,
docs/protocol.md "Frames"), and the page's first order can be answered `busy` on the way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any


class TickFrames:
    """Attach to a page (or context) before it opens its socket. With `busy_retry_after_ms`, the
    first order frame never reaches the server: it is answered `busy` with that hint, which
    promises nothing was applied, so the client's retry is the order's one real arrival."""

    def __init__(self, *, tick_ms: int = 50, busy_retry_after_ms: int | None = None) -> None:
        self.tick = tick_ms / 1000
        self.busy_retry_after_ms = busy_retry_after_ms
        self.orders: list[dict[str, Any]] = []  # every order frame the page sent
        self.frames: list[list[dict[str, Any]]] = []  # every frame the page was sent
        self.busy_key: str | None = None

    async def attach(self, target: Any) -> None:
        await target.route_web_socket(re.compile(r"/ws/shows/"), self._route)

    def _route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        loop = asyncio.get_running_loop()
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            frame = batch.copy()
            batch.clear()
            self.frames.append(frame)
            # the page's socket may have closed within the tick: then there is nobody to tell
            with contextlib.suppress(Exception):
                ws.send(json.dumps(frame))

        def to_page(*messages: dict[str, Any]) -> None:
            if not batch:
                loop.call_later(self.tick, flush)
            batch.extend(messages)

        def from_server(text: str | bytes) -> None:
            data = json.loads(text)
            to_page(*(data if isinstance(data, list) else [data]))

        def from_page(text: str | bytes) -> None:
            frame = json.loads(text)
            if frame.get("type") == "order":
                self.orders.append(frame)
                if self.busy_retry_after_ms is not None and self.busy_key is None:
                    self.busy_key = frame["key"]
                    to_page(
                        {
                            "type": "order_result",
                            "key": frame["key"],
                            "ok": False,
                            "error": "busy",
                            "detail": "too many orders at once",
                            "retry_after_ms": self.busy_retry_after_ms,
                        }
                    )
                    return
            server.send(text)

        server.on_message(from_server)
        ws.on_message(from_page)
