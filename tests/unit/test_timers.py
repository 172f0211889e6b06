"""PatientTimer (live/timers.py): a deadline that counts waiting, not a loop held elsewhere."""

from __future__ import annotations

import asyncio
import time

from live.timers import PatientTimer


async def test_it_fires_at_its_time_on_a_loop_that_keeps_time() -> None:
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    started = loop.time()
    PatientTimer(loop, 0.05, lambda: fired.append(loop.time()))
    await asyncio.sleep(0.2)
    assert len(fired) == 1 and 0.04 <= fired[0] - started < 0.15


async def test_a_loop_held_past_the_deadline_gives_that_time_back() -> None:
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    timer = PatientTimer(loop, 0.05, lambda: fired.append(loop.time()), slack=0.02)
    time.sleep(0.3)  # one long turn: what the timer waits for had no turn either
    held_until = loop.time()
    for _ in range(3):  # a few quick turns: the late timer runs in one of them
        await asyncio.sleep(0)
    assert fired == [] and timer.rearmed == 1  # armed again for as long as it was late
    await asyncio.sleep(0.5)
    assert len(fired) == 1 and fired[0] - held_until >= 0.2


async def test_a_cancelled_timer_never_fires_even_after_rearming() -> None:
    loop = asyncio.get_running_loop()
    fired: list[int] = []
    timer = PatientTimer(loop, 0.02, lambda: fired.append(1), slack=0.01)
    time.sleep(0.1)
    await asyncio.sleep(0)
    timer.cancel()
    await asyncio.sleep(0.3)
    assert fired == []


async def test_late_turns_during_the_wait_count_even_if_the_last_one_is_on_time() -> None:
    """Three busy turns while it waits, then a quiet loop at its due time: the busy time is
    given back, though the call itself would run on time."""
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    started = loop.time()
    timer = PatientTimer(loop, 0.5, lambda: fired.append(loop.time()), slack=0.05)
    for _ in range(3):
        time.sleep(0.12)  # a busy turn
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.7)
    assert timer.rearmed >= 1
    assert fired and fired[0] - started >= 0.5 + 0.15  # most of the 0.36 s held, sampled
