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
The rate is measured by Little's law on each order that waited behind a backlog: admitted
with `n` orders waiting (itself included) and answered `t` seconds later, it saw the store get
through `n` orders in `t`. Before the first such order the gate assumes `cold_rate`. The
estimate can be wrong; the deadline itself is kept by the store
(`Store.place_order(send_by=...)`): an order still queued when it passes is withdrawn unsent,
also answered `busy`, and tells the gate that the store got through fewer than `n` in time.

Pure bookkeeping, no I/O and no await: the same rules for every backend.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Weight of one order's measurement in the rate and latency estimates.
_ALPHA = 0.02
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if deadline <= 0:
            raise ValueError("the order deadline must be above 0")
        self.deadline = deadline
        self.floor = floor
        self.cold_rate = cold_rate
        self._clock = clock
        self.waiting = 0  # admitted orders the store has not answered yet
        # Orders per second the store gets through, measured on orders that waited behind at
        # least `floor` others (alone, an order's time says how fast one step is, not how
        # many the store can take).
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
        took = self._over(ticket)
        if answered:
            self.answered += 1
            self.latency += (took - self.latency) * _ALPHA
        if ticket.ahead >= self.floor:
            self._measure(ticket.ahead / took)

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

    def _over(self, ticket: Ticket) -> float:
        self.waiting -= 1
        return max(self._clock() - ticket.admitted_at, 1e-6)

    def _measure(self, sample: float) -> None:
        self.rate = self._rate + (sample - self._rate) * _ALPHA
