"""Send concurrent calls of one Lua script to Redis in pipelines instead of one by one.

A flash sale is thousands of near-simultaneous order steps. Sent one per round trip, each pays
a socket write, a wake-up and a reply parse; gathered into one pipeline, a whole batch pays them
once. Each script call is still its own atomic step on the server (a pipeline is not a
transaction), so batching changes speed, never results.

Guarantees: every call gets exactly its own reply or exception. A call whose caller gave up
(timeout) may still run; orders are safe because a retry with the same key answers the same
order. NOSCRIPT replies (Redis restarted, script cache flushed) mean the call did not run: the
script is loaded and those calls are sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc

_Call = tuple[Sequence[str], Sequence[str | int | float], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(
        self,
        redis: aioredis.Redis,
        source: str,
        *,
        slots: asyncio.Semaphore,
        max_batch: int = 256,
        lanes: int = 4,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(source)
        self._slots = slots
        self._max_batch = max_batch
        self._max_lanes = lanes
        self._lanes = 0
        self._pending: deque[_Call] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        if self._lanes < self._max_lanes:
            # A few lanes in flight at once: while one batch waits for Redis, the next gathers.
            self._lanes += 1
            task = asyncio.create_task(self._lane())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _lane(self) -> None:
        try:
            while self._pending:
                size = min(self._max_batch, len(self._pending))
                batch = [self._pending.popleft() for _ in range(size)]
                batch = [call for call in batch if not call[2].done()]  # caller already gone
                if batch:
                    await self._send(batch)
        finally:
            self._lanes -= 1

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._slots:
                replies = await self._execute(batch)
                missing = [i for i, r in enumerate(replies) if isinstance(r, rexc.NoScriptError)]
                if missing:
                    await self._redis.script_load(self._script.script)
                    again = await self._execute([batch[i] for i in missing])
                    for i, reply in zip(missing, again, strict=True):
                        replies[i] = reply
        except Exception as exc:  # the whole batch failed: every caller hears why
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (store closing): callers must not wait forever
            for _, _, future in batch:
                if not future.done():
                    future.cancel()
            raise
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
