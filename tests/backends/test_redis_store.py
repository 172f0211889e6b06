"""What only the Redis backend has: key layout, idempotency expiry, script reloading, pipelines."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from live.store import Store, open_store
from tests.helpers import add_product, add_show, order_request

pytestmark = pytest.mark.redis

LUA = Path(__file__).resolve().parents[2] / "live" / "store" / "lua"


@pytest.fixture
async def rstore(redis_url: str, key_prefix: str) -> AsyncIterator[Store]:
    s = open_store(redis_url, prefix=key_prefix)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_every_key_lives_under_the_prefix(
    rstore: Store, raw: aioredis.Redis, key_prefix: str
) -> None:
    p = await add_product(rstore)
    show = await add_show(rstore, p)
    placed = await rstore.place_order(order_request(show, p))
    await rstore.cancel_order(placed.order.id)
    mine = {k async for k in raw.scan_iter(match=f"{key_prefix}:*")}
    kinds = {k.split(":")[1] for k in mine}
    assert {"product", "products", "show", "shows", "order", "idem"} <= kinds
    after = {k async for k in raw.scan_iter(match="*") if not k.startswith(f"{key_prefix}:")}
    assert not [k for k in after if p.id in k or show.id in k]  # nothing of ours elsewhere


async def test_idempotency_record_expires_after_24_hours(
    rstore: Store, raw: aioredis.Redis, key_prefix: str
) -> None:
    p = await add_product(rstore)
    show = await add_show(rstore, p)
    req = order_request(show, p)
    await rstore.place_order(req)
    ttl = await raw.ttl(f"{key_prefix}:idem:{req.buyer}:{req.key}")
    assert 24 * 3600 - 60 < ttl <= 24 * 3600
    assert await raw.ttl(f"{key_prefix}:order:{req.order_id}") == -1  # the order itself stays


async def test_orders_survive_a_flushed_script_cache(rstore: Store, raw: aioredis.Redis) -> None:
    p = await add_product(rstore, stock=50)
    show = await add_show(rstore, p)
    await rstore.place_order(order_request(show, p))
    await raw.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
    results = await asyncio.gather(*(rstore.place_order(order_request(show, p)) for _ in range(20)))
    assert all(r.created for r in results)
    await raw.script_flush()
    await rstore.cancel_order(results[0].order.id)
    assert (await rstore.get_product(p.id)).stock == 50 - 20


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(
    redis_url: str, key_prefix: str
) -> None:
    small = open_store(redis_url, prefix=key_prefix, pool_size=2)
    try:
        p = await add_product(small, stock=3000)
        show = await add_show(small, p)
        results = await asyncio.gather(
            *(small.place_order(order_request(show, p)) for _ in range(3000))
        )
        assert len({r.order.id for r in results}) == 3000
        lists = await asyncio.gather(*(small.get_product(p.id) for _ in range(200)))
        assert {x.stock for x in lists} == {0}
    finally:
        await small.close()


async def test_pipelined_repeats_in_one_batch_take_stock_once(rstore: Store) -> None:
    p = await add_product(rstore, stock=10)
    show = await add_show(rstore, p)
    req = order_request(show, p, qty=2)
    results = await asyncio.gather(
        *(rstore.place_order(dataclasses.replace(req, order_id=f"id{i}")) for i in range(50))
    )
    assert sum(r.created for r in results) == 1 and len({r.order.id for r in results}) == 1
    assert (await rstore.get_product(p.id)).stock == 8


def test_scripts_take_every_key_from_keys() -> None:
    """Cluster-ready: no script names a key itself; each redis.call's key is KEYS[i]."""
    import re

    for path in LUA.glob("*.lua"):
        for call in re.findall(r'redis\.call\("(\w+)",\s*([^,)]+)', path.read_text()):
            command, first = call
            if command == "PUBLISH":  # a channel, not a key: channels belong to no slot
                continue
            assert first.startswith("KEYS["), f"{path.name}: {command} {first}"


async def test_a_show_created_by_another_process_gets_its_seq_bumped(
    rstore: Store, redis_url: str, key_prefix: str
) -> None:
    """Each process caches which shows hold a product; a show made elsewhere is noticed."""
    other = open_store(redis_url, prefix=key_prefix)
    try:
        p = await add_product(rstore, stock=10)
        a = await add_show(rstore, p)
        await rstore.place_order(order_request(a, p))  # rstore now caches: p is held by [a]
        b = await add_show(other, p)  # another process adds a show holding p
        seq_b = (await rstore.get_show(b.id)).seq
        placed = await rstore.place_order(order_request(a, p))
        assert placed.created and (await rstore.get_show(b.id)).seq == seq_b + 1
        c = await add_show(other, p)
        seq_c = (await rstore.get_show(c.id)).seq
        await rstore.cancel_order(placed.order.id)
        assert (await rstore.get_show(c.id)).seq == seq_c + 1
        d = await add_show(other, p)
        seq_d = (await rstore.get_show(d.id)).seq
        await rstore.update_product(p.id, {}, stock_delta=1)
        assert (await rstore.get_show(d.id)).seq == seq_d + 1
        assert (await rstore.get_product(p.id)).stock + (await rstore.get_product(p.id)).sold == 11
    finally:
        await other.close()
