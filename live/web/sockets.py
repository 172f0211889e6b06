"""The show sockets: `/ws/shows/{id}` for viewers, `/ws/shows/{id}/overlay` for OBS (read-only).

Each connection gets a snapshot, then the show's events through its mailbox (see live/hub.py).
Frames are decoded at the edge (live/protocol.py) and orders decided by the service, as HTTP
orders are (this module checks no token and counts no order); every order gets exactly one
`order_result`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from live import domain, protocol
from live.config import Settings
from live.errors import CloseCode, Invalid, LiveError, NotFound, Unavailable
from live.hub import Client, Hub, Kind, Outgoing, SlowConsumer, encode
from live.logs import Throttled
from live.metrics import Metrics
from live.ratelimit import RateLimiter
from live.service import PlaceOrder, Service
from live.web.drain import Drain
from live.web.http import session_host

log = logging.getLogger("live.sockets")
# One log line per ten seconds at most, with the count of the ones it stands for.
slow_consumers = Throttled(log, 10.0)


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
    """One socket: gates, then a reader (frames in); messages out go straight to the socket
    (live/hub.py), through a pump task only while a backlog waits."""

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
        # Made on first use: most connections never send a bad frame or ask for a resync.
        self._errors: RateLimiter | None = None
        self._resyncs: RateLimiter | None = None
        self.pump: asyncio.Task[None] | None = None  # sends a backlog; none while idle
        # operating (issue 16): metrics by kind; orders being decided (a drain waits for them)
        self.kind = "host" if host else "overlay" if overlay else "viewer"
        self.metrics: Metrics = state.metrics
        self.drain: Drain = state.drain
        self.client: Client | None = None
        self.orders_in_flight = 0

    @property
    def errors(self) -> RateLimiter:
        """Malformed frames tolerated before closing."""
        if self._errors is None:
            self._errors = RateLimiter(1.0, 20.0)
        return self._errors

    @property
    def resyncs(self) -> RateLimiter:
        """Snapshots on request: a few, not a flood."""
        if self._resyncs is None:
            self._resyncs = RateLimiter(1.0, 3.0)
        return self._resyncs

    async def serve(self) -> None:
        await self.ws.accept()
        if self.drain.draining:
            # This process is stopping: the client reconnects (to another process, if any).
            await self.ws.close(CloseCode.SERVICE_RESTART, "the server is restarting")
            return
        if not origin_allowed(
            self.ws.headers.get("origin"), self.ws.headers.get("host"), self.settings
        ):
            await self.ws.close(CloseCode.FORBIDDEN, "origin not allowed")
            return
        if self.counts[self.address] >= self.settings.max_connections_per_ip:
            await self.ws.close(CloseCode.TOO_MANY, "too many connections from this address")
            return
        self.counts[self.address] += 1
        self.metrics.sockets[self.kind] += 1
        self.drain.connections.add(self)
        try:
            await self._serve()
        finally:
            self.drain.connections.discard(self)
            self.metrics.sockets[self.kind] -= 1
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
                limit=self.hub.mailbox_limit,
                overlay_key=overlay_key,
                viewer=not self.overlay,
                writer=self.ws.scope.get("live.writer"),
            )
            await self.hub.join(self.show_id, client)
            self.client = client
            # Only now: the snapshot is first in the mailbox, and nothing may go out before it.
            client.start(functools.partial(self._start_pump, client))
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
        """Read frames in this task; messages out go straight to the socket, or, while the
        socket is not taking bytes, through a drain task that runs only while there is a
        backlog (an idle connection keeps no task of its own)."""
        try:
            await self._read(client)
        except Exception as exc:
            log.error("socket reader failed: %r", exc)
            client.kill(1011, "internal error")
        pump = self.pump
        if client.close_code is None:
            # The peer left: nothing more to send.
            if pump is not None and not pump.done():
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            return
        if pump is not None:
            # The pump sends the close (it may still be sending what came before).
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    def _start_pump(self, client: Client) -> None:
        self.pump = asyncio.get_running_loop().create_task(self._pump(client))

    async def _pump(self, client: Client) -> None:
        try:
            await client.drain(self._sender(), self.settings.send_timeout, self.hub.watchdog)
        except SlowConsumer as exc:
            self.hub.slow_consumers += 1
            slow_consumers.note(f"show {self.show_id}: slow consumer dropped ({exc})")
            client.close_code = client.close_code or CloseCode.SLOW
            await self._close(CloseCode.SLOW, str(exc))
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            return  # the socket is gone already
        if client.close_code is not None:
            await self._close(client.close_code, client.close_reason)

    def _sender(self) -> Callable[[str], Awaitable[None]]:
        """Text frames out through the server's ASGI send (a backlog, or no raw writer):
        straight to it, skipping the framework's per-message state checks and exception
        wrappers (a third of the cost of a send)."""
        raw = self.ws.scope.get("live.send")
        hub = self.hub
        if raw is None:
            return self.ws.send_text

        async def send(text: str) -> None:
            hub.frames_queued += 1
            hub.bytes_queued += len(text)
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
            elif client.close_code is None:
                # An order that arrives once the socket is closing is not taken: the client
                # resends it, with the same key, on its next socket.
                self.orders_in_flight += 1
                try:
                    client.put(direct(await self._order(frame)))
                finally:
                    self.orders_in_flight -= 1
            if client.close_code is not None:
                return

    async def close_for_restart(self, wait: float) -> None:
        """Close with 1012 once the orders this socket took are answered and what is queued
        for it is sent (`wait` seconds at most): the client reconnects, to another process if
        any, and resends an order still unanswered with the same key."""
        client = self.client
        if client is None:
            return  # not joined yet: uvicorn's shutdown closes it (1012 too)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        # Three conditions kept by other tasks, polled for a moment, once per socket.
        while (  # noqa: ASYNC110
            self.orders_in_flight or client.items or client.pumping
        ) and loop.time() < give_up:
            await asyncio.sleep(0.02)
        client.kill(CloseCode.SERVICE_RESTART, "the server is restarting")

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
            option_id=frame.option_id,
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


# The viewers' and the overlay's sockets, as `routes` name them ({id}: one path segment).
_CROWD_PATH = re.compile(r"/ws/shows/([^/]+)(/overlay)?")


class CrowdSockets:
    """The viewers' and the overlay's sockets, served straight from the server's layer: a show
    link posted to a big audience brings thousands of handshakes in seconds, and each went
    through five layers made for pages (security headers, compression, console sessions,
    exception pages, the router), a sixth of a handshake's CPU. None applies to these sockets:
    they carry no session (the console's socket does, and keeps the full path) and no
    page. Sits just inside `ServerHandles` (live/web/transport.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path, root = scope["path"], scope.get("root_path", "")
            match = _CROWD_PATH.fullmatch(path[len(root) :] if path.startswith(root) else path)
            if match is not None:
                scope["path_params"] = {"id": match[1]}
                ws = WebSocket(scope, receive, send)
                try:
                    await Connection(ws, overlay=match[2] is not None).serve()
                except LiveError as exc:
                    # A backstop, as the router's error handling was: every refusal the socket
                    # expects closes it with its own code inside; the server closes this one.
                    log.warning("socket on show %s ended: %s", match[1], exc.code)
                return
        await self.app(scope, receive, send)


routes = [
    WebSocketRoute("/ws/shows/{id}", viewer_socket),
    WebSocketRoute("/ws/shows/{id}/overlay", overlay_socket),
    WebSocketRoute("/ws/shows/{id}/host", host_socket),
]
