"""Throwaway redis-servers for tests; the Redis tests skip without the binary.

LIVE_REQUIRE_REDIS=1 (set by .ci/run) turns that skip into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

from live.tools.devredis import RedisServer, start_redis


def redis_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("LIVE_REQUIRE_REDIS") == "1":
            pytest.fail(message + "; LIVE_REQUIRE_REDIS=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return path


def throwaway_redis(*extra_args: str) -> RedisServer:
    return start_redis(redis_binary(), *extra_args)
