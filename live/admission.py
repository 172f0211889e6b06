"""The admission gate: how many orders this process lets wait for the store at once.

An order's answer must be true (docs/protocol.md, "busy"). A process that takes more orders
than its store can answer in time would either make them wait without bound or give up on
them while the store still runs them (the buyer told "failed" for an order that exists). The
gate refuses the excess up front instead, with `busy`: nothing was applied, try again after
`retry_after_ms`.

The bound is a deadline (LIVE_ORDER_DEADLINE): an order admitted now should be handed to the
store within it. With `rate` the orders per second the store answered while orders were
queued here (measured), the orders already waiting drain in `waiting / rate` seconds, so the
gate admits up to `rate * deadline` of them (never fewer than `floor`, so a slow store still
makes progress, and before the first measurement it assumes `cold_rate`). The estimate can be
wrong; the deadline itself is kept by the store (`Store.place_order(send_by=...)`): an order
still queued when it passes is withdrawn unsent, also answered `busy`.

Pure bookkeeping, no I/O and no await: the same rules for every backend.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# A throughput sample covers at least this much time with orders queued (several batches).
_WINDOW = 0.1
# Bounds of a busy answer's retry hint, in milliseconds.
_MIN_RETRY_MS = 100
_MAX_RETRY_MS = 30_000


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted order: when it was let in, and the instant by which the store must have
    been handed it (`send_by`, `time.monotonic()` seconds) or it is withdrawn."""

    admitted_at: float
    send_by: float


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
        # Orders per second the store answered while at least `floor` were waiting here (when
        # fewer wait, what it answers says how busy the buyers are, not how fast the store is).
        self.rate: float | None = None
        self.latency = 0.0  # seconds from admission to the store's answer, smoothed
        # Counters since start, for logs and tests.
        self.admitted = 0
        self.refused = 0
        self.withdrawn = 0
        self.answered = 0
        self._sample_time = 0.0
        self._sample_answered = 0
        self._last = clock()

    @property
    def capacity(self) -> int:
        """How many orders may wait for the store at once."""
        rate = self.cold_rate if self.rate is None else self.rate
        return max(self.floor, math.floor(rate * self.deadline))

    def admit(self) -> Ticket | None:
        """A ticket for one more order, or None: this process cannot take it in time (`busy`)."""
        now = self._tick()
        if self.waiting >= self.capacity:
            self.refused += 1
            return None
        self.waiting += 1
        self.admitted += 1
        return Ticket(admitted_at=now, send_by=now + self.deadline)

    def leave(self, ticket: Ticket, *, answered: bool) -> None:
        """The ticket's order is over: `answered` by the store (accepted or refused by it), or
        not (withdrawn unsent, or the store did not answer)."""
        now = self._tick()
        self.waiting -= 1
        if answered:
            self.answered += 1
            self._sample_answered += 1
            self.latency += (now - ticket.admitted_at - self.latency) * 0.1
        # A store that stops answering makes the samples fall to 0, and the gate narrows.
        if self._sample_time >= _WINDOW:
            sample = self._sample_answered / self._sample_time
            self.rate = sample if self.rate is None else (self.rate + sample) / 2
            self._sample_time = 0.0
            self._sample_answered = 0

    def withdraw(self, ticket: Ticket) -> None:
        """The store withdrew the ticket's order unsent at its deadline (`busy`)."""
        self.withdrawn += 1
        self.leave(ticket, answered=False)

    def retry_after_ms(self) -> int:
        """A busy answer's hint: how long the orders waiting here need to be answered, at the
        measured rate and latency (the client adds jitter, so retries do not come back as one
        wave)."""
        rate = self.cold_rate if self.rate is None else self.rate
        drain = self.waiting / max(rate, 1.0) + self.latency
        return min(_MAX_RETRY_MS, max(_MIN_RETRY_MS, math.ceil(drain * 1000)))

    def _tick(self) -> float:
        """Count the time since the last event as sample time if the store was saturated."""
        now = self._clock()
        if self.waiting >= self.floor:
            self._sample_time += now - self._last
        self._last = now
        return now
