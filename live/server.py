"""The HTTP transport of `live serve`: uvicorn's options and the limits a public process needs.

uvicorn's httptools parser keeps whatever header bytes a client sends (one endless header line
grows the process by exactly what was sent) and keeps a connection that never finishes its
request open forever. `LimitedHttpProtocol` puts a bound on each, whatever sits in front:

- request line + headers above `max_header_bytes` -> 431 and close (websocket upgrades too);
- headers not complete `header_timeout` seconds after the connection opened (or after the
  first byte of the next request on a kept-alive connection) -> 408 and close;
- a body not received within `body_timeout` seconds, plus one second per KiB received (a photo
  on a slow phone uplink is fine, a drip is not) -> 408 (or a plain close);
- more than `max_http_connections_per_ip` open HTTP connections from one address (IPv6: its
  /64), per process -> 429 and close. Upgraded websockets leave this count: the socket cap
  (`LIVE_MAX_CONNECTIONS_PER_IP`) counts them. Trusted proxies are not capped.

Forwarded headers are believed only from `LIVE_TRUSTED_PROXIES` (uvicorn trusts 127.0.0.1 by
default), and secrets are cut out of every logged URL (`redact`).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import ipaddress
import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from live.config import Settings
from live.web.drain import Drain
from live.web.lean import LeanWebSocketProtocol

log = logging.getLogger("live")


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    # A body may take one more second per this many bytes received (a minimum rate).
    body_bytes_per_second: int = 1024
    max_connections_per_ip: int = 1000
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections_per_ip=settings.max_http_connections_per_ip,
            trusted_proxies=settings.trusted_proxies,
        )


@dataclass
class OpenConnections:
    """Open HTTP connections per address bucket, in this process."""

    limits: HttpLimits
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._trusted = [ipaddress.ip_network(p, strict=False) for p in self.limits.trusted_proxies]

    def bucket(self, address: str) -> str | None:
        """The key an address is counted under, or None when it isn't counted (a trusted
        proxy carries everyone's connections; an address that doesn't parse is a unix socket)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if any(ip in net for net in self._trusted):
            return None
        if ip.version == 6:
            # One machine usually holds a whole /64.
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return address

    def open(self, bucket: str) -> bool:
        if self.counts[bucket] >= self.limits.max_connections_per_ip:
            return False
        self.counts[bucket] += 1
        return True

    def close(self, bucket: str) -> None:
        self.counts[bucket] -= 1
        if self.counts[bucket] <= 0:
            del self.counts[bucket]


# After a refusal, how long and how much more the process reads (and drops) before it closes.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024

