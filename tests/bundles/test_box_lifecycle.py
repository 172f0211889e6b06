"""Gift boxes (bundles, issue 13) in `live export` / `live import`, on both backends: a box
keeps its parts, its orders give the parts back after the move, and a part's change still tells
the box's show."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import pytest

from live import datafile, events
from live.backends import Store, open_store
from live.domain import Part
from tests.helpers import add_product, add_show, order_request


@pytest.fixture
async def other_store(
    backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    store = open_store(url, prefix=key_prefix + "b")
    try:
        yield store
    finally:
        await store.close()


async def test_a_box_moves_with_its_parts(store: Store, other_store: Store) -> None:
    honey = await add_product(store, name="Honey", stock=4)
    chili = await add_product(store, name="Chili sauce", stock=9)
    parts = (Part(honey.id, 1, share=70), Part(chili.id, 3, share=30))
    box = await add_product(store, name="Gift box", stock=3, parts=parts)
    show = await add_show(store, box)
    placed = await store.place_order(order_request(show, box))

    out = io.BytesIO()
    datafile.write(await store.export_data(), out, store=store.kind, now=time.time())
    await other_store.import_data(datafile.read(out.getvalue().splitlines()))

    moved = await other_store.get_product(box.id)
    assert moved.parts == parts and moved.stock == 2
    await other_store.cancel_order(placed.order.id)
    assert (await other_store.get_product(chili.id)).stock == 9
    assert (await other_store.get_product(box.id)).stock == 3

    feed = other_store.open_feed()
    heard: list[events.Event] = []

    def deliver(show_id: str, event: events.Event) -> None:
        heard.append(event)

    async def resync(show_ids: set[str]) -> None:
        return None

    await feed.start(deliver, resync)
    await feed.subscribe(show.id)
    await other_store.update_product(honey.id, {}, stock=1)
    for _ in range(50):
        if heard:
            break
        await asyncio.sleep(0.02)
    await feed.close()
    assert [(e.product_id, e.stock) for e in heard if isinstance(e, events.Stock)] == [(box.id, 1)]
