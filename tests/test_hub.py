"""The hub's per-client rules without sockets: slow consumers, coalescing, snapshot filtering."""

from __future__ import annotations

import asyncio

import pytest

from live.hub import Client, Kind, Outgoing, SlowConsumer


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
