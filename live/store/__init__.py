"""The store: one interface (`Store`), two backends, picked by URL.

Backends are imported only when used, so the memory store never needs a Redis client loaded.
"""

from __future__ import annotations

from live.store.base import Store


def open_store(
    redis_url: str | None,
    *,
    prefix: str = "live",
    timeout: float = 2.0,
    pool_size: int = 64,
    profile_ttl: int = 24 * 3600,
) -> Store:
    """A memory store when `redis_url` is empty, else a Redis store (nothing connects yet)."""
    if not redis_url:
        from live.store.memory import MemoryStore

        return MemoryStore(profile_ttl=profile_ttl)
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"LIVE_REDIS_URL must start with redis://, rediss:// or unix://: {redis_url!r}"
        )
    from live.store.redis import RedisStore

    return RedisStore(
        redis_url, prefix=prefix, timeout=timeout, pool_size=pool_size, profile_ttl=profile_ttl
    )


__all__ = ["Store", "open_store"]
