from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from live.store import Store, open_store
from live.devredis import RedisServer
from tests.redis_server import throwaway_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = throwaway_redis()
    try:
        yield server
    finally:
        server.discard()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.unix_url


@pytest.fixture
def key_prefix() -> str:
    # A fresh prefix per test isolates tests sharing the session's redis-server.
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(backend: str, request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    s = open_store(url, prefix=key_prefix, pool_size=64)
    try:
        yield s
    finally:
        await s.close()
