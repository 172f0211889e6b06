"""Show events from the store to every server process: an in-process bus or Redis pub/sub.

The store publishes each change's event in the same atomic step as the change (Lua PUBLISH on
Redis, a synchronous call on the memory store). A broker delivers them to this process's hub.
"""

from __future__ import annotations

from live.broker.base import Broker, Deliver, Resync
from live.store import Store


def open_broker(store: Store) -> Broker:
    """The broker matching the store: the memory store's own bus, or Redis pub/sub."""
    from live.store.memory import MemoryStore

    if isinstance(store, MemoryStore):
        from live.broker.memory import LocalBroker

        return LocalBroker(store.bus)
    from live.broker.redis import RedisBroker
    from live.store.redis import RedisStore

    assert isinstance(store, RedisStore)
    return RedisBroker(store.url, store.keys)


__all__ = ["Broker", "Deliver", "Resync", "open_broker"]
