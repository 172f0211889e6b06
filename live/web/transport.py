"""The server's own socket handles, kept in a websocket's scope for live/web/sockets.py.

Two things the socket code needs that Starlette's `WebSocket` hides:

- `scope["live.send"]`: the server's own ASGI send. Fan-out sends thousands of frames a second
  per process; going straight to it skips the per-message checks and wrappers of the framework
  and of every middleware below this one.
- `scope["live.transport"]`: the server's transport (uvicorn's, reachable only through the
  object its send callable is bound to), or `None` when that object has none (Starlette's test
  client). A client that stopped reading can't even take a close frame: the socket code then
  aborts the transport, which frees everything buffered for it.

Guarantee: for websocket scopes both keys are set before the app runs; HTTP scopes pass through
untouched. It must be the outermost middleware, or `send` is already someone else's wrapper.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class ServerHandles:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            owner = getattr(send, "__self__", None)
            scope["live.transport"] = getattr(owner, "transport", None)
            scope["live.send"] = send
        await self.app(scope, receive, send)
