"""Orders raced with each other and with host actions on one store, on both backends: one
order per key, no negative stock, every concurrent change answered on its own."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from live.backends import Store
from live.domain import OrderStatus
from live.errors import Conflict, OrderRefused, Reason
from tests.helpers import (
    add_product,
    add_show,
    buyer,
    order_request,
)


async def test_same_key_raced_across_two_products_makes_exactly_one_order(store: Store) -> None:
    p = await add_product(store, stock=100)
    q = await add_product(store, stock=100)
    show = await add_show(store, p, q)
    b, key = buyer(), "racekey-1"
    reqs = [order_request(show, p if i % 2 else q, buyer=b, key=key) for i in range(60)]
    results = await asyncio.gather(*(store.place_order(r) for r in reqs), return_exceptions=True)
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert sum(r.created for r in accepted) == 1
    winner = next(r.order for r in accepted if r.created)
    assert all(r.order.id == winner.id for r in accepted)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, OrderRefused) and r.reason is Reason.INVALID for r in refused)
    assert len(accepted) == 30 and len(refused) == 30
    after_p, after_q = await store.get_product(p.id), await store.get_product(q.id)
    assert after_p.stock + after_q.stock == 199


async def test_orders_raced_with_stock_sets_deltas_cancels_and_closing(store: Store) -> None:
    p = await add_product(store, stock=40, limit_per_buyer=4)
    show = await add_show(store, p)
    early = [await store.place_order(order_request(show, p, qty=2)) for _ in range(5)]
    buyers = [buyer() for _ in range(30)]
    deltas = [3, -2, 5, -1, 4, -3]

    async def delta(d: int) -> int:
        try:
            await store.update_product(p.id, {}, stock_delta=d)
        except Conflict:
            return 0
        return d

    async def close_later() -> None:
        await asyncio.sleep(0)
        await store.set_ordering(show.id, False)

    jobs: list[Any] = [
        store.place_order(order_request(show, p, buyer=b, qty=1 + i % 3))
        for i, b in enumerate(buyers * 3)
    ]
    jobs += [delta(d) for d in deltas]
    jobs += [store.cancel_order(x.order.id) for x in early]
    jobs.append(close_later())
    results = await asyncio.gather(*jobs, return_exceptions=True)
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, OrderRefused)
    ]
    assert unexpected == []
    refused = {r.reason for r in results if isinstance(r, OrderRefused)}
    assert refused <= {
        Reason.SOLD_OUT,
        Reason.LIMIT_EXCEEDED,
        Reason.ORDERING_CLOSED,
        Reason.NOT_ON_SALE,
    }
    applied = sum(r for r in results if isinstance(r, int))
    after = await store.get_product(p.id)
    orders = await store.list_orders(show.id)
    live = [o for o in orders if o.status is not OrderStatus.CANCELLED]
    assert after.stock >= 0
    assert after.sold == sum(o.qty for o in live)
    assert after.stock + after.sold == 40 + applied
    per_buyer: Counter[str] = Counter()
    for o in live:
        per_buyer[o.buyer] += o.qty
    assert max(per_buyer.values(), default=0) <= 4
    state = await store.show_state(show.id)
    # closing keeps the on-sale flags (CONTRACT v2): the sale resumes as it was on reopening
    assert not state.show.ordering_open and state.show.on_sale == {p.id}
    # After closing, nothing more is sold.
    with pytest.raises(OrderRefused) as exc:
        await store.place_order(order_request(show, p))
    assert exc.value.reason is Reason.ORDERING_CLOSED


async def test_absolute_stock_set_races_orders_without_negative_stock(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    jobs: list[Any] = []
    for i in range(200):
        jobs.append(store.place_order(order_request(show, p, qty=1 + i % 2)))
        if i % 20 == 0:
            jobs.append(store.update_product(p.id, {}, stock=3))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert all(isinstance(r, OrderRefused) for r in results if isinstance(r, BaseException))
    after = await store.get_product(p.id)
    live = [o for o in await store.list_orders(show.id) if o.status is OrderStatus.CLAIMED]
    assert after.stock >= 0 and after.sold == sum(o.qty for o in live)


async def test_each_concurrent_stock_change_returns_its_own_result(store: Store) -> None:
    p = await add_product(store, stock=0)
    results = await asyncio.gather(
        *(store.update_product(p.id, {}, stock_delta=1) for _ in range(40))
    )
    assert sorted(r.stock for r in results) == list(range(1, 41))
    assert len({r.version for r in results}) == 40


async def test_each_concurrent_show_change_returns_its_own_seq(store: Store) -> None:
    products = [await add_product(store) for _ in range(30)]
    show = await add_show(store, *products, on_sale=False)
    results = await asyncio.gather(*(store.set_on_sale(show.id, p.id, True) for p in products))
    assert len({s.seq for s in results}) == 30
