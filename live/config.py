"""Settings, read once from the environment into a frozen dataclass."""

from __future__ import annotations

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
    redis_pool_size: int = 64
    max_body_bytes: int = 64 * 1024
    # Sockets: per-process limits (see docs/protocol.md).
    max_connections_per_ip: int = 5000
    mailbox_limit: int = 256
    send_timeout: float = 1.0
    socket_order_rate: float = 5.0
    socket_order_burst: float = 10.0
    # Limits against scalpers and floods (docs/security.md), per process and client address
    # (an IPv6 client's /64). Phones behind a carrier NAT share an address, hence generous.
    order_rate_per_ip: float = 10.0
    order_burst_per_ip: float = 40.0
    profile_rate_per_ip: float = 0.5
    profile_burst_per_ip: float = 30.0
    # Seconds the delivery details of a buyer token without an order are kept; once the token
    # has an order they are kept as long as its orders.
    profile_ttl: int = 24 * 3600
    # The calling code of a phone number typed without one (per-phone limits compare numbers).
    phone_country_code: str = "86"
    upload_dir: str = "uploads"
    # The co-op's default language for pages that can't tell (OBS reports English) and the
    # time zone of its exports; the console can override the language (store: coop settings).
    default_lang: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    # Demo mode seeds a co-op catalog and an open show at start.
    demo: bool = False

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


def _calling_code(env: Mapping[str, str]) -> str:
    raw = (env.get("LIVE_PHONE_COUNTRY_CODE") or "86").lstrip("+")
    if not (raw.isdigit() and raw.isascii() and 1 <= len(raw) <= 3):
        raise SystemExit(f"LIVE_PHONE_COUNTRY_CODE must be 1-3 digits such as 86, got {raw!r}")
    return raw


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def settings_from_env(
    env: Mapping[str, str] | None = None, *, host: str = "127.0.0.1", port: int = 8000
) -> Settings:
    """Build the settings from `env` (default: os.environ). The only place env is read."""
    env = os.environ if env is None else env
    token = env.get("LIVE_ADMIN_TOKEN", "")
    secret = env.get("LIVE_SECRET_KEY", "")
    origins = tuple(
        o.strip().rstrip("/") for o in env.get("LIVE_ALLOWED_ORIGINS", "").split(",") if o.strip()
    )
    return Settings(
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
        redis_pool_size=_int(env, "LIVE_REDIS_POOL_SIZE", 64),
        max_connections_per_ip=_int(env, "LIVE_MAX_CONNECTIONS_PER_IP", 5000),
        order_rate_per_ip=_positive(env, "LIVE_ORDER_RATE_PER_IP", 10.0),
        order_burst_per_ip=_positive(env, "LIVE_ORDER_BURST_PER_IP", 40.0),
        profile_rate_per_ip=_positive(env, "LIVE_PROFILE_RATE_PER_IP", 0.5),
        profile_burst_per_ip=_positive(env, "LIVE_PROFILE_BURST_PER_IP", 30.0),
        profile_ttl=int(_positive(env, "LIVE_PROFILE_TTL", 24 * 3600)),
        phone_country_code=_calling_code(env),
        upload_dir=env.get("LIVE_UPLOAD_DIR") or "uploads",
        default_lang=_lang(env),
        timezone=_timezone(env),
    )


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
