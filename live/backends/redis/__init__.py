"""The Redis backend: durable, shared by every server process (`RedisStore`, `RedisFeed`).

The store's steps are Lua scripts (`lua/*.lua`) that change the data and publish the show's
event in one step; the feed carries those events to this process over pub/sub.
"""

from __future__ import annotations

from live.backends.redis.errors import REDIS_DOWN
from live.backends.redis.feed import RedisFeed
from live.backends.redis.keys import Keys
from live.backends.redis.store import RedisStore

__all__ = ["REDIS_DOWN", "Keys", "RedisFeed", "RedisStore"]
