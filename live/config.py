"""Settings, read once from the environment into a frozen dataclass."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    redis_prefix: str = "live"
    admin_token: str = ""
    secret_key: str = ""
    public_url: str = ""
    # True when admin_token / secret_key were made up at start, so the CLI can say so once.
    admin_token_generated: bool = False
    secret_key_generated: bool = False
    allowed_origins: tuple[str, ...] = ()
    # Seconds a store call may take before the caller gets `unavailable`.
    store_timeout: float = 2.0
    # Seconds an order may wait in this process for the store (live/admission.py): an order
    # that cannot be sent to the store within it is refused `busy` (nothing applied) instead.
    order_deadline: float = 1.0
    redis_pool_size: int = 64
    max_body_bytes: int = 64 * 1024
    # Sockets: per-process limits (see docs/protocol.md).
    max_connections_per_ip: int = 5000
    mailbox_limit: int = 256  # messages queued for one client before it is dropped (4008)
    send_timeout: float = 1.0  # seconds a client may take to accept what is queued for it
    # The hub (live/hub.py), per process: at most one stock message per product of a show
    # every `stock_interval` seconds, and one sale toast every `toast_interval`; a show whose
    # worker falls `event_backlog` events behind sends its clients a snapshot instead; a show
    # nobody here watches stays subscribed `unsubscribe_grace` seconds (viewers come back).
    stock_interval: float = 0.25
    toast_interval: float = 1.0
    event_backlog: int = 10_000
    unsubscribe_grace: float = 30.0
    # Limits against scalpers and floods (docs/security.md), per process and client address
    # (an IPv6 client's /64). Phones behind a carrier NAT share an address, hence generous.
    order_rate_per_ip: float = 10.0
    order_burst_per_ip: float = 40.0
    profile_rate_per_ip: float = 0.5
    profile_burst_per_ip: float = 30.0
    # Seconds the delivery details of a buyer token without an order are kept; once the token
    # has an order they are kept as long as its orders.
    profile_ttl: int = 24 * 3600
    upload_dir: str = "uploads"
    # HTTP transport limits (live/server.py; docs/security.md): a public process protects
    # itself whatever sits in front of it.
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    max_http_connections_per_ip: int = 1000
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDRs).
    trusted_proxies: tuple[str, ...] = ()
    # Origins product photos may come from (Content-Security-Policy img-src), besides this one.
    photo_hosts: tuple[str, ...] = ()
    # The co-op's default language for pages that can't tell (OBS reports English) and the
    # time zone of its exports; the console can override the language (store: coop settings).
    default_lang: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    # Demo mode seeds a co-op catalog and an open show at start.
    demo: bool = False
    # --- Redis failover and data lifecycle (issue 16) ---
    # An accepted order is answered once this many replicas hold it (Redis WAIT), waiting at
    # most redis_wait_ms; 0: answered as soon as the primary has it (replication is async).
    redis_wait_replicas: int = 0
    redis_wait_ms: int = 500
    # Days after a buyer's parcels ship (all orders shipped or cancelled) that the buyer's
    # delivery details are deleted, by a sweep in every server process; 0: never.
    forget_after_days: float = 90
    # --- operating (issue 16): /metrics, drain, logs (docs/operations.md) ---
    # Addresses or networks that may read /metrics without the admin token (none by default).
    metrics_allow: tuple[str, ...] = ()
    # Seconds from SIGTERM to exit: /readyz turns 503, sockets close (1012) spread over it.
    drain_seconds: float = 10.0
    log_format: str = "text"  # or "json": one JSON object per line
    # holds (issue 14): a new show's hold when its creator names none (0: claims never
    # expire), and how often each process sweeps the claims whose hold ran out.
    hold_seconds: int = 0
    hold_sweep_interval: float = 1.0

    @property
    def store_kind(self) -> str:
        return "redis" if self.redis_url else "memory"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - describing a bind address, not binding
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def own_origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value > 0:
        raise SystemExit(f"{name} must be above 0, got {value!r}")
    return value


def _not_negative(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value >= 0:
        raise SystemExit(f"{name} must be 0 or more, got {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


# The admin token opens every host action: a short one can be guessed (offline, from anything
# derived from it, or online past the login limit). The random default is 32 characters.
MIN_ADMIN_TOKEN = 24


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _proxies(env: Mapping[str, str], name: str = "LIVE_TRUSTED_PROXIES") -> tuple[str, ...]:
    proxies = _list(env, name)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise SystemExit(
                f"{name} must be comma-separated addresses or networks "
                f"(10.0.0.2, 10.0.0.0/24, ::1), got {proxy!r}"
            ) from exc
    return proxies


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    origins = tuple(o.rstrip("/") for o in _list(env, name))
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise SystemExit(
                f"{name} lists origins such as https://cdn.example.org, got {origin!r}"
            )
    return origins


def _admin_token(env: Mapping[str, str]) -> str:
    token = env.get("LIVE_ADMIN_TOKEN", "")
    if token and len(token) < MIN_ADMIN_TOKEN:
        raise SystemExit(
            f"LIVE_ADMIN_TOKEN is {len(token)} characters: use at least {MIN_ADMIN_TOKEN} "
            "(for example `openssl rand -hex 24`), or leave it unset for a random one"
        )
    return token


def settings_from_env(
    env: Mapping[str, str] | None = None, *, host: str = "127.0.0.1", port: int = 8000
) -> Settings:
    """Build the settings from `env` (default: os.environ). The only place env is read."""
    env = os.environ if env is None else env
    token = _admin_token(env)
    secret = env.get("LIVE_SECRET_KEY", "")
    origins = tuple(
        o.strip().rstrip("/") for o in env.get("LIVE_ALLOWED_ORIGINS", "").split(",") if o.strip()
    )
    settings = Settings(
        host=host,
        port=port,
        redis_url=env.get("LIVE_REDIS_URL") or None,
        redis_prefix=env.get("LIVE_REDIS_PREFIX", "live") or "live",
        admin_token=token or secrets.token_urlsafe(24),
        admin_token_generated=not token,
        secret_key=secret or secrets.token_urlsafe(32),
        secret_key_generated=not secret,
        public_url=(env.get("LIVE_PUBLIC_URL") or "").rstrip("/"),
        allowed_origins=origins,
        store_timeout=_float(env, "LIVE_STORE_TIMEOUT", 2.0),
        order_deadline=_positive(env, "LIVE_ORDER_DEADLINE", 1.0),
        redis_pool_size=_int(env, "LIVE_REDIS_POOL_SIZE", 64),
        max_connections_per_ip=_int(env, "LIVE_MAX_CONNECTIONS_PER_IP", 5000),
        mailbox_limit=_int(env, "LIVE_MAILBOX_LIMIT", 256),
        send_timeout=_positive(env, "LIVE_SEND_TIMEOUT", 1.0),
        stock_interval=_not_negative(env, "LIVE_STOCK_INTERVAL", 0.25),
        toast_interval=_not_negative(env, "LIVE_TOAST_INTERVAL", 1.0),
        event_backlog=_int(env, "LIVE_EVENT_BACKLOG", 10_000),
        unsubscribe_grace=_not_negative(env, "LIVE_UNSUBSCRIBE_GRACE", 30.0),
        order_rate_per_ip=_positive(env, "LIVE_ORDER_RATE_PER_IP", 10.0),
        order_burst_per_ip=_positive(env, "LIVE_ORDER_BURST_PER_IP", 40.0),
        profile_rate_per_ip=_positive(env, "LIVE_PROFILE_RATE_PER_IP", 0.5),
        profile_burst_per_ip=_positive(env, "LIVE_PROFILE_BURST_PER_IP", 30.0),
        profile_ttl=int(_positive(env, "LIVE_PROFILE_TTL", 24 * 3600)),
        upload_dir=env.get("LIVE_UPLOAD_DIR") or "uploads",
        max_header_bytes=_int(env, "LIVE_MAX_HEADER_BYTES", 32 * 1024),
        header_timeout=_float(env, "LIVE_HEADER_TIMEOUT", 10.0),
        body_timeout=_float(env, "LIVE_BODY_TIMEOUT", 20.0),
        max_http_connections_per_ip=_int(env, "LIVE_MAX_HTTP_CONNECTIONS_PER_IP", 1000),
        trusted_proxies=_proxies(env),
        photo_hosts=_origins(env, "LIVE_PHOTO_HOSTS"),
        default_lang=_lang(env),
        timezone=_timezone(env),
        # Redis failover and data lifecycle (issue 16)
        redis_wait_replicas=int(_not_negative(env, "LIVE_REDIS_WAIT_REPLICAS", 0)),
        redis_wait_ms=int(_positive(env, "LIVE_REDIS_WAIT_MS", 500)),
        forget_after_days=_not_negative(env, "LIVE_FORGET_AFTER_DAYS", 90),
        # operating (issue 16)
        metrics_allow=_proxies(env, "LIVE_METRICS_ALLOW"),
        drain_seconds=_positive(env, "LIVE_DRAIN_SECONDS", 10.0),
        log_format=_log_format(env),
        # holds (issue 14)
        hold_seconds=_hold_seconds(env),
        hold_sweep_interval=_positive(env, "LIVE_HOLD_SWEEP_SECONDS", 1.0),
    )
    _check_limits(settings)
    return settings


def _check_limits(settings: Settings) -> None:
    if settings.max_header_bytes < 4096:
        raise SystemExit("LIVE_MAX_HEADER_BYTES must be at least 4096 (browsers send a few KiB)")
    for name, value in (
        ("LIVE_HEADER_TIMEOUT", settings.header_timeout),
        ("LIVE_BODY_TIMEOUT", settings.body_timeout),
        ("LIVE_MAX_HTTP_CONNECTIONS_PER_IP", settings.max_http_connections_per_ip),
        ("LIVE_MAILBOX_LIMIT", settings.mailbox_limit),
        ("LIVE_EVENT_BACKLOG", settings.event_backlog),
    ):
        if value <= 0:
            raise SystemExit(f"{name} must be above 0, got {value}")


def _log_format(env: Mapping[str, str]) -> str:
    raw = (env.get("LIVE_LOG_FORMAT") or "text").lower()
    if raw not in ("text", "json"):
        raise SystemExit(f"LIVE_LOG_FORMAT must be text or json, got {raw!r}")
    return raw


LANGS = ("zh-CN", "en")


def _lang(env: Mapping[str, str]) -> str:
    raw = env.get("LIVE_LANG") or "zh-CN"
    if raw not in LANGS:
        raise SystemExit(f"LIVE_LANG must be one of {', '.join(LANGS)}, got {raw!r}")
    return raw


def _timezone(env: Mapping[str, str]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    raw = env.get("LIVE_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(
            f"LIVE_TIMEZONE must be an IANA time zone such as Asia/Shanghai, got {raw!r}"
        ) from exc
    return raw


# --- holds (issue 14) -------------------------------------------------------------------------


def _hold_seconds(env: Mapping[str, str]) -> int:
    from live.domain import MAX_HOLD_SECONDS

    value = _int(env, "LIVE_HOLD_SECONDS", 0)
    if not 0 <= value <= MAX_HOLD_SECONDS:
        raise SystemExit(f"LIVE_HOLD_SECONDS must be 0 to {MAX_HOLD_SECONDS}, got {value}")
    return value
