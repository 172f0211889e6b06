"""A flash sale through a process that parks orders while the stock is spoken for
(live/claims.py), on both backends: exactly the stock is sold, every other first order is
answered `sold_out` without a store round trip, nobody is told `busy`, and the store's orders
are exactly the accepted answers. Refusals in flight (a buyer's limit) let parked orders go on;
two processes on one store sell no more than the stock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from live.backends import Store
from live.config import Settings
from live.domain import OrderRequest, Product, Show
from live.errors import LiveError
from live.hub import Client, Hub
from live.service import PlaceOrder, Service
from tests.helpers import add_product, add_show, buyer, key


class Process:
    """One process's hub (watching the show, so its view is fresh) and service, with the store
    calls it made counted."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.hub = Hub(store, store.open_feed(), stock_interval=0)
        self.service = Service(
            store,
            settings,
            refusal_hint=self.hub.known_refusal,
            room_hint=self.hub.known_room,
            on_answered=self.hub.answered,
            buyer_burst=1000,  # one buyer's many orders reach the store's limit, not this one
        )
        assert self.service.claims is not None
        self.claims = self.service.claims
        self.hub.on_view_change = self.claims.changed
        self.store_calls = 0

    async def start(self, show: Show, monkeypatch: pytest.MonkeyPatch) -> None:
        real = self.store.place_order

        async def counted(request: OrderRequest, *, send_by: float | None = None) -> Any:
            self.store_calls += 1
            return await real(request, send_by=send_by)

        # Each process its own store client on Redis; in memory both count the one store.
        monkeypatch.setattr(self.store, "place_order", counted)
        await self.hub.start()
        await self.hub.join(show.id, Client(limit=100_000))
        async with asyncio.timeout(5):
            while not self.hub.channels[show.id].view.fresh:
                await asyncio.sleep(0.01)

    async def order(self, show: Show, product: Product, who: str | None = None) -> str:
        order = PlaceOrder(
            show_id=show.id, buyer=who or buyer(), product_id=product.id, qty=1, key=key()
        )
        try:
            await self.service.place_order(order)
        except LiveError as exc:
            return exc.code
        return "accepted"


@pytest.fixture
async def process(store: Store, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Process]:
    p = Process(store, Settings(order_deadline=5.0))
    yield p
    await p.hub.close()


async def test_a_flash_sale_sells_the_stock_and_sells_out_the_rest_without_the_store(
    store: Store, process: Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await add_product(store, stock=60)
    show = await add_show(store, product)
    await process.start(show, monkeypatch)
    answers = Counter(await asyncio.gather(*(process.order(show, product) for _ in range(600))))
    assert answers == {"accepted": 60, "sold_out": 540}  # no busy, nothing else
    # Only the orders that could be accepted reached the store (and any that waited past the
    # patience, none at this size).
    assert process.claims.gave_up == 0
    assert process.store_calls == 60
    assert process.claims.in_flight((show.id, product.id, None)) == 0
    assert process.claims.waiting() == 0
    assert len(await store.list_orders(show.id)) == 60
    after = await store.get_product(product.id)
    assert (after.stock, after.sold) == (0, 60)


async def test_orders_refused_in_flight_let_parked_orders_buy_the_units(
    store: Store, process: Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await add_product(store, stock=20, limit_per_buyer=1)
    show = await add_show(store, product)
    await process.start(show, monkeypatch)
    greedy = buyer()
    assert await process.order(show, product, greedy) == "accepted"
    # The first 30 of the wave are the same buyer again: the store refuses each (its limit),
    # and every refusal lets a parked order of someone else go on.
    wave = [process.order(show, product, greedy) for _ in range(30)]
    wave += [process.order(show, product) for _ in range(200)]
    answers = Counter(await asyncio.gather(*wave))
    assert answers == {"limit_exceeded": 30, "accepted": 19, "sold_out": 181}
    assert len(await store.list_orders(show.id)) == 20
    assert (await store.get_product(product.id)).stock == 0


async def test_two_processes_parking_on_their_own_views_never_oversell(
    store: Store, second: Store, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await add_product(store, stock=50)
    show = await add_show(store, product)
    settings = Settings(order_deadline=5.0)
    a, b = Process(store, settings), Process(second, settings)
    try:
        await a.start(show, monkeypatch)
        await b.start(show, monkeypatch)
        wave = [p.order(show, product) for _ in range(250) for p in (a, b)]
        answers = Counter(await asyncio.gather(*wave))
    finally:
        await a.hub.close()
        await b.hub.close()
    # Each process parks only on what it knows; what the other sold it learns from events
    # (or the store tells it `sold_out`). Never more than the stock, never busy.
    assert answers == {"accepted": 50, "sold_out": 450}
    orders = await store.list_orders(show.id)
    assert len(orders) == 50 and sum(o.qty for o in orders) == 50
    assert (await store.get_product(product.id)).stock == 0
