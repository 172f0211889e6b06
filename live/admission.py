"""The admission gate: how many orders this process lets wait for the store at once.

An order's answer must be true (docs/protocol.md, "busy"). A process that takes more orders
than its store can answer in time would either make them wait without bound or give up on
them while the store still runs them (the buyer told "failed" for an order that exists). The
gate refuses the excess up front instead, with `busy`: nothing was applied, try again after
`retry_after_ms`.

The bound is a deadline (LIVE_ORDER_DEADLINE): an order admitted now should be handed to the
store within it. With `rate` the orders per second the store gets through (measured), the
orders already waiting drain in `waiting / rate` seconds, so the gate admits up to
`rate * deadline` of them (never fewer than `floor`, so a slow store still makes progress).
The rate is measured as it happens: the orders this process gets answered per second while at
least `floor` of them are waiting (then the store's pace, not the buyers', sets it), counted
over windows of `window` seconds. (A per-order reading, `n` waiting at admission over the `t`
it took, is wrong when the time is the process's own busy loop rather than the queue: at ten
thousand viewers it read 25 orders/s while 2,600 a second were answered.) Before the first
window the gate assumes `cold_rate`. The estimate can be wrong; the deadline itself is kept
by the store (`Store.place_order(send_by=...)`): an order still queued when it passes is
withdrawn unsent, also answered `busy`, and tells the gate that the store got through fewer
than `n` in time.

Pure bookkeeping, no I/O and no await: the same rules for every backend.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Weight of one order's measurement in the latency estimate, and of a withdrawal's bound.
_ALPHA = 0.02
# Weight of one window's count in the rate: a few windows (a second) follow a change of pace.
_WINDOW_ALPHA = 0.5
# Bounds of a busy answer's retry hint, in milliseconds.
_MIN_RETRY_MS = 100
_MAX_RETRY_MS = 30_000


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted order: when it was let in, how many orders were waiting then (itself
    included), and the instant by which the store must have been handed it (`send_by`,
    `time.monotonic()` seconds) or it is withdrawn."""

    admitted_at: float
    send_by: float
    ahead: int


class AdmissionGate:
    def __init__(
        self,
        deadline: float,
        *,
        floor: int = 16,
        cold_rate: float = 4000.0,
        window: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if deadline <= 0:
            raise ValueError("the order deadline must be above 0")
        self.deadline = deadline
        self.floor = floor
        self.cold_rate = cold_rate
        self.window = window
        self._clock = clock
        self._window_start: float | None = None  # a backlog window being counted, if any
        self._window_answers = 0
        self.waiting = 0  # admitted orders the store has not answered yet
        # Orders per second the store gets through: answers counted per window while at least
        # `floor` orders wait (fewer, and the buyers' pace sets the count, not the store's).
        self.rate: float | None = None
        self.latency = 0.0  # seconds from admission to the store's answer, smoothed
        # Counters since start, for logs and tests.
        self.admitted = 0
        self.refused = 0
        self.withdrawn = 0
        self.answered = 0

    @property
    def capacity(self) -> int:
        """How many orders may wait for the store at once."""
        return max(self.floor, math.floor(self._rate * self.deadline))

    @property
    def _rate(self) -> float:
        return self.cold_rate if self.rate is None else self.rate

    def admit(self) -> Ticket | None:
        """A ticket for one more order, or None: this process cannot take it in time (`busy`)."""
        if self.waiting >= self.capacity:
            self.refused += 1
            return None
        now = self._clock()
        self.waiting += 1
        self.admitted += 1
        return Ticket(admitted_at=now, send_by=now + self.deadline, ahead=self.waiting)

    def leave(self, ticket: Ticket, *, answered: bool) -> None:
        """The ticket's order is over: `answered` by the store (accepted or refused by it), or
        not (the store did not answer)."""
        backlog = self.waiting >= self.floor
        took = self._over(ticket)
        if answered:
            self.answered += 1
            self.latency += (took - self.latency) * _ALPHA
        self._count_answer(backlog)

    def withdraw(self, ticket: Ticket) -> None:
        """The store withdrew the ticket's order unsent at its deadline (`busy`): it got
        through fewer than `ticket.ahead` orders in that time, so the rate can only fall."""
        took = self._over(ticket)
        self.withdrawn += 1
        bound = ticket.ahead / took
        if bound < self._rate:
            self._measure(bound)

    def retry_after_ms(self) -> int:
        """A busy answer's hint: how long the orders waiting here need to be answered, at the
        measured rate and latency (the client adds jitter, so retries do not come back as one
        wave)."""
        drain = self.waiting / max(self._rate, 1.0) + self.latency
        return min(_MAX_RETRY_MS, max(_MIN_RETRY_MS, math.ceil(drain * 1000)))

    def _count_answer(self, backlog: bool) -> None:
        """One order done: while a backlog waits, orders done per second is the store's pace."""
        now = self._clock()
        if not backlog:
            self._window_start = None  # the buyers' pace, not the store's
            return
        if self._window_start is None:
            self._window_start, self._window_answers = now, 0
            return
        self._window_answers += 1
        span = now - self._window_start
        if span >= self.window:
            self._measure(self._window_answers / span, _WINDOW_ALPHA)
            self._window_start, self._window_answers = now, 0

    def _over(self, ticket: Ticket) -> float:
        self.waiting -= 1
        return max(self._clock() - ticket.admitted_at, 1e-6)

    def _measure(self, sample: float, weight: float = _ALPHA) -> None:
        self.rate = self._rate + (sample - self._rate) * weight
