"""Deadlines that count the waiting, not the time the event loop was busy elsewhere.

An order may wait a deadline in a queue (LIVE_ORDER_DEADLINE): it bounds the wait for the
store, which the process can then refuse up front (`busy`). In a flash sale on a small machine
one turn of the event loop can last seconds (thousands of frames read in one turn). A plain
timer then fires in the same turn as the reply or the lane that would have served it, and
ahead of it: an order is withdrawn, or given up on, for time the loop spent on others, with
the store idle. `PatientTimer` fires only once the loop keeps time again: a timer that fires
more than `slack` late is armed again for as long as it was late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

# How late a timer may fire and still count as on time (a loaded loop is always a bit late).
SLACK = 0.1


class PatientTimer:
    __slots__ = ("_args", "_callback", "_due", "_handle", "_loop", "_slack", "rearmed")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        delay: float,
        callback: Callable[..., Any],
        *args: Any,
        slack: float = SLACK,
    ) -> None:
        self._loop = loop
        self._callback = callback
        self._args = args
        self._slack = slack
        self._due = loop.time() + delay
        self._handle = loop.call_at(self._due, self._fire)
        self.rearmed = 0

    def _fire(self) -> None:
        now = self._loop.time()
        late = now - self._due
        if late > self._slack:
            # The loop was busy for `late`: what this timer waits for (a lane, a reply) had no
            # turn meanwhile. Wait that long again, from now.
            self.rearmed += 1
            self._due = now + late
            self._handle = self._loop.call_at(self._due, self._fire)
            return
        self._callback(*self._args)

    def cancel(self) -> None:
        self._handle.cancel()
