"""The hub without sockets: per-client rules (slow consumers, coalescing, snapshot filtering)
and a show's channel dropped while a viewer rejoins."""

from __future__ import annotations

import asyncio

import pytest

from live.broker import open_broker
from live.hub import Client, Hub, Kind, Outgoing, SlowConsumer
from live.store import Store
from tests.helpers import add_product, add_show


def stock(pid: str, version: int, seq: int) -> Outgoing:
    return Outgoing(Kind.STOCK, f"stock {pid} v{version}", seq=seq, product_id=pid, version=version)


def event(seq: int) -> Outgoing:
    return Outgoing(Kind.EVENT, f"event {seq}", seq=seq)


async def test_a_client_that_stops_reading_is_dropped_within_the_send_timeout() -> None:
    client = Client(limit=10)
    stuck = asyncio.Event()

    async def never_returns(text: str) -> None:
        await stuck.wait()

    client.put(event(1))
    started = asyncio.get_running_loop().time()
    with pytest.raises(SlowConsumer):
        await client.pump(never_returns, send_timeout=0.2)
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_full_mailbox_drops_the_client_and_frees_its_backlog() -> None:
    client = Client(limit=5)
    for seq in range(1, 50):
        client.put(event(seq))
    assert client.overflowed and len(client.items) == 0  # the backlog is freed at once
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    with pytest.raises(SlowConsumer):
        await client.pump(send, send_timeout=1)
    assert sent == []


async def test_the_writer_skips_what_the_snapshot_already_holds() -> None:
    client = Client(limit=100)
    queued = [event(3), stock("p", 4, 3), event(6), stock("p", 5, 7), stock("p", 5, 8), event(9)]
    for item in queued:
        client.put(item)
    # a snapshot read after those events were queued goes in front of them
    client.put_first(Outgoing(Kind.SNAPSHOT, "snapshot", seq=5, versions={"p": 4}))
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)
        if text == "event 9":
            client.close_code = 1000  # stop the pump once everything is drained

    await client.pump(send, send_timeout=1)
    assert sent == ["snapshot", "event 6", "stock p v5", "event 9"]


async def test_a_viewer_rejoining_as_the_channel_is_dropped_still_gets_events(
    store: Store,
) -> None:
    hub = Hub(store, open_broker(store), unsubscribe_grace=0.01)
    await hub.start()
    try:
        product = await add_product(store)
        show = await add_show(store, product)
        first = Client(limit=100)
        await hub.join(show.id, first)
        hub.leave(show.id, first)  # the last viewer leaves; after the grace the channel goes
        async with asyncio.timeout(2):
            while show.id in hub.channels:
                await asyncio.sleep(0)
        second = Client(limit=100)  # a viewer reconnects right then
        await hub.join(show.id, second)
        await asyncio.sleep(0.1)
        await store.set_featured(show.id, None)
        async with asyncio.timeout(1):
            while not any(i.kind is Kind.EVENT for i in second.items):
                await asyncio.sleep(0.02)
    finally:
        await hub.close()
