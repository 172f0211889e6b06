"""What "Redis did not answer" looks like from redis-py, for the store and the feed alike."""

from __future__ import annotations

from redis import exceptions as rexc

# A refused connection, a dropped one, a timeout (redis-py's or asyncio's), a socket error.
REDIS_DOWN = (rexc.ConnectionError, rexc.TimeoutError, TimeoutError, OSError)
