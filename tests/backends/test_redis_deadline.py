"""The Redis store's deadline (`answer_within`): a silent Redis still fails a step, but a loop
too busy to read a reply in time does not turn that reply into "Redis did not answer"."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from live.backends.redis.deadline import answer_within


async def test_a_reply_that_arrived_while_the_loop_was_busy_is_taken() -> None:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    try:

        def busy_turn() -> None:
            theirs.sendall(b"+OK\r\n")  # the reply arrives at once...
            time.sleep(0.3)  # ...while one turn of the loop takes longer than the deadline

        loop.call_soon(busy_turn)
        async with answer_within(0.1):
            assert await reader.readline() == b"+OK\r\n"
    finally:
        theirs.close()
        writer.close()
        await writer.wait_closed()


async def test_a_silent_peer_still_fails_just_after_the_deadline() -> None:
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with answer_within(0.05):
            await never
    assert time.monotonic() - started < 0.5
