"""Options under races, on both backends: the last pair of one size raced for from two store
clients (two processes' worth on Redis), the per-buyer limit across options, a deal, and host
edits of options racing orders. No oversell, no lost update, one order per key."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from live.backends import Store
from live.domain import Option, OptionSpec, OrderAccepted, Product
from live.errors import OrderRefused, Reason
from tests.helpers import add_product, add_show, buyer, deal, order_request


def pick(show: Any, product: Product, option: Option, **kw: Any) -> Any:
    return dataclasses.replace(order_request(show, product, **kw), option_id=option.id)


async def outcome(store: Store, request: Any) -> OrderAccepted | OrderRefused:
    try:
        return await store.place_order(request)
    except OrderRefused as refused:
        return refused


async def test_two_clients_race_for_the_last_pair_of_one_size(store: Store, second: Store) -> None:
    sizes = tuple(Option(id=f"v{n}", name=str(n), stock=2 if n == 38 else 5) for n in (37, 38, 39))
    p = await add_product(store, name="Shoes", stock=12, options=sizes)
    show = await add_show(store, p)
    size38 = sizes[1]
    clients = (store, second)
    results = await asyncio.gather(
        *(outcome(clients[i % 2], pick(show, p, size38)) for i in range(40))
    )
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    refused = [r for r in results if isinstance(r, OrderRefused)]
    assert len(accepted) == 2
    assert all(r.reason is Reason.SOLD_OUT and r.stock == 0 for r in refused)
    assert sorted(r.stock for r in accepted) == [0, 1]
    after = await second.get_product(p.id)
    assert [o.stock for o in after.options] == [5, 0, 5] and after.stock == 10
    assert [o.sold for o in after.options] == [0, 2, 0]
    orders = await store.list_orders(show.id)
    assert sorted(o.number for o in orders) == [1, 2]
    assert {o.option_name for o in orders} == {"38"}


async def test_the_limit_holds_across_options_under_a_race(store: Store, second: Store) -> None:
    sizes = tuple(Option(id=f"v{n}", name=str(n), stock=50) for n in range(5))
    p = await add_product(store, stock=250, options=sizes, limit_per_buyer=3)
    show = await add_show(store, p)
    buyers = [buyer() for _ in range(6)]
    clients = (store, second)
    jobs = [
        outcome(clients[i % 2], pick(show, p, sizes[i % 5], buyer=buyers[i % 6], qty=1 + i % 2))
        for i in range(90)
    ]
    results = await asyncio.gather(*jobs)
    assert all(isinstance(r, OrderAccepted) or r.reason is Reason.LIMIT_EXCEEDED for r in results)
    orders = await store.list_orders(show.id)
    held = {b: sum(o.qty for o in orders if o.buyer == b) for b in buyers}
    assert all(units <= 3 for units in held.values()) and sum(held.values()) >= 6 * 2
    after = await store.get_product(p.id)
    assert after.sold == sum(held.values()) == 250 - after.stock
    assert after.stock == sum(o.stock for o in after.options)
    for option in after.options:
        assert option.sold == sum(o.qty for o in orders if o.option_id == option.id)


async def test_options_sold_with_a_deal_under_a_race(store: Store, second: Store) -> None:
    jars = (
        Option(id="v250", name="250 g", stock=7, price=3000, weight_g=250),
        Option(id="v500", name="500 g", stock=7, weight_g=500),
    )
    p = await add_product(store, name="Honey", price=5000, stock=14, options=jars)
    show = await add_show(store, p)
    await store.set_deal(show.id, p.id, deal(4500))
    clients = (store, second)
    results = await asyncio.gather(
        *(outcome(clients[i % 2], pick(show, p, jars[i % 2])) for i in range(30))
    )
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    assert len(accepted) == 14
    prices = {r.order.option_id: r.order.price for r in accepted}
    assert prices == {"v250": 2500, "v500": 4500}
    after = await store.get_product(p.id)
    assert after.stock == 0 and [o.sold for o in after.options] == [7, 7]


async def test_option_edits_and_stock_moves_race_orders_without_losing_any(
    store: Store, second: Store
) -> None:
    sizes = tuple(Option(id=f"v{n}", name=str(n), stock=20) for n in (36, 37))
    p = await add_product(store, stock=40, options=sizes)
    show = await add_show(store, p)

    async def edits() -> None:
        for i in range(6):
            order = [OptionSpec(name=f"{o.name}-{i}", id=o.id) for o in reversed(sizes)]
            await second.set_options(p.id, order, [])
            await second.update_option_stock(p.id, "v36", stock_delta=1)

    clients = (store, second)
    orders = [outcome(clients[i % 2], pick(show, p, sizes[i % 2])) for i in range(30)]
    results, _ = await asyncio.gather(asyncio.gather(*orders), edits())
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    assert len(accepted) == 30
    after = await store.get_product(p.id)
    by_id = {o.id: o for o in after.options}
    assert (by_id["v36"].stock, by_id["v36"].sold) == (20 + 6 - 15, 15)
    assert (by_id["v37"].stock, by_id["v37"].sold) == (20 - 15, 15)
    assert after.stock == 16 and after.sold == 30
