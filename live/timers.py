"""Deadlines that count the waiting, not the time the event loop was busy elsewhere.

An order may wait a deadline in a queue (LIVE_ORDER_DEADLINE): it bounds the wait for the
store, which the process can then refuse up front (`busy`). In a flash sale on a small machine
one turn of the event loop can last seconds (thousands of frames read in one turn). A plain
timer then fires in the same turn as the reply or the lane that would have served it, and
ahead of it: an order is withdrawn, or given up on, for time the loop spent on others, with
the store idle. `PatientTimer` fires only once the loop keeps time again: a timer whose wait
held more than `slack` of late loop turns (sampled by `LoopLag`), or that fires that late, is
armed again for as long.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

# How late a timer may fire and still count as on time (a loaded loop is always a bit late).
SLACK = 0.1
# How often the loop's lateness is sampled while patient timers wait.
_TICK = 0.05


class LoopLag:
    """The time a loop spent late, summed: a self-rescheduling callback every `_TICK` seconds
    adds how late it ran. It ticks only while patient timers wait (no task to leave behind)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weak: the loop keys the table of lags, and a closed loop must be free to go.
        self._loop_ref = weakref.ref(loop)
        self.total = 0.0
        self.waiting = 0  # patient timers armed
        self._due: float | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> LoopLag:
        lag = _LAGS.get(loop)
        if lag is None:
            lag = _LAGS[loop] = cls(loop)
        return lag

    def hold(self) -> None:
        self.waiting += 1
        loop = self._loop_ref()
        if self._due is None and loop is not None:
            self._due = loop.time() + _TICK
            loop.call_at(self._due, self._tick)

    def let_go(self) -> None:
        self.waiting -= 1

    def _tick(self) -> None:
        loop = self._loop_ref()
        if loop is None:
            return
        now = loop.time()
        if self._due is not None and now > self._due:
            self.total += now - self._due
        if self.waiting <= 0:
            self._due = None
            return
        self._due = now + _TICK
        loop.call_at(self._due, self._tick)


_LAGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLag] = weakref.WeakKeyDictionary()


class PatientTimer:
    __slots__ = (
        "_args",
        "_callback",
        "_due",
        "_handle",
        "_lag",
        "_lag_start",
        "_loop",
        "_slack",
        "rearmed",
    )

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
        self._lag = LoopLag.of(loop)
        self._lag.hold()
        self._lag_start = self._lag.total
        self._due = loop.time() + delay
        self._handle: asyncio.TimerHandle | None = loop.call_at(self._due, self._fire)
        self.rearmed = 0

    def _fire(self) -> None:
        now = self._loop.time()
        # Late turns while it waited (sampled), and how late this very call runs.
        missed = max(self._lag.total - self._lag_start, now - self._due)
        if missed > self._slack:
            # The loop was busy for `missed`: what this timer waits for (a lane, a reply) had
            # no turn meanwhile. Wait that long again, from now.
            self.rearmed += 1
            self._lag_start = self._lag.total
            self._due = now + missed
            self._handle = self._loop.call_at(self._due, self._fire)
            return
        self._done()
        self._callback(*self._args)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._done()

    def _done(self) -> None:
        if self._handle is not None:
            self._handle = None
            self._lag.let_go()
