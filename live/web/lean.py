"""uvicorn's websockets-sansio protocol with less kept per connection (`live serve`'s `ws`).

A process holding 10,000 idle viewers pays every per-connection object 10,000 times. Measured
with tracemalloc (1,000 sockets, docs/performance.md), uvicorn's protocol kept, besides what a
socket needs:

- an `asyncio.Queue` for the frames received (four deques, ~3 KiB), where one reader and a
  queue of at most a few messages (uvicorn stops reading until the app takes the last one) need
  two lists;
- an `asyncio.Event` for "the transport takes bytes" (a deque, ~0.7 KiB);
- the handshake's request and response (their headers, ~2.5 KiB), never read once the
  handshake is answered (the ASGI scope keeps its own copy of the request headers).

`LeanWebSocketProtocol` swaps the first two for list-based equivalents with the same methods
and drops the third once the handshake is answered. Everything else is uvicorn's: the framing,
the pings, the close handshake, flow control.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class Inbox:
    """The part of `asyncio.Queue` uvicorn's protocol uses (`put_nowait`, `get`, `empty`,
    `qsize`), unbounded, in two lists: items, and the getters waiting (one, the socket's reader,
    in practice)."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake()

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                self._getters.remove(getter)
                if self._items and getter.done() and not getter.cancelled():
                    self._wake()  # cancelled once woken: the item is the next getter's
                raise
            self._getters.remove(getter)
        return self._items.pop(0)

    def _wake(self) -> None:
        for getter in self._getters:
            if not getter.done():
                getter.set_result(None)
                return

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """The part of `asyncio.Event` uvicorn's protocol uses (`set`, `clear`, `is_set`, `wait`)
    with a list of waiters."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # Answered: the handshake's request and response are never read again.
            self.request = self.response = None  # type: ignore[assignment]
