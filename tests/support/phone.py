"""A Python twin of static/live-client.js for fault tests: one buyer's socket that reconnects
with full-jitter backoff, resyncs from each snapshot and resends unanswered orders with the
same keys (marked `"retry": true`, as every resend of a key must be), and retries `busy` after
its hint — what a phone does through a crash."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect


@dataclass
class Phone:
    urls: list[str]  # tried in turn: a second server is where a phone lands after a failover
    buyer: str = field(default_factory=lambda: "phone-" + secrets.token_hex(8))
    max_backoff: float = 15.0
    snapshots: int = 0
    stock: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    statuses: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> order_result
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> order frame
    sent: set[str] = field(default_factory=set)  # keys sent at least once: resends are retries
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _ws: Any = None
    _task: asyncio.Task[None] | None = None
    _attempt: int = 0
    closes: int = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def _run(self) -> None:
        while True:
            url = self.urls[self._attempt % len(self.urls)] if self._attempt else self.urls[0]
            try:
                async with connect(
                    f"{url}?buyer={self.buyer}",
                    open_timeout=5,
                    ping_interval=None,
                    compression=None,
                ) as ws:
                    self._ws = ws
                    async for raw in ws:
                        data = json.loads(raw)  # one message, or an array of them in order
                        for message in data if isinstance(data, list) else [data]:
                            await self._on(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            self._ws = None
            self.connected.clear()
            self.closes += 1
            delay = random.uniform(0, min(self.max_backoff, 0.5 * 2**self._attempt))
            self._attempt += 1
            await asyncio.sleep(delay)

    async def _on(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == "snapshot":
            self.snapshots += 1
            self._attempt = 0
            self.paused = False
            self.stock = {p["id"]: p["stock"] for p in m["products"]}
            self.versions = {p["id"]: p["version"] for p in m["products"]}
            self.connected.set()
            for key in list(self.pending):  # same key: never a second order
                await self._send(key)
        elif kind == "stock":
            if m["version"] > self.versions.get(m["product_id"], -1):
                self.stock[m["product_id"]] = m["stock"]
                self.versions[m["product_id"]] = m["version"]
        elif kind == "status":
            self.paused = bool(m.get("ordering_paused"))
            self.statuses.append(m)
        elif kind == "order_result":
            key = m["key"]
            if key in self.pending and m.get("error") not in ("unavailable", "busy"):
                del self.pending[key]
                self.results[key] = m
            elif key in self.pending:
                self.results[key] = m  # "unavailable" or "busy": kept pending, resent later
                if m.get("error") == "busy":
                    wait = m.get("retry_after_ms", 1000) / 1000 * random.uniform(1, 1.5)
                    asyncio.get_running_loop().call_later(
                        wait, lambda: asyncio.ensure_future(self._send(key))
                    )

    async def order(self, product_id: str, qty: int = 1) -> str:
        key = "k" + secrets.token_hex(8)
        frame = {"type": "order", "product_id": product_id, "qty": qty, "key": key}
        self.pending[key] = frame
        if self._ws is not None and self.connected.is_set():
            await self._send(key)
        return key

    async def _send(self, key: str) -> None:
        frame = self.pending.get(key)
        if frame is None or self._ws is None:
            return  # answered meanwhile, or offline: the next snapshot resends it
        if key in self.sent:
            frame = {**frame, "retry": True}
        self.sent.add(key)
        with contextlib.suppress(Exception):
            await self._ws.send(json.dumps(frame))

    def accepted(self) -> dict[str, str]:
        """key -> order id of every order this phone saw acknowledged."""
        return {k: r["order"]["id"] for k, r in self.results.items() if r.get("ok")}


async def wait_until(check: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await asyncio.sleep(step)
    return bool(check())
