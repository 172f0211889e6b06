"""The memory store's event bus and its feed (one process, nothing crosses a network)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from live.backends.base import Deliver, Feed, Resync
from live.events import ShowEvent, decode_event, encode_event

log = logging.getLogger("live.feed")

Listener = Callable[[str, bytes], None]


class LocalBus:
    """Where the memory store publishes; events are encoded to JSON and decoded again on
    delivery, exactly as they would cross Redis, so nothing shares state by accident and an
    event that could not cross Redis fails here too."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def publish(self, show_id: str, event: ShowEvent) -> None:
        if not self._listeners:
            return  # nobody listens (a tool, a benchmark): no need to encode
        payload = encode_event(event)
        for listener in list(self._listeners):
            listener(show_id, payload)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


class LocalFeed(Feed):
    """Delivers the bus's events synchronously, in publication order; nothing is ever lost
    short of an event that does not decode, which resyncs its show."""

    def __init__(self, bus: LocalBus) -> None:
        self._bus = bus
        self._shows: set[str] = set()
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._background: set[asyncio.Task[None]] = set()

    def _on_publish(self, show_id: str, payload: bytes) -> None:
        if self._deliver is None or show_id not in self._shows:
            return
        try:
            event = decode_event(payload)
        except msgspec.DecodeError:
            # Never raise into the store step that published: the event counts as lost.
            log.error("show %s: undecodable event %.200r; resyncing", show_id, payload)
            if self._resync is not None:
                task = asyncio.get_running_loop().create_task(self._resync({show_id}))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            return
        self._deliver(show_id, event)

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync
        self._bus.listen(self._on_publish)

    async def subscribe(self, show_id: str) -> None:
        self._shows.add(show_id)

    async def unsubscribe(self, show_id: str) -> None:
        self._shows.discard(show_id)

    async def close(self) -> None:
        self._bus.unlisten(self._on_publish)
        self._deliver = self._resync = None