# The same error shape as every other answer (docs/api.md).
_REASONS = {
    status: json.dumps({"error": code, "detail": detail}).encode()
    for status, code, detail in (
        (408, "timeout", "the request did not arrive in time"),
        (429, "too_many_connections", "too many open connections from your address"),
        (431, "headers_too_large", "the request line and headers are too large"),
    )
}


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header size, read timeouts and a per-address cap."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        connections: OpenConnections,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.connections_open = connections
        self.limits = connections.limits
        self._bucket: str | None = None
        self._refused = False
        # Between the end of one request (or the connection's start) and the end of the next
        # one's headers: bytes received then count against max_header_bytes.
        self._reading_headers = True
        self._header_bytes = 0  # raw bytes received while reading headers
        self._header_size = 0  # what the parser handed over: url, names, values
        self._fresh = False  # a request ended in the chunk being parsed
        self._linger_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._body_started = 0.0
        self._body_bytes = 0

    # --- connection --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        bucket = self.connections_open.bucket(self.client[0]) if self.client else None
        if bucket is not None:
            if not self.connections_open.open(bucket):
                self._refuse(429)
                return
            self._bucket = bucket
        self._arm(self.limits.header_timeout, self._header_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        if self._refused:
            return  # an upgrade request refused for its size (the parser still says upgrade)
        # The socket is no longer an HTTP connection: the socket cap counts it from here.
        self._release()
        self._reading_headers = False
        super().handle_websocket_upgrade()

    def _release(self) -> None:
        self._disarm()
        if self._bucket is not None:
            self.connections_open.close(self._bucket)
            self._bucket = None

    # --- bytes in ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            # Lingering after a refusal: read and drop what is still coming (closing on
            # unread bytes would reset the connection and lose the answer), up to a budget.
            self._linger_bytes += len(data)
            if self._linger_bytes > LINGER_BYTES:
                self.transport.close()
            return
        if self._reading_headers and self._timer is None:
            # The first bytes of the next request on a kept-alive connection.
            self._arm(self.limits.header_timeout, self._header_deadline)
        self._fresh = False
        super().data_received(data)
        if self._refused or not self._reading_headers or self.transport.is_closing():
            return
        if self._fresh:
            # A request ended inside this chunk and the next one began: only part of it was
            # header bytes (at most one read, which bounds the memory); count from the next.
            return
        # The headers did not end in this chunk, so all of it was header bytes. Memory stays
        # within one read of the cap.
        self._header_bytes += len(data)
        if self._header_bytes > self.limits.max_header_bytes:
            self._refuse(431)

    def on_message_begin(self) -> None:
        self._header_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._header_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        if max(self._header_size, self._header_bytes) > self.limits.max_header_bytes:
            self._refuse(431)
            return
        self._reading_headers = False
        self._header_bytes = 0
        self._disarm()
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return
        self._body_started = time.monotonic()
        self._body_bytes = 0
        self._arm(self.limits.body_timeout, self._body_deadline)

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._reading_headers = True
        self._header_bytes = 0
        self._fresh = True
        super().on_message_complete()

    # --- deadlines -----------------------------------------------------------------------
    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_deadline(self) -> None:
        self._timer = None
        if self._reading_headers and not self.transport.is_closing():
            self._refuse(408)

    def _body_deadline(self) -> None:
        self._timer = None
        if self._reading_headers or self.transport.is_closing():
            return
        allowed = self.limits.body_timeout + self._body_bytes / self.limits.body_bytes_per_second
        left = self._body_started + allowed - time.monotonic()
        if left > 0:
            self._arm(left, self._body_deadline)
            return
        self._refuse(408)

    def _refuse(self, status: int) -> None:
        """Answer `status` (unless an answer is already on its way) and close."""
        self._refused = True
        self._release()
        cycle = self.cycle
        answer = cycle is None or cycle.response_complete or not cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # The app may still be waiting for this body: it hears that the client is gone
            # and whatever it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if not answer:
            self.transport.close()
            return
        reason = _REASONS[status]
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(reason)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    reason,
                ]
            )
        )
        # Send the answer and a FIN, then give the client a moment to read it before the
        # socket goes (the client closes first, or the linger time or byte budget runs out).
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def http_protocol(settings: Settings) -> functools.partial[LimitedHttpProtocol]:
    """The protocol factory for uvicorn's `http` option. It pickles (workers get a copy each,
    so every process counts its own connections)."""
    return functools.partial(
        LimitedHttpProtocol, connections=OpenConnections(HttpLimits.from_settings(settings))
    )


# --- logs -------------------------------------------------------------------------------

