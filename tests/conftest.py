from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from live.app import create_app
from live.backends import Store, open_store
from live.config import Settings
from live.tools.devredis import RedisServer
from tests.support.live_server import LiveServer
from tests.support.redis_server import throwaway_redis

if TYPE_CHECKING:
    from tests.support.live_process import Live


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = throwaway_redis()
    try:
        yield server
    finally:
        server.discard()


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    """A throwaway redis-server that syncs every write (AOF always): for kill and restart tests,
    where Redis must come back holding every acknowledged order."""
    server = throwaway_redis("--appendonly", "yes", "--appendfsync", "always")
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
async def store(
    backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    s = open_store(url, prefix=key_prefix, pool_size=64)
    try:
        yield s
    finally:
        await s.close()


ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture
async def second(
    store: Store, backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    """Another client of the same store, for races between processes: on Redis its own
    connections and scripts, as a second server process has; in memory the one store (a single
    process is all it serves)."""
    if backend == "memory":
        yield store
        return
    other = open_store(request.getfixturevalue("redis_url"), prefix=key_prefix, pool_size=16)
    try:
        yield other
    finally:
        await other.close()


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, key_prefix: str, tmp_path: Path
) -> Settings:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    return Settings(
        admin_token=ADMIN_TOKEN,
        secret_key="test-secret",
        redis_url=url,
        redis_prefix=key_prefix,
        store_timeout=2.0,
        upload_dir=str(tmp_path / "uploads"),
        # The suite's crowds of phones all come from 127.0.0.1; the per-address limits are
        # tested on their own (tests/web/test_buyer_limits.py).
        order_rate_per_ip=1e6,
        order_burst_per_ip=1e6,
        profile_rate_per_ip=1e6,
        profile_burst_per_ip=1e6,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


@pytest.fixture
def anon(client: TestClient) -> TestClient:
    """The same app without the admin token in every request: a browser."""
    client.headers.pop("Authorization", None)
    return client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With LIVE_NO_SKIPS=1 (CI), a skipped test fails the run: CI installs everything."""
    if os.environ.get("LIVE_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(
                f"LIVE_NO_SKIPS=1: {skipped} test(s) skipped; failing the run", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The host API of `live_server`, with the admin token."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.base, headers=headers, timeout=10) as c:
        yield c


# The browser suites' shared fixtures (the console's and the pages'): real Chromium, and a real
# `live serve` on the throwaway Redis.


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    from tests.support.browser import ARGS, CHROMIUM, need_browser

    need_browser()
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def live(redis_server: RedisServer) -> Iterator[Live]:
    """`live serve` on Redis, as the co-op runs it."""
    from tests.support.live_process import Live

    server = Live(redis_server)
    try:
        yield server
    finally:
        server.stop()
