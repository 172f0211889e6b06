"""The show sockets: `/ws/shows/{id}` for viewers, `/ws/shows/{id}/overlay` for OBS (read-only).

Each connection gets a snapshot, then the show's events through its mailbox (see live/hub.py).
Frames are decoded at the edge (live/protocol.py) and orders decided by the service, as HTTP
orders are (this module checks no token and counts no order); every order gets exactly one
`order_result`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from live import domain, protocol
from live.config import Settings
from live.errors import CloseCode, Invalid, LiveError, NotFound, Unavailable
from live.hub import Client, Hub, Kind, Outgoing, SlowConsumer, encode
from live.ratelimit import RateLimiter
from live.service import PlaceOrder, Service
from live.web.http import session_host

log = logging.getLogger("live.sockets")


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Browsers send Origin: it must be this service (its public URL, or the Host it was reached
    by) or on the allow-list. Clients that send none (apps, bots, load generators) are let in."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    allowed = {settings.own_origin.lower(), *(o.lower() for o in settings.allowed_origins)}
    if origin in allowed:
        return True
    netloc = urlsplit(origin).netloc
    return bool(netloc) and host is not None and netloc == host.strip().lower()


def direct(message: dict[str, Any]) -> Outgoing:
    return Outgoing(Kind.DIRECT, encode(message))


class Connection:
    """One socket: gates, then a reader (frames in) and the client's pump (messages out)."""

    def __init__(self, ws: WebSocket, *, overlay: bool, host: bool = False) -> None:
        self.ws = ws
        self.overlay = overlay or host  # both read-only
        self.host = host
        state = ws.app.state
        self.service: Service = state.service
        self.hub: Hub = state.hub
        self.settings: Settings = self.service.settings
        self.counts: Counter[str] = state.socket_counts
        self.show_id = str(ws.path_params["id"])
        # The overlay's and the console's sockets carry no buyer, whatever their URL says: their
        # orders are refused by the service like any order without a token.
        self.buyer = None if self.overlay else ws.query_params.get("buyer")
        self.address = ws.client.host if ws.client else "unknown"
        self.errors = RateLimiter(1.0, 20.0)  # malformed frames tolerated before closing
        self.resyncs = RateLimiter(1.0, 3.0)  # snapshots on request: a few, not a flood

    async def serve(self) -> None:
        await self.ws.accept()
        if not origin_allowed(
            self.ws.headers.get("origin"), self.ws.headers.get("host"), self.settings
        ):
            await self.ws.close(CloseCode.FORBIDDEN, "origin not allowed")
            return
        if self.counts[self.address] >= self.settings.max_connections_per_ip:
            await self.ws.close(CloseCode.TOO_MANY, "too many connections from this address")
            return
        self.counts[self.address] += 1
        try:
            await self._serve()
        finally:
            self.counts[self.address] -= 1
            if self.counts[self.address] <= 0:
                del self.counts[self.address]

    async def _serve(self) -> None:
        if not domain.is_valid_id(self.show_id):
            await self.ws.close(CloseCode.NOT_FOUND, "no such show")
            return
        overlay_key = None
        try:
            if self.host:
                # The console's own socket: a logged-in session (cookie, same origin) only.
                if not await session_host(self.ws):
                    await self.ws.close(CloseCode.FORBIDDEN, "log in at /host")
                    return
                await self.service.get_show(self.show_id)
            elif self.overlay:
                show = await self.service.get_show(self.show_id)
                overlay_key = self.ws.query_params.get("key", "")
                if not hmac.compare_digest(overlay_key.encode(), show.overlay_key.encode()):
                    await self.ws.close(CloseCode.FORBIDDEN, "wrong overlay key")
                    return
            client = Client(
                limit=self.settings.mailbox_limit, overlay_key=overlay_key, viewer=not self.overlay
            )
            await self.hub.join(self.show_id, client)
        except NotFound:
            await self.ws.close(CloseCode.NOT_FOUND, "no such show")
            return
        except Unavailable:
            await self.ws.close(CloseCode.TRY_AGAIN_LATER, "the store is not answering")
            return
        try:
            await self._run(client)
        finally:
            self.hub.leave(self.show_id, client)

    async def _run(self, client: Client) -> None:
        writer = asyncio.create_task(
            client.pump(self._sender(), self.settings.send_timeout, self.hub.watchdog)
        )
        reader = asyncio.create_task(self._read(client))
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in (writer, reader):
            if task not in done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if writer in done:
            if writer.cancelled():
                return
            code, reason = client.close_code, client.close_reason
            exc = writer.exception()
            if isinstance(exc, SlowConsumer):
                code, reason = CloseCode.SLOW, str(exc)
            elif exc is not None:
                return  # the socket is gone already
            await self._close(code or 1000, reason)
        elif reader.cancelled():
            return
        elif reader.exception() is not None:
            log.error("socket reader failed: %r", reader.exception())
            await self._close(1011, "internal error")
        elif client.close_code is not None:
            await self._close(client.close_code, client.close_reason)

    def _sender(self) -> Callable[[str], Awaitable[None]]:
        """Text frames out. Fan-out sends thousands of frames a second per process, so after
        the handshake they go straight to the server's ASGI send, skipping the framework's
        per-message state checks and exception wrappers (a third of the cost of a send)."""
        raw = self.ws.scope.get("live.send")
        if raw is None:
            return self.ws.send_text

        async def send(text: str) -> None:
            await raw({"type": "websocket.send", "text": text})

        return send

    async def _close(self, code: int, reason: str) -> None:
        """Close politely; a client that stopped reading can't even take the close frame, so
        after a moment the connection is cut, which frees everything buffered for it."""
        try:
            async with asyncio.timeout(1.0):
                await self.ws.close(code, reason)
        except Exception:
            transport = self.ws.scope.get("live.transport")
            if transport is not None and hasattr(transport, "abort"):
                transport.abort()

    async def _read(self, client: Client) -> None:
        while True:
            # Frames already received are handed over without a pause; let this client's writer
            # (and everyone else) run between them, or a burst of pings fills its own mailbox.
            await asyncio.sleep(0)
            try:
                message = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self._frame_error(client, "binary_frame", "frames must be JSON text")
                continue
            frame = protocol.decode_frame(text)
            if isinstance(frame, protocol.FrameError):
                self._frame_error(client, frame.error, frame.detail)
            elif isinstance(frame, protocol.BadOrder):
                client.put(direct(protocol.order_refused(frame.key, Invalid(frame.detail))))
            elif isinstance(frame, protocol.PingFrame):
                client.put(direct({"type": "pong", "server_time": self.service.clock()}))
            elif isinstance(frame, protocol.ResyncFrame):
                if not self.resyncs.allow("resync"):
                    client.put(direct(protocol.error("rate_limited", "one resync a second")))
                else:
                    try:
                        await self.hub.resync_client(self.show_id, client)
                    except LiveError as exc:
                        client.put(direct(protocol.error(exc.code, exc.detail)))
            else:
                client.put(direct(await self._order(frame)))
            if client.close_code is not None:
                return

    def _frame_error(self, client: Client, code: str, detail: str) -> None:
        client.put(direct(protocol.error(code, detail)))
        if not self.errors.allow("frames"):
            client.kill(CloseCode.PROTOCOL, "too many malformed frames")

    async def _order(self, frame: protocol.OrderFrame) -> dict[str, Any]:
        order = PlaceOrder(
            show_id=self.show_id,
            buyer=self.buyer,
            product_id=frame.product_id,
            qty=frame.qty,
            key=frame.key,
            address=self.address,
            retry=frame.retry,
        )
        try:
            result = await self.service.place_order(order)
        except LiveError as exc:
            return protocol.order_refused(frame.key, exc)
        except Exception:  # a bug must still answer the order, and not kill the connection
            log.exception("order on show %s failed", self.show_id)
            return protocol.order_refused(frame.key, Unavailable("the order could not be placed"))
        return protocol.order_accepted(frame.key, result)


async def viewer_socket(ws: WebSocket) -> None:
    await Connection(ws, overlay=False).serve()


async def overlay_socket(ws: WebSocket) -> None:
    await Connection(ws, overlay=True).serve()


async def host_socket(ws: WebSocket) -> None:
    await Connection(ws, overlay=False, host=True).serve()


routes = [
    WebSocketRoute("/ws/shows/{id}", viewer_socket),
    WebSocketRoute("/ws/shows/{id}/overlay", overlay_socket),
    WebSocketRoute("/ws/shows/{id}/host", host_socket),
]
