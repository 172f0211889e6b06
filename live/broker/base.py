"""The broker contract.

Guarantees: events of one show reach `deliver` in the order the store published them (their
seq order), at most once. Delivery can break (a dropped Redis connection, a silent subscription);
when the broker notices, it calls `resync` with the shows whose events may have been lost, after
it is subscribed again, so the hub can send those clients a fresh snapshot.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Coroutine
from typing import Any

# deliver(show_id, event): called synchronously for each event, in order.
Deliver = Callable[[str, dict[str, Any]], None]
# resync(show_ids): events of these shows may have been lost.
Resync = Callable[[set[str]], Coroutine[Any, Any, None]]


class Broker(abc.ABC):
    # Called (synchronously) when the event feed is lost, e.g. Redis went away; the hub tells
    # clients that ordering is paused until the resync that follows the reconnection.
    on_down: Callable[[], None] | None = None

    @abc.abstractmethod
    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Begin delivering; nothing is subscribed yet."""

    @abc.abstractmethod
    async def subscribe(self, show_id: str) -> None:
        """Return once every event the store publishes for the show from now on is delivered."""

    @abc.abstractmethod
    async def unsubscribe(self, show_id: str) -> None:
        """Stop delivering the show's events."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop everything; no call to `deliver` after this returns."""
