"""Holds (issue 14) in both stores: a claim not paid by its `expires_at` expires exactly once,
its units back in stock (an option's to the option, a pre-order's to the pre-order room);
sweepers racing each other, a payment racing an expiry, many expiries at once."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time

import pytest

from live.backends import Store
from live.domain import Option, Order, OrderStatus, Product, Show
from live.errors import Conflict
from tests.helpers import add_product, buyer, order_request


async def hold_show(store: Store, *products: Product, hold: int = 60) -> Show:
    show = Show(
        id="s" + secrets.token_hex(6),
        title="Harvest night",
        lineup=tuple(p.id for p in products),
        overlay_key=secrets.token_urlsafe(16),
        created_at=time.time(),
        hold_seconds=hold,
    )
    await store.create_show(show)
    await store.set_ordering(show.id, True)
    for p in products:
        show = await store.set_on_sale(show.id, p.id, True)
    return show


async def claim(store: Store, show: Show, product: Product, now: float, **kw: object) -> Order:
    request = dataclasses.replace(order_request(show, product, now=now), **kw)
    return (await store.place_order(request)).order


async def test_a_claim_expires_once_and_its_units_go_back(store: Store) -> None:
    p = await add_product(store, stock=5, limit_per_buyer=2)
    show = await hold_show(store, p, hold=60)
    assert (await store.get_show(show.id)).hold_seconds == 60
    now, who = time.time(), buyer()
    order = await claim(store, show, p, now, buyer=who, qty=2)
    assert order.expires_at == pytest.approx(now + 60, abs=0.01)
    assert (await store.get_order(order.id)).expires_at == order.expires_at
    assert await store.expire_orders(now + 59) == []
    [expired] = await store.expire_orders(now + 60)
    assert expired.id == order.id and expired.status is OrderStatus.EXPIRED
    assert await store.expire_orders(now + 120) == []
    assert (await store.get_order(order.id)).status is OrderStatus.EXPIRED
    back = await store.get_product(p.id)
    assert (back.stock, back.sold) == (5, 0)
    # The buyer's limit is free again; cancelling or paying the expired order changes nothing.
    assert (await claim(store, show, p, now + 61, buyer=who, qty=2)).qty == 2
    assert await store.cancel_order(order.id) == (expired, False)
    with pytest.raises(Conflict):
        await store.set_order_status(order.id, OrderStatus.PAID, now=now + 61)
    assert (await store.get_product(p.id)).stock == 3


async def test_the_same_key_after_expiry_answers_the_expired_order(store: Store) -> None:
    p = await add_product(store, stock=3)
    show = await hold_show(store, p, hold=30)
    now = time.time()
    request = order_request(show, p, now=now)
    first = await store.place_order(request)
    await store.expire_orders(now + 30)
    again = await store.place_order(dataclasses.replace(request, order_id="other1", now=now + 31))
    assert not again.created and again.order.id == first.order.id
    assert again.order.status is OrderStatus.EXPIRED
    assert (await store.get_product(p.id)).stock == 3


async def test_a_paid_claim_never_expires_and_a_due_one_cannot_be_paid(store: Store) -> None:
    p = await add_product(store, stock=4)
    show = await hold_show(store, p, hold=10)
    now = time.time()
    paid = await claim(store, show, p, now)
    due = await claim(store, show, p, now)
    assert (await store.set_order_status(paid.id, OrderStatus.PAID, now=now + 9)).status == "paid"
    # Past its deadline but not swept yet: it can only expire.
    with pytest.raises(Conflict):
        await store.set_order_status(due.id, OrderStatus.PAID, now=now + 10)
    assert [o.id for o in await store.expire_orders(now + 100)] == [due.id]
    assert (await store.get_order(paid.id)).status is OrderStatus.PAID
    assert (await store.get_product(p.id)).stock == 3


async def test_claims_of_a_show_without_a_hold_never_expire(store: Store) -> None:
    p = await add_product(store, stock=2)
    show = await hold_show(store, p, hold=0)
    order = await claim(store, show, p, time.time())
    assert order.expires_at is None
    assert await store.expire_orders(time.time() + 10**7) == []
    assert (await store.get_product(p.id)).stock == 1


async def test_an_option_claim_and_a_preorder_expire_where_they_came_from(store: Store) -> None:
    sizes = (Option(id="v1", name="500 g", stock=1), Option(id="v2", name="1 kg", stock=3))
    jam = await add_product(store, name="Jam", stock=4, options=sizes)
    tea = await add_product(store, name="Tea", stock=0, preorder_cap=3, ships_from="2027-04-01")
    show = await hold_show(store, jam, tea, hold=5)
    now = time.time()
    small = await claim(store, show, jam, now, option_id="v1")
    pre = await claim(store, show, tea, now, qty=3)
    assert pre.preorder and (await store.get_product(tea.id)).preordered == 3
    assert len(await store.expire_orders(now + 5)) == 2
    jam_now, tea_now = await store.get_product(jam.id), await store.get_product(tea.id)
    assert [(o.stock, o.sold) for o in jam_now.options] == [(1, 0), (3, 0)]
    assert (tea_now.stock, tea_now.preordered, tea_now.sold) == (0, 0, 0)
    assert {(await store.get_order(o.id)).status for o in (small, pre)} == {OrderStatus.EXPIRED}
    # The pre-order room is back: three more may be pre-ordered.
    assert (await claim(store, show, tea, now + 6, qty=3)).preorder


async def test_two_sweepers_on_the_same_deadlines_restock_once(store: Store, second: Store) -> None:
    p = await add_product(store, stock=60)
    show = await hold_show(store, p, hold=1)
    now = time.time()
    orders = await asyncio.gather(*(claim(store, show, p, now) for _ in range(40)))
    assert (await store.get_product(p.id)).stock == 20
    later = now + 2
    sweeps = await asyncio.gather(
        *(s.expire_orders(later, 7) for _ in range(6) for s in (store, second))
    )
    sweeps += [await store.expire_orders(later, 100), await second.expire_orders(later, 100)]
    ids = [o.id for sweep in sweeps for o in sweep]
    assert sorted(ids) == sorted(o.id for o in orders)  # each exactly once
    assert (await store.get_product(p.id)).stock == 60


async def test_a_payment_racing_an_expiry_exactly_one_wins(store: Store, second: Store) -> None:
    p = await add_product(store, stock=30)
    show = await hold_show(store, p, hold=10)
    now = time.time()
    orders = await asyncio.gather(*(claim(store, show, p, now) for _ in range(30)))

    async def pay(order: Order) -> bool:
        try:
            await second.set_order_status(order.id, OrderStatus.PAID, now=now + 9.99)
        except Conflict:
            return False
        return True

    results = await asyncio.gather(store.expire_orders(now + 10, 100), *map(pay, orders))
    expired, paid = {o.id for o in results[0]}, results[1:]
    for order, was_paid in zip(orders, paid, strict=True):
        status = (await store.get_order(order.id)).status
        assert was_paid == (order.id not in expired)
        assert status is (OrderStatus.PAID if was_paid else OrderStatus.EXPIRED)
    assert (await store.get_product(p.id)).stock == len(expired)


async def test_many_expiries_at_once(store: Store) -> None:
    from live.config import Settings
    from live.service import Service

    p = await add_product(store, stock=500)
    show = await hold_show(store, p, hold=1)
    now = time.time()
    for _ in range(3):
        await asyncio.gather(*(claim(store, show, p, now) for _ in range(100)))
    service = Service(store, Settings(), clock=lambda: now + 1)
    expired = await service.expire_due(batch=64)
    assert len(expired) == 300 and len({o.id for o in expired}) == 300
    assert (await store.get_product(p.id)).stock == 500
    statuses = {o.status for o in await store.list_orders(show.id)}
    assert statuses == {OrderStatus.EXPIRED}


async def test_a_parcel_is_paid_all_or_none(store: Store) -> None:
    p = await add_product(store, stock=9)
    show = await hold_show(store, p, hold=10)
    now, who = time.time(), buyer()
    first, second_, third = [await claim(store, show, p, now, buyer=who) for _ in range(3)]
    await store.set_order_status(first.id, OrderStatus.PAID, now=now)
    paid = await store.pay_orders([first.id, second_.id, third.id], now + 1)
    assert [o.status for o in paid] == [OrderStatus.PAID] * 3
    assert await store.expire_orders(now + 100) == []
    late = await claim(store, show, p, now + 5, buyer=who)
    await store.cancel_order(third.id)  # a paid order may still be cancelled (refunded)
    with pytest.raises(Conflict):  # one of them is cancelled: none is paid
        await store.pay_orders([late.id, third.id], now + 6)
    assert (await store.get_order(late.id)).status is OrderStatus.CLAIMED
    with pytest.raises(Conflict):  # due: it can only expire
        await store.pay_orders([late.id], now + 15)
    assert (await store.get_order(late.id)).status is OrderStatus.CLAIMED


async def test_paying_a_parcel_races_its_expiry(store: Store, second: Store) -> None:
    p = await add_product(store, stock=40)
    show = await hold_show(store, p, hold=10)
    now = time.time()
    parcels = [[await claim(store, show, p, now) for _ in range(2)] for _ in range(10)]

    async def pay(orders: list[Order]) -> bool:
        try:
            await second.pay_orders([o.id for o in orders], now + 9.99)
        except Conflict:
            return False
        return True

    results = await asyncio.gather(store.expire_orders(now + 10, 100), *map(pay, parcels))
    expired = {o.id for o in results[0]}
    for orders, was_paid in zip(parcels, results[1:], strict=True):
        statuses = {(await store.get_order(o.id)).status for o in orders}
        # A parcel is paid whole, or its claims expired (never half of each).
        assert statuses == ({OrderStatus.PAID} if was_paid else {OrderStatus.EXPIRED})
        assert was_paid == (not expired & {o.id for o in orders})
    assert (await store.get_product(p.id)).stock == 20 + len(expired)


async def test_payment_notices_are_kept_per_buyer(store: Store) -> None:
    p = await add_product(store)
    show = await hold_show(store, p)
    assert await store.payment_notices(show.id) == {}
    await store.set_payment_notice(show.id, "b" * 16, {"state": "pending", "amount": "8800"})
    await store.set_payment_notice(show.id, "b" * 16, {"state": "rejected", "reason": "no"})
    await store.set_payment_notice(show.id, "c" * 16, {"state": "pending"})
    notices = await store.payment_notices(show.id)
    assert notices == {
        "b" * 16: {"state": "rejected", "reason": "no"},
        "c" * 16: {"state": "pending"},
    }
