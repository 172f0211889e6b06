"""Backends: a store and the feed of its events, picked by URL (as encode/broadcaster does).

One contract (`live.backends.base`: `Store`, `Feed`, `Backend`) and one package per backend
(`memory`, `redis`). A backend's package is imported only when its URL is used, so the memory
backend never needs a Redis client loaded.
"""

from __future__ import annotations

from live.backends.base import Backend, Deliver, Feed, Resync, Store

# redis+sentinel:// and redis+cluster:// (issue 16): see live/backends/redis/connect.py.
SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")


def open_backend(
    url: str | None,
    *,
    prefix: str = "live",
    timeout: float = 2.0,
    pool_size: int = 64,
    profile_ttl: int = 24 * 3600,
    wait_replicas: int = 0,
    wait_ms: int = 500,
) -> Backend:
    """The backend `url` names: memory when it is empty, Redis for redis://, rediss://,
    unix://, redis+sentinel:// and redis+cluster://; any other scheme is a `ValueError`.
    Nothing connects yet. `wait_replicas`/`wait_ms`: Redis only, an order's answer waits for
    that many replicas (WAIT)."""
    if not url:
        from live.backends.memory import MemoryStore

        return Backend.around(MemoryStore(profile_ttl=profile_ttl))
    if not url.startswith(SCHEMES):
        raise ValueError(
            f"LIVE_REDIS_URL must start with redis://, rediss:// or unix:// "
            f"(or redis+sentinel://, redis+cluster://): {url!r}"
        )
    from live.backends.redis import RedisStore

    store = RedisStore(
        url,
        prefix=prefix,
        timeout=timeout,
        pool_size=pool_size,
        profile_ttl=profile_ttl,
        wait_replicas=wait_replicas,
        wait_ms=wait_ms,
    )
    return Backend.around(store)


def open_store(
    url: str | None,
    *,
    prefix: str = "live",
    timeout: float = 2.0,
    pool_size: int = 64,
    profile_ttl: int = 24 * 3600,
    wait_replicas: int = 0,
    wait_ms: int = 500,
) -> Store:
    """Only the store of `open_backend(url, ...)`, for callers that need no events (commands,
    benchmarks); `store.open_feed()` gives one later if needed."""
    return open_backend(
        url,
        prefix=prefix,
        timeout=timeout,
        pool_size=pool_size,
        profile_ttl=profile_ttl,
        wait_replicas=wait_replicas,
        wait_ms=wait_ms,
    ).store


__all__ = ["Backend", "Deliver", "Feed", "Resync", "Store", "open_backend", "open_store"]
