"""Claims: orders wait here, not at the store, while the stock is spoken for.

In a flash sale every viewer taps at once: 10,000 orders for 2,000 units. Once the orders
already handed to the store ask for every unit this process knows is left, the next one can
only be accepted if one of those fails (a limit, a key already used). Sending it to the store
costs a round trip and a place in the admission gate's budget (the gate then refuses later
orders `busy`, though they would only have been `sold_out`); refusing it `sold_out` would be a
guess. So it waits here, parked, costing nothing, until the outcome is known:

- the units left (the process's view: its snapshot, events, and the stock each accepted answer
  reports) fall to 0 -> `sold_out`, the true answer, with no round trip;
- an order handed over fails, or stock comes back (a cancel, a restock) -> room opens and the
  parked orders that fit go on to the store, first come first served;
- the view can no longer tell (events lost, a lineup change, pre-orders) -> they all go on;
- it has waited `patience` seconds -> it goes on (the store decides; nothing waits forever).

Only first attempts are parked (a retry may name an order that exists, and goes straight to
the store), and only where the view knows the stock (`RoomHint`: None for "can't tell").
A parked order changes nothing, so whatever this bookkeeping gets wrong costs a round trip or
a wait, never an answer that isn't true.

Pure bookkeeping on the event loop: no I/O; the futures are the only awaits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from live.timers import PatientTimer

# (show id, product id, option id or None)
Key = tuple[str, str, str | None]
# The units of a product (an option) the process is sure are left, or None when it can't tell.
RoomHint = Callable[[str, str, str | None], int | None]


class SoldOutHere(Exception):
    """The view shows no unit left while the order was parked."""


@dataclass(slots=True, eq=False)
class _Parked:
    qty: int
    future: asyncio.Future[bool] = field(repr=False)  # True: holds a claim when it goes on
    at: float = 0.0  # loop time it parked


@dataclass(frozen=True, slots=True)
class Claim:
    """What an order holds while the store decides it; give it back with `Claims.release`."""

    key: Key
    qty: int
    counted: bool  # counted in the in-flight units of its key


class Claims:
    def __init__(self, room: RoomHint, *, patience: float = 1.0) -> None:
        self._room = room
        self.patience = patience
        self._in_flight: defaultdict[Key, int] = defaultdict(int)
        self._parked: dict[Key, deque[_Parked]] = {}
        # One patience timer per key with parked orders, for its oldest (thousands of timers,
        # each armed again on every late turn of a flash sale, cost a sixth of the loop).
        self._sweepers: dict[Key, PatientTimer] = {}
        # Counters since start, for metrics and tests.
        self.parked = 0
        self.sold_out = 0
        self.gave_up = 0

    def in_flight(self, key: Key) -> int:
        return self._in_flight.get(key, 0)

    def waiting(self, key: Key | None = None) -> int:
        """Orders parked now (for one key, or in all)."""
        queues = [self._parked.get(key, deque())] if key is not None else self._parked.values()
        return sum(1 for q in queues for p in q if not p.future.done())

    async def claim(self, key: Key, qty: int) -> Claim:
        """Wait, if the units left are spoken for, until this order may go on to the store;
        the claim it then holds. Raises `SoldOutHere` when the view shows none left."""
        room = self._room(*key)
        if room is None:
            return Claim(key, qty, counted=False)
        if room <= 0:
            raise SoldOutHere
        busy = self._in_flight.get(key, 0)
        self._prune(key)  # drop those gone from the front
        if not self._parked.get(key) and (room - busy >= qty or busy == 0):
            # It fits beside what is in flight, or nothing is in flight to wait for (an order
            # for more than is left: the store answers that).
            return self._count(key, qty)
        return await self._park(key, qty)

    def release(self, claim: Claim, *, settle_after: float = 0.0) -> None:
        """The store answered the claim's order (or failed to). When it was accepted, the
        view already holds the stock the answer reported, so the room does not grow. With
        `settle_after`, the parked orders are let go only that many seconds later (the order
        was refused `busy` before the store: the next ones would be too, at once)."""
        if not claim.counted:
            return
        left = self._in_flight[claim.key] - claim.qty
        if left > 0:
            self._in_flight[claim.key] = left
        else:
            del self._in_flight[claim.key]
        if settle_after > 0:
            asyncio.get_running_loop().call_later(settle_after, self._settle, claim.key)
        else:
            self._settle(claim.key)

    def changed(self, show_id: str) -> None:
        """The view of a show changed (an event, a snapshot, or it became unsure): the parked
        orders of its products may go on, or be sold out."""
        for key in [k for k in self._parked if k[0] == show_id]:
            self._settle(key)

    # --- inside ------------------------------------------------------------------------------

    def _count(self, key: Key, qty: int) -> Claim:
        self._in_flight[key] += qty
        return Claim(key, qty, counted=True)

    async def _park(self, key: Key, qty: int) -> Claim:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._parked.setdefault(key, deque()).append(_Parked(qty, future, loop.time()))
        self.parked += 1
        if key not in self._sweepers:
            # Patient: a loop turn spent reading a sale's frames is not time spent waiting.
            self._sweepers[key] = PatientTimer(loop, self.patience, self._sweep, key)
        try:
            counted = await future
        except asyncio.CancelledError:  # the buyer's socket went: it never goes on
            if not future.done():
                future.cancel()
                self._prune(key)
            elif not future.cancelled() and future.exception() is None and future.result():
                self.release(Claim(key, qty, counted=True))  # woken with a claim: give it back
            raise
        return Claim(key, qty, counted=counted)

    def _sweep(self, key: Key) -> None:
        """The oldest parked order of `key` waited its patience: it, and any as old, go on to
        the store (they count like any order sent)."""
        self._sweepers.pop(key, None)
        queue = self._parked.get(key)
        if not queue:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        while queue:
            parked = queue[0]
            if not parked.future.done():
                left = parked.at + self.patience - now
                if left > 0.001:
                    self._sweepers[key] = PatientTimer(loop, left, self._sweep, key)
                    return
                self.gave_up += 1
                self._go_on(key, parked)
            queue.popleft()
        self._drop(key)

    def _prune(self, key: Key) -> None:
        """Drop the parked orders that left early (patience ran out, buyer gone) from the
        front of the queue. Those further in stay until they reach the front: their futures
        are done, so `_settle` passes over them (removing each from the middle is a scan, and
        thousands timing out at once made that quadratic)."""
        queue = self._parked.get(key)
        if queue is None:
            return
        while queue and queue[0].future.done():
            queue.popleft()
        if not queue:
            self._drop(key)

    def _settle(self, key: Key) -> None:
        """Let go, in arrival order, every parked order of `key` that now has its answer or
        fits in the room left."""
        queue = self._parked.get(key)
        if not queue:
            return
        room = self._room(*key)
        while queue:
            parked = queue[0]
            if parked.future.done():  # timed out or cancelled; it unparks itself
                queue.popleft()
                continue
            if room is None:
                parked.future.set_result(False)  # the view can't tell: the store decides
            elif room <= 0:
                self.sold_out += 1
                parked.future.set_exception(SoldOutHere())
            else:
                busy = self._in_flight.get(key, 0)
                if room - busy < parked.qty and busy > 0:
                    break  # still spoken for: wait for the orders in flight
                self._go_on(key, parked)
            queue.popleft()
        if not queue:
            self._drop(key)

    def _go_on(self, key: Key, parked: _Parked) -> None:
        """A parked order goes on to the store, counted in flight like any order sent."""
        self._in_flight[key] += parked.qty
        parked.future.set_result(True)

    def _drop(self, key: Key) -> None:
        """No order of `key` is parked any more: forget its queue and its patience timer."""
        self._parked.pop(key, None)
        self._stop_sweeper(key)

    def _stop_sweeper(self, key: Key) -> None:
        sweeper = self._sweepers.pop(key, None)
        if sweeper is not None:
            sweeper.cancel()