# Query parameters that always carry a secret, and `name: value` pairs in logged reprs.
SECRET_NAMES = (
    "buyer",
    "key",
    "overlay_key",
    "token",
    "admin_token",
    "csrf",
    "password",
    "secret",
    "session",
    "x-buyer",
    "phone",
    "street",
    "address",
    "full_address",
    "postcode",
)
_NAMES = "|".join(re.escape(n) for n in SECRET_NAMES)
# ?buyer=… / &key=…
_QUERY_SECRET = re.compile(rf"([?&](?:{_NAMES})=)[^&\s\"'#]*", re.IGNORECASE)
# Any other query value that looks like a token: 16+ characters of a token alphabet.
_QUERY_TOKEN = re.compile(r"([?&][^=&\s\"'#]+=)[A-Za-z0-9_\-.~%]{16,}(?=[&\s\"'#]|$)")
# 'buyer': 'abc' / "phone": "123" / buyer=abc in reprs and messages
_PAIR_SECRET = re.compile(
    rf"""(["']?\b(?:{_NAMES})["']?\s*[:=]\s*)(?!\[redacted\])(?:"[^"]*"|'[^']*'|[^\s,;&}})\]]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with the secrets it may carry (tokens, keys, delivery details) cut out."""
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", text)
    text = _QUERY_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    return _PAIR_SECRET.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """On every handler: no token, key or delivery detail reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            # A traceback can quote a request too; formatters use exc_text when it is set.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # uvicorn's access formatter unpacks its arguments: clean them one by one.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def log_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """uvicorn's logging (its own format for its loggers, ours for the rest), with secrets
    redacted on every handler. Workers apply it too, so their `live` logs show. With
    `fmt="json"` every line, uvicorn's included, is one JSON object (live/logs.py)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "live.server.RedactSecrets"}}
    config["formatters"]["live"] = {"format": LOG_FORMAT}
    if fmt == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": "live.logs.JsonFormatter"}
    config["handlers"]["live"] = {
        "formatter": "live",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["live"], "level": level.upper()}
    return config


def add_redaction(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


# --- process ----------------------------------------------------------------------------

# Below this many open files a sale's sockets (one file each) will not fit.
FILE_LIMIT_TARGET = 16_384

# The cyclic garbage collector's thresholds for a serving process (CPython's are 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """A process holding thousands of sockets keeps millions of long-lived objects, and with
    CPython's default thresholds every quarter of growth of that heap runs a full collection:
    13 of them, ~375 ms each, took half the server's CPU in a 10,000-viewer connect storm
    (`live bench sale`, docs/performance.md). The young generation is collected every 50,000
    allocations instead of 700, so the middle and old ones are reached over a hundred times
    less often, and what exists at start-up (modules, the app) is frozen out of every
    collection. Reference counting frees almost everything here; only cycles wait for the
    collector, and they still go in the young generations."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def raise_file_limit() -> tuple[int, int]:
    """Raise this process's open-file soft limit to its hard limit (workers inherit it), and
    say what it is. Returns (before, after)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    after = soft
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            after = target
        except (ValueError, OSError):
            after = soft
    if after == soft:
        log.info("open-file limit: %d", after)
    else:
        log.info("open-file limit raised from %d to %d", soft, after)
    if after != resource.RLIM_INFINITY and after < FILE_LIMIT_TARGET:
        log.warning(
            "open-file limit %d is low: every viewer's socket is a file; raise the hard limit "
            "(ulimit -Hn, LimitNOFILE= in systemd, ulimits.nofile in compose) to %d or more",
            after,
            FILE_LIMIT_TARGET,
        )
    return soft, after


def uvicorn_options(settings: Settings, level: str) -> dict[str, Any]:
    """Everything `live serve` and `live demo` hand to uvicorn.run besides the app."""
    trusted = list(settings.trusted_proxies)
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": level,
        "log_config": log_config(level, settings.log_format),
        "http": http_protocol(settings),
        "ws": LeanWebSocketProtocol,  # uvicorn's websockets-sansio, keeping less per socket
        # Believe X-Forwarded-For/-Proto only from the named proxies; none by default.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or [],
        # Fan-out sends the same frame to thousands: compression costs CPU per connection.
        "ws_per_message_deflate": False,
        # A frame over 64 KiB closes the socket (1009); the app answers frames over 4 KiB.
        "ws_max_size": 64 * 1024,
        # Dead peers (a phone that lost its network) are found by pings and dropped.
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "server_header": False,
        # An idle kept-alive connection closes after 5 s (uvicorn's default, said here).
        "timeout_keep_alive": 5,
        # After the drain (live/web/drain.py): requests in progress get what is left of
        # LIVE_DRAIN_SECONDS, then uvicorn cancels them and the process exits.
        "timeout_graceful_shutdown": Drain(settings.drain_seconds).graceful,
    }
