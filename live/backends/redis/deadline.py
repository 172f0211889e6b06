"""A deadline for "Redis did not answer" that a busy event loop cannot fake.

`asyncio.timeout` fires when its time is up, even if the reply had already arrived: when one
turn of the event loop takes longer than the deadline (ten thousand order frames landing at
once), the timer runs in the same turn as the read of the reply, before the waiting step is
resumed to take it. The store would then answer `unavailable` for a step Redis answered in
time. `answer_within` lets the loop take a few more turns after the time is up (each turn
reads what has arrived and resumes the steps it woke) before it gives up: a silent or frozen
Redis still fails the step, a millisecond or so after the deadline on an idle loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from live.timers import PatientTimer

# Loop turns granted after the time is up: a pipeline's reply may take several reads, each a turn.
TURNS = 8


@asynccontextmanager
async def answer_within(seconds: float) -> AsyncIterator[None]:
    """Like `asyncio.timeout(seconds)` (raises TimeoutError), judged after the loop has handled
    what had already arrived by then."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as scope:
        done = False

        def turn(left: int) -> None:
            if done:
                return
            if left == 0:
                scope.reschedule(loop.time())  # expire now
            else:
                loop.call_soon(turn, left - 1)

        # Patient too (live/timers.py): a turn that lasted past the deadline is the loop's
        # time, not Redis's silence.
        timer = PatientTimer(loop, seconds, turn, TURNS)
        try:
            yield
        finally:
            done = True
            timer.cancel()
