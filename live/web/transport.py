"""The server's own socket handles, kept in a websocket's scope for live/web/sockets.py.

Two things the socket code needs that Starlette's `WebSocket` hides:

- `scope["live.send"]`: the server's own ASGI send. Fan-out sends thousands of frames a second
  per process; going straight to it skips the per-message checks and wrappers of the framework
  and of every middleware below this one.
- `scope["live.writer"]`: a `RawWriter` when the server is uvicorn's websockets-sansio protocol
  (its default with `websockets` installed), else `None`: fan-out writes whole frames, framed
  once for every viewer, straight to the socket's transport (see `RawWriter`).
- `scope["live.transport"]`: the server's transport (uvicorn's, reachable only through the
  object its send callable is bound to), or `None` when that object has none (Starlette's test
  client). A client that stopped reading can't even take a close frame: the socket code then
  aborts the transport, which frees everything buffered for it.

Guarantee: for websocket scopes the three keys are set before the app runs; HTTP scopes pass through
untouched. It must be the outermost middleware, or `send` is already someone else's wrapper.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class RawWriter:
    """Whole websocket frames written straight to a connection's transport, synchronously, the
    way `websockets.broadcast()` does: no task, no await, no framing per connection.

    Safe because every write is one complete frame in one `transport.write` (the protocol's
    own pings, pongs and close frames are written the same way, so frames never interleave),
    because server frames are unmasked (the same bytes fit every connection) and because an
    uncompressed frame is valid even where permessage-deflate was negotiated (RSV1 unset). A
    frame is refused (False: the caller queues it and sends it through the ASGI path, which
    waits for the socket) while the handshake is not complete, once a close frame was sent or
    the connection is lost, and while the transport's write buffer is above its high-water
    mark (uvicorn's `writable` flag, cleared by `pause_writing`).
    """

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, owner: Any) -> RawWriter | None:
        """A writer for uvicorn's websockets-sansio protocol; None for anything else (the
        other protocols keep state about what was sent, Starlette's test client has no
        transport): those send through the ASGI path only."""
        if not isinstance(owner, WebSocketsSansIOProtocol):
            return None
        if not all(hasattr(owner, a) for a in ("writable", "close_sent", "disconnected")):
            return None
        return cls(owner)

    def write(self, frame: bytes) -> bool:
        protocol = self._protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.handshake_complete
            or not protocol.writable.is_set()
        ):
            return False
        transport = protocol.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(frame)
        return True


class ServerHandles:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            owner = getattr(send, "__self__", None)
            scope["live.transport"] = getattr(owner, "transport", None)
            scope["live.writer"] = RawWriter.of(owner)
            scope["live.send"] = send
        await self.app(scope, receive, send)
