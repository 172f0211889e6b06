"""Holds (issue 14): claims not paid in time expire, their units back in stock.

Each server process runs one sweeper. Deadlines live in the store (a sorted set on Redis), so
whichever processes run, die or restart, a due claim is expired by the next sweep of any of
them; the store's expiry step is atomic and expires an order once, so sweepers racing each
other never restock twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from live.errors import LiveError
from live.service import Service

log = logging.getLogger("live.holds")


async def run_sweeper(service: Service, interval: float, stop: asyncio.Event) -> None:
    """Expire due claims every `interval` seconds until `stop` is set. A store that does not
    answer is tried again at the next sweep (the deadlines wait in the store meanwhile)."""
    while not stop.is_set():
        try:
            expired = await service.expire_due()
        except LiveError as exc:  # Unavailable, Busy: the next sweep tries again
            log.warning("hold sweep failed: %s", exc)
        else:
            if expired:
                log.info("expired %d unpaid claim(s)", len(expired))
        # Sleeps until the next sweep, or returns at once when the process stops.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
