"""The memory store's event bus and its broker (one process, nothing crosses a network)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from live.broker.base import Broker, Deliver, Resync

Listener = Callable[[str, bytes], None]


class LocalBus:
    """Where the memory store publishes; events are encoded to JSON and decoded again on
    delivery, exactly as they would cross Redis, so nothing shares state by accident."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def publish(self, show_id: str, event: Mapping[str, Any]) -> None:
        payload = msgspec.json.encode(event)
        for listener in list(self._listeners):
            listener(show_id, payload)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


class LocalBroker(Broker):
    def __init__(self, bus: LocalBus) -> None:
        self._bus = bus
        self._shows: set[str] = set()
        self._deliver: Deliver | None = None

    def _on_publish(self, show_id: str, payload: bytes) -> None:
        if self._deliver is not None and show_id in self._shows:
            self._deliver(show_id, msgspec.json.decode(payload))

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver = deliver
        self._bus.listen(self._on_publish)

    async def subscribe(self, show_id: str) -> None:
        self._shows.add(show_id)

    async def unsubscribe(self, show_id: str) -> None:
        self._shows.discard(show_id)

    async def close(self) -> None:
        self._bus.unlisten(self._on_publish)
        self._deliver = None
