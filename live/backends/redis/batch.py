"""Send concurrent calls of one Lua script to Redis in pipelines instead of one by one.

A flash sale is thousands of near-simultaneous order steps. Sent one per round trip, each pays
a socket write, a wake-up and a reply parse; gathered into one pipeline, a whole batch pays them
once. Each script call is still its own atomic step on the server (a pipeline is not a
transaction), so batching changes speed, never results.

A call is first *queued* (in this process: waiting for a lane, then for a connection), then
*sent* (committed to a pipeline). The difference is what an answer can promise:

- A queued call can be withdrawn: at its `send_by` deadline, or when its caller goes away. It
  then raises `Withdrawn` and is never sent, so it never runs.
- A sent call is waited for, however long the queue before it was: its caller gets its own
  reply, or the reason Redis did not give one (a lost connection, or no reply to the pipeline
  within `reply_timeout`: the outcome is then unknown, as for any unanswered request).

NOSCRIPT replies (Redis restarted, script cache flushed) mean the call did not run: the script
is loaded and those calls are sent again.

With `wait=(replicas, ms)`, each pipeline ends with one `WAIT replicas ms`: the batch's writes
are answered only once that many replicas hold them (one WAIT per batch, not per call). A call
whose reply says it wrote (`wrote(reply)`) when fewer replicas acknowledged in time raises
`NotReplicated`: it is applied on the primary but could be lost at a failover, so its outcome
is unknown to the caller; calls that wrote nothing keep their answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc

from live.backends.redis.deadline import answer_within
from live.timers import PatientTimer


class Withdrawn(Exception):
    """The call was still queued at its deadline: it was never sent and never runs."""


class NotReplicated(rexc.TimeoutError):
    """The call wrote on the primary, but too few replicas acknowledged it within WAIT's time.
    A timeout, not a lost connection: trying again would only read the primary's answer."""


class _Call:
    __slots__ = ("args", "future", "keys", "sent")

    def __init__(
        self, keys: Sequence[str], args: Sequence[str | int | float], future: asyncio.Future[Any]
    ) -> None:
        self.keys = keys
        self.args = args
        self.future = future
        self.sent = False


def _withdraw(call: _Call) -> None:
    if not call.sent and not call.future.done():
        call.future.set_exception(Withdrawn())


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class ScriptBatcher:
    def __init__(
        self,
        redis: aioredis.Redis,
        source: str,
        *,
        slots: asyncio.Semaphore,
        reply_timeout: float,
        # Up to 1,024 calls a pipeline: a flash sale's first wave is read in one long loop turn,
        # and the lanes then have one turn to send it before the deadline (docs/performance.md:
        # at 10,000 viewers 256 left 850-2,400 admitted orders withdrawn unsent, 1,024 150-800;
        # 2,048 answered some `unavailable`, its replies read too late).
        max_batch: int = 1024,
        lanes: int = 4,
        wait: tuple[int, int] | None = None,
        wrote: Callable[[Any], bool] = lambda reply: True,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(source)
        self._slots = slots
        self._reply_timeout = reply_timeout
        self._max_batch = max_batch
        self._max_lanes = lanes
        self._lanes = 0
        self._wait = wait
        self._wrote = wrote
        self._pending: deque[_Call] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        """Calls waiting to be sent (withdrawn ones included until a lane drops them)."""
        return len(self._pending)

    async def __call__(
        self,
        keys: Sequence[str],
        args: Sequence[str | int | float],
        *,
        send_within: float | None = None,
    ) -> Any:
        """The script's reply. `send_within`: seconds the call may stay queued before it is
        withdrawn (`Withdrawn`); None: it waits for its turn however long."""
        loop = asyncio.get_running_loop()
        call = _Call(keys, args, loop.create_future())
        self._pending.append(call)
        if self._lanes < self._max_lanes:
            # A few lanes in flight at once: while one batch waits for Redis, the next gathers.
            self._lanes += 1
            task = asyncio.create_task(self._lane())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Patient: a loop turn that lasted past the deadline (thousands of frames read in it)
        # is not time this call waited for Redis (live/timers.py). One already past it (its
        # reads before this queue took a long turn) still gets the lanes' next turn.
        timer = (
            None
            if send_within is None
            else PatientTimer(loop, max(send_within, 0.0), _withdraw, call)
        )
        try:
            # Shielded: a caller that goes away withdraws a queued call (below) but must not
            # cancel the future a lane resolves for a sent one.
            return await asyncio.shield(call.future)
        except asyncio.CancelledError:
            _withdraw(call)  # still queued: it never runs; already sent: it runs, unheard
            call.future.add_done_callback(_retrieved)  # nobody is left to hear it
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _lane(self) -> None:
        try:
            while self._pending:
                size = min(self._max_batch, len(self._pending))
                batch = [self._pending.popleft() for _ in range(size)]
                batch = [call for call in batch if not call.future.done()]  # withdrawn
                if batch:
                    await self._send(batch)
        finally:
            self._lanes -= 1

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._slots:
                # The line between queued and sent: what was withdrawn while this lane waited
                # for a connection stays out; the rest is committed (no await in between).
                batch = [call for call in batch if not call.future.done()]
                for call in batch:
                    call.sent = True
                if not batch:
                    return
                async with answer_within(self._reply_timeout):
                    replies = await self._execute(batch)
                    missing = [
                        i for i, r in enumerate(replies) if isinstance(r, rexc.NoScriptError)
                    ]
                    if missing:
                        await self._redis.script_load(self._script.script)
                        again = await self._execute([batch[i] for i in missing])
                        for i, reply in zip(missing, again, strict=True):
                            replies[i] = reply
        except Exception as exc:  # the whole batch failed: every caller hears why
            for call in batch:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        except BaseException:  # cancelled (store closing): callers must not wait forever
            for call in batch:
                _withdraw(call)  # never sent: it never runs
                if not call.future.done():  # sent: its outcome is unknown
                    call.future.set_exception(rexc.ConnectionError("the store is closing"))
            raise
        for call, reply in zip(batch, replies, strict=True):
            if call.future.done():
                continue
            if isinstance(reply, Exception):
                call.future.set_exception(reply)
            else:
                call.future.set_result(reply)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in batch:
                pipe.evalsha(self._script.sha, len(call.keys), *call.keys, *call.args)
            if self._wait is not None:
                pipe.execute_command("WAIT", *self._wait)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        if self._wait is not None:
            acked = replies.pop()
            if isinstance(acked, Exception) or int(acked) < self._wait[0]:
                short = NotReplicated(f"{acked} of {self._wait[0]} replicas acknowledged in time")
                replies = [short if self._wrote(r) else r for r in replies]
        return replies

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for call in self._pending:  # never sent: withdrawn, so nobody waits forever
            _withdraw(call)
        self._pending.clear()
