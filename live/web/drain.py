"""Graceful stop on SIGTERM (docs/operations.md, "Restarts without losing a sale").

Within `LIVE_DRAIN_SECONDS` (default 10), in this order:

1. `/readyz` answers 503 at once, so the proxy stops sending new sockets here; a socket that
   still arrives is closed with 1012 straight away (the client reconnects elsewhere);
2. after a notice (a fifth of the window, at most 2 s: the proxy's health check must see it),
   the open sockets close with 1012 spread over half the window, not all at once, so their
   clients do not reconnect to the other processes in one wave. A socket closes only once the
   orders it has taken are answered and its queued messages are sent; an order that arrives
   after that is not taken (the client resends it with the same key on its next socket);
3. then uvicorn's own shutdown: it stops listening, lets HTTP requests in progress finish
   (their orders are answered) within what is left of the window, and the process exits.

uvicorn owns the signals (`uvicorn.Server.handle_exit`); in each process (every worker of
`--workers N` too) the lifespan puts `Drain` in front of it for SIGTERM and hands the signal on
once drained. A second SIGTERM, or SIGINT, goes straight to uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from live.web.sockets import Connection

log = logging.getLogger("live.drain")

SLICE = 0.05  # seconds between batches of closes


class Drain:
    """This process's stopping state and the sockets a drain closes."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self.draining = False
        self.connections: set[Connection] = set()

    @property
    def notice(self) -> float:
        return min(2.0, self.seconds * 0.2)

    @property
    def spread(self) -> float:
        return self.seconds * 0.5

    @property
    def graceful(self) -> float:
        """What the last sockets' orders get after the spread, and then again what requests in
        progress get in uvicorn's shutdown: the rest of the window, less half a second to exit.
        An order still unanswered then is resent by its page with the same key (never lost,
        never applied twice)."""
        return max(0.5, (self.seconds - self.notice - self.spread - 0.5) / 2)

    async def run(self) -> None:
        """Turn unready, then close every socket with 1012, spread over the window."""
        self.draining = True
        log.info(
            "draining: /readyz answers 503; %d socket(s) close over %.1f s after %.1f s",
            len(self.connections),
            self.spread,
            self.notice,
        )
        await asyncio.sleep(self.notice)
        loop = asyncio.get_running_loop()
        targets = list(self.connections)
        closing: list[asyncio.Task[None]] = []
        start = loop.time()
        for i, connection in enumerate(targets):
            due = start + self.spread * i / len(targets)
            if due > loop.time():
                await asyncio.sleep(max(SLICE, due - loop.time()))
            closing.append(asyncio.create_task(connection.close_for_restart(self.graceful)))
        # Sockets that came meanwhile were closed on arrival; wait for the last closes.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.graceful):
                await asyncio.gather(*closing, return_exceptions=True)
        log.info("drained: %d socket(s) closed; stopping", len(targets))


@contextlib.contextmanager
def on_sigterm(drain: Drain) -> Iterator[None]:
    """While the app runs under uvicorn (in this process's main thread), a first SIGTERM starts
    `drain` and hands the signal to uvicorn once it is done. Elsewhere (test clients) nothing
    changes."""
    import uvicorn

    previous = signal.getsignal(signal.SIGTERM)
    owner = getattr(previous, "__self__", None)
    if threading.current_thread() is not threading.main_thread() or not isinstance(
        owner, uvicorn.Server
    ):
        yield
        return
    loop = asyncio.get_running_loop()
    uvicorn_exit: Callable[[int, FrameType | None], Any] = previous  # type: ignore[assignment]
    tasks: set[asyncio.Task[None]] = set()

    def begin(sig: int) -> None:
        async def drain_then_exit() -> None:
            try:
                await drain.run()
            finally:
                uvicorn_exit(sig, None)

        task = loop.create_task(drain_then_exit())
        tasks.add(task)

    def handler(sig: int, frame: FrameType | None) -> None:
        if drain.draining or owner.should_exit:
            uvicorn_exit(sig, frame)
            return
        drain.draining = True  # /readyz turns 503 from this very moment
        loop.call_soon_threadsafe(begin, sig)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, previous)
