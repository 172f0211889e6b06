"""What only the Redis backend has: key layout, idempotency expiry, script reloading, pipelines."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import get_args

import pytest
import redis.asyncio as aioredis

from live import events
from live.backends import Store, open_store
from live.backends.redis import Keys, RedisFeed
from live.errors import Busy, Unavailable
from tests.helpers import add_product, add_show, order_request

pytestmark = pytest.mark.redis

LUA = Path(__file__).resolve().parents[2] / "live" / "backends" / "redis" / "lua"


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


def _key_names(source: str) -> tuple[set[str], set[str]]:
    """The locals a script binds to KEYS entries, and its helpers that return one."""
    names: set[str] = set()
    for targets, values in re.findall(r"(?m)^\s*local ([\w, ]+?) = (.+)$", source):
        for name, value in zip(targets.split(", "), values.split(", "), strict=False):
            if re.fullmatch(r"KEYS\[[^\]]+\]", value.strip()):
                names.add(name.strip())
    helpers = set(re.findall(r"local function (\w+)\([^)]*\) return KEYS\[", source))
    return names, helpers


def test_scripts_take_every_key_from_keys() -> None:
    """Cluster-ready: no script names a key itself; each redis.call's key comes from KEYS,
    directly or through a local bound to a KEYS entry."""
    scripts = list(LUA.glob("*.lua"))
    # + 5 of authenticity (issue 15), + 1 of holds (issue 14), + 3 of bundles (issue 13)
    assert len(scripts) == 10 + 5 + 1 + 3
    for path in scripts:
        source = path.read_text()
        names, helpers = _key_names(source)
        for command, first in re.findall(r'redis\.call\("(\w+)",\s*([^,)]+)', source):
            if command == "PUBLISH":  # a channel, not a key: channels belong to no slot
                continue
            word = re.match(r"\w+", first)
            ok = first.startswith("KEYS[") or (
                word is not None and (word.group() in names or word.group() in helpers)
            )
            assert ok, f"{path.name}: {command} {first}"


def test_scripts_name_their_keys_and_arguments_at_the_top() -> None:
    """Each script says what KEYS and ARGV hold in a comment block and binds them to named
    locals before its first step: a fixed KEYS[n] or ARGV[n] appears nowhere else."""
    for path in LUA.glob("*.lua"):
        source = path.read_text()
        assert "-- KEYS\n" in source and "-- ARGV\n" in source, path.name
        for line in source.splitlines():
            if re.search(r"(KEYS|ARGV)\[\d+\]", line) and not line.lstrip().startswith("--"):
                assert line.startswith("local "), f"{path.name}: {line}"


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


# --- the feed: Lua's JSON becomes typed events at the edge --------------------------------

EVERY_EVENT: list[events.Event] = [
    events.Stock(seq=1, product_id="p1", stock=7, sold=3, version=12),
    events.OrderPlaced(
        seq=2,
        product_id="p1",
        stock=6,
        sold=4,
        version=13,
        qty=1,
        name="王",
        city="上海",
        toast=True,
    ),
    events.OrderPlaced(
        seq=3,
        product_id="p1",
        stock=5,
        sold=5,
        version=14,
        qty=1,
        name=None,
        city=None,
        toast=False,
    ),
    events.Featured(seq=4, prev=0, product_id="p1"),
    events.Featured(seq=5, prev=4, product_id=None),
    events.OnSale(seq=6, prev=5, product_id="p1", on_sale=False),
    events.Ordering(seq=7, prev=6, open=True),
    events.DealChanged(
        seq=8, prev=7, product_id="p1", deal_price=800, deal_ends_at=1767225600.123456
    ),
    events.DealChanged(seq=9, prev=8, product_id="p1", deal_price=None, deal_ends_at=None),
    events.Toasts(seq=10, prev=9, on=False),
    events.LineupChanged(seq=11, prev=10),
    events.ProductEdited(
        seq=12,
        prev=11,
        product=events.PublicProduct(
            id="p1",
            name="Chili sauce 辣椒酱",
            producer="Grandma Li",
            description="",
            image_url="/uploads/a.webp",
            unit="jar",
            price=1000,
            currency="CNY",
            stock=5,
            sold=5,
            limit_per_buyer=None,
            version=15,
            archived=False,
        ),
        on_sale=True,
        deal=events.DealTerms(price=800, ends_at=1767225600.123456),
    ),
    events.OverlayKeyRotated(seq=13, key_digest=events.key_digest("a-new-overlay-key")),
    events.ShowEnded(seq=14, prev=12),
]


def test_every_event_type_is_listed_above() -> None:
    assert {type(e) for e in EVERY_EVENT} == set(get_args(events.Event))


async def _started_feed(
    redis_url: str, key_prefix: str
) -> tuple[RedisFeed, list[events.Event], list[set[str]]]:
    feed = RedisFeed(redis_url, Keys(key_prefix))
    got: list[events.Event] = []
    resynced: list[set[str]] = []

    async def resync(shows: set[str]) -> None:
        resynced.append(shows)

    await feed.start(lambda show_id, event: got.append(event), resync)
    await feed.subscribe("s1")
    return feed, got, resynced


async def _wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(3):
        while not condition():
            await asyncio.sleep(0.02)


async def test_each_event_type_round_trips_through_the_feed(
    redis_url: str, key_prefix: str, raw: aioredis.Redis
) -> None:
    feed, got, resynced = await _started_feed(redis_url, key_prefix)
    try:
        channel = Keys(key_prefix).channel("s1")
        for event in EVERY_EVENT:
            await raw.publish(channel, events.encode_event(event))
        # The scripts send a deal's end time as the stored text (cjson keeps 14 digits only).
        as_lua = events.encode_event(EVERY_EVENT[7]).replace(
            b'"deal_ends_at":1767225600.123456', b'"deal_ends_at":"1767225600.123456"'
        )
        assert as_lua != events.encode_event(EVERY_EVENT[7])
        await raw.publish(channel, as_lua)
        await _wait_for(lambda: len(got) == len(EVERY_EVENT) + 1)
        assert got == [*EVERY_EVENT, EVERY_EVENT[7]] and resynced == []
    finally:
        await feed.close()


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "mystery", "seq": 3}',  # an unknown type
        '{"type": "stock", "seq": 4}',  # fields missing
        '{"type": "stock", "seq": "x", "product_id": "p", "stock": 1, "sold": 0, "version": 1}',
        '{"seq": 5}',  # no type at all
    ],
)
async def test_an_undecodable_message_resyncs_its_show_and_the_feed_goes_on(
    redis_url: str, key_prefix: str, raw: aioredis.Redis, message: str
) -> None:
    feed, got, resynced = await _started_feed(redis_url, key_prefix)
    try:
        channel = Keys(key_prefix).channel("s1")
        await raw.publish(channel, message)
        await _wait_for(lambda: bool(resynced))
        assert resynced == [{"s1"}] and got == []  # like a lost event: the show starts over
        await raw.publish(channel, events.encode_event(EVERY_EVENT[0]))
        await _wait_for(lambda: bool(got))
        assert got == [EVERY_EVENT[0]] and feed.reconnects == 0
    finally:
        await feed.close()


async def test_a_sent_order_is_answered_however_late_a_queued_one_is_withdrawn_unsent(
    redis_url: str, key_prefix: str, raw: aioredis.Redis
) -> None:
    """One connection, writes paused on the real server: the order sent first waits for its
    real answer past its deadline; the one still queued behind it is withdrawn at its deadline
    (`Busy`) and never runs, even after Redis resumes."""
    store = open_store(redis_url, prefix=key_prefix, pool_size=1)
    try:
        p = await add_product(store, stock=5)
        show = await add_show(store, p)
        await store.place_order(order_request(show, p))  # the shows list read, the script loaded
        first, second = order_request(show, p), order_request(show, p)
        await raw.execute_command("CLIENT", "PAUSE", "400", "WRITE")
        try:
            soon = time.monotonic() + 0.1
            sent = asyncio.create_task(store.place_order(first, send_by=soon))
            await asyncio.sleep(0.03)  # sent, and held by the pause
            with pytest.raises(Busy):
                await store.place_order(second, send_by=soon)
            placed = await sent
        finally:
            await raw.execute_command("CLIENT", "UNPAUSE")
        assert placed.created and time.monotonic() > soon
        await asyncio.sleep(0.05)
        keys = Keys(key_prefix)
        assert await raw.exists(keys.idem(first.buyer, first.key))
        assert not await raw.exists(keys.idem(second.buyer, second.key))
        assert (await store.get_product(p.id)).stock == 3
    finally:
        await store.close()


async def test_a_caller_gone_while_its_order_is_queued_withdraws_it(
    redis_url: str, key_prefix: str, raw: aioredis.Redis
) -> None:
    store = open_store(redis_url, prefix=key_prefix, pool_size=1)
    try:
        p = await add_product(store, stock=5)
        show = await add_show(store, p)
        await store.place_order(order_request(show, p))
        first, second = order_request(show, p), order_request(show, p)
        await raw.execute_command("CLIENT", "PAUSE", "300", "WRITE")
        try:
            sent = asyncio.create_task(store.place_order(first))
            await asyncio.sleep(0.03)
            queued = asyncio.create_task(store.place_order(second))
            await asyncio.sleep(0.03)
            queued.cancel()  # its socket closed, say
            with pytest.raises(asyncio.CancelledError):
                await queued
            await sent
        finally:
            await raw.execute_command("CLIENT", "UNPAUSE")
        await asyncio.sleep(0.05)
        keys = Keys(key_prefix)
        assert not await raw.exists(keys.idem(second.buyer, second.key))
        assert (await store.get_product(p.id)).stock == 3
    finally:
        await store.close()


async def test_closing_the_store_stops_a_shared_read_nobody_waits_for(
    redis_url: str, key_prefix: str
) -> None:
    """A shared read goes on when its caller leaves (others may wait for it). Closing the store
    stops it: left running, it would take a connection after the pool was closed, and that
    socket would never be closed."""
    store = open_store(redis_url, prefix=key_prefix)
    started = asyncio.Event()

    async def slow_read() -> str:
        started.set()
        await asyncio.sleep(30)
        return "parts"

    reads = store._parts_reads  # type: ignore[attr-defined]
    caller = asyncio.create_task(reads.get("p1", slow_read))
    await started.wait()
    caller.cancel()  # the caller went away; the read itself is shielded
    await asyncio.sleep(0)
    assert "p1" in reads._reads
    async with asyncio.timeout(2):
        await store.close()
    assert reads._reads == {}


async def test_a_closed_store_opens_no_connection(
    redis_url: str, key_prefix: str, raw: aioredis.Redis
) -> None:
    """A step that runs after its store closed (a resync or a timer nobody cancelled) is
    answered `unavailable`; it must not open a connection that nobody would ever close."""
    store = open_store(redis_url, prefix=key_prefix)
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    before = int((await raw.info("clients"))["connected_clients"])
    await store.close()
    closed = int((await raw.info("clients"))["connected_clients"])
    assert closed < before
    with pytest.raises(Unavailable):
        await store.get_product(p.id)
    with pytest.raises(Unavailable):
        await store.place_order(order_request(show, p))
    assert int((await raw.info("clients"))["connected_clients"]) == closed
