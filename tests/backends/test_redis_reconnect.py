"""Pooled Redis connections across a Redis restart: the connections the pool held before are
dead afterwards, and the first burst must not be answered `unavailable` because of them.

Each test runs its own redis-server with the append-only file on (the data survives the
restart), reached over TCP as in docker-compose and over a unix socket.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from live.backends import Store, open_store
from live.domain import Product, Show
from live.errors import Unavailable
from live.tools.devredis import RedisServer
from tests.helpers import add_product, add_show, order_request

pytestmark = pytest.mark.redis

STOCK = 100_000


@pytest.fixture(params=["tcp", "unix"])
async def store(request: pytest.FixtureRequest, durable_redis: RedisServer) -> AsyncIterator[Store]:
    url = durable_redis.tcp_url if request.param == "tcp" else durable_redis.unix_url
    s = open_store(url, prefix=f"t{uuid.uuid4().hex[:10]}", pool_size=64)
    try:
        yield s
    finally:
        await s.close()


async def warm_pool(store: Store) -> tuple[Show, Product]:
    """A product on sale and a pool holding several idle connections, as after a busy minute."""
    p = await add_product(store, stock=STOCK)
    show = await add_show(store, p)
    await asyncio.gather(*(store.place_order(order_request(show, p)) for _ in range(300)))
    await asyncio.gather(*(store.get_product(p.id) for _ in range(50)))
    return show, p


async def burst(store: Store, show: Show, p: Product, n: int = 200) -> list[BaseException]:
    results = await asyncio.gather(
        *(store.place_order(order_request(show, p)) for _ in range(n)), return_exceptions=True
    )
    return [r for r in results if isinstance(r, BaseException)]


async def test_a_burst_right_after_a_restart_gets_no_unavailable(
    store: Store, durable_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    show, p = await warm_pool(store)
    # The process keeps running while Redis restarts, as a server does: every pooled connection
    # sees its close, and the pool must replace it before lending it (no order even needs the
    # second try that idempotent steps get).
    await asyncio.to_thread(durable_redis.stop, kill=True)
    await asyncio.to_thread(durable_redis.start)
    with caplog.at_level(logging.INFO, logger="live.store"):
        assert await burst(store, show, p) == []
    assert not [r for r in caplog.records if "trying once more" in r.getMessage()]
    assert (await store.get_product(p.id)).stock == STOCK - 500


async def test_connections_found_dead_only_when_used_are_retried_for_idempotent_steps(
    store: Store, durable_redis: RedisServer
) -> None:
    show, p = await warm_pool(store)
    # Blocking the loop through the restart means no pooled connection has noticed its close
    # yet: the first command on each one fails. Orders (idempotent by their key) and reads are
    # tried once more on a fresh connection.
    durable_redis.stop(kill=True)
    durable_redis.start()
    assert await burst(store, show, p) == []
    durable_redis.stop(kill=True)
    durable_redis.start()
    state = await store.show_state(show.id)
    assert state.products[0].stock == STOCK - 500
    assert len(await store.list_orders(show.id)) == 500


async def test_a_stock_adjustment_is_not_retried(store: Store, durable_redis: RedisServer) -> None:
    p = await add_product(store, stock=10)
    await add_show(store, p)
    await store.update_product(p.id, {}, stock_delta=1)  # leaves one idle pooled connection
    durable_redis.stop(kill=True)
    durable_redis.start()
    # A stock delta is not idempotent: after a connection error nobody knows whether it was
    # applied, so it is answered `unavailable` rather than risk applying it twice.
    with pytest.raises(Unavailable):
        await store.update_product(p.id, {}, stock_delta=5)
    assert (await store.get_product(p.id)).stock == 11
