"""Cheap refusals: a first attempt is refused from the process's own view (the refusal hint)
without a store round trip; a retry always goes to the store. On both backends."""

from __future__ import annotations

import dataclasses

import pytest

from live.backends import Store
from live.config import Settings
from live.errors import OrderRefused, Reason
from live.service import HandedKeys, PlaceOrder, RefusalHint, Service
from tests.helpers import add_product, add_show, buyer, key


def service(store: Store, hint: RefusalHint) -> Service:
    return Service(store, Settings(), refusal_hint=hint)


def sold_out_here(show_id: str, product_id: str, option_id: str | None) -> Reason | None:
    """A view that believes every product sold out, whatever the store holds."""
    return Reason.SOLD_OUT


@pytest.mark.parametrize("reason", [Reason.SOLD_OUT, Reason.ORDERING_CLOSED, Reason.NOT_ON_SALE])
async def test_a_first_attempt_is_refused_from_the_hint_without_the_store(
    store: Store, reason: Reason
) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    asked: list[tuple[str, str]] = []

    def hint(show_id: str, product_id: str, option_id: str | None) -> Reason | None:
        asked.append((show_id, product_id))
        return reason

    order = PlaceOrder(show_id=show.id, buyer=buyer(), product_id=p.id, qty=1, key=key())
    with pytest.raises(OrderRefused) as refused:
        await service(store, hint).place_order(order)
    assert refused.value.reason is reason and asked == [(show.id, p.id)]
    assert refused.value.stock == (0 if reason is Reason.SOLD_OUT else None)
    # The store never saw it: its stock is whole and it holds no order.
    assert (await store.get_product(p.id)).stock == 5
    assert await store.list_orders(show.id) == []


async def test_a_retry_goes_to_the_store_whatever_the_hint_says(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    first = PlaceOrder(show_id=show.id, buyer=buyer(), product_id=p.id, qty=1, key=key())
    placed = await Service(store, Settings()).place_order(first)  # the answer got lost
    again = dataclasses.replace(first, retry=True)
    result = await service(store, sold_out_here).place_order(again)
    assert result.order.id == placed.order.id and not result.created
    # A new key marked as a retry is placed too: only the store can tell it is new.
    fresh = dataclasses.replace(first, key=key(), retry=True)
    assert (await service(store, sold_out_here).place_order(fresh)).created


async def test_a_key_this_process_handed_to_the_store_goes_back_to_it(store: Store) -> None:
    """A client written to v1 resends without `retry`: the same process still answers the
    order that key made, never its own view."""
    p = await add_product(store, stock=1)
    show = await add_show(store, p)
    svc = service(store, sold_out_here)
    first = PlaceOrder(show_id=show.id, buyer=buyer(), product_id=p.id, qty=1, key=key())
    svc.refusal_hint = None  # the view knows nothing yet: the first attempt reaches the store
    placed = await svc.place_order(first)
    svc.refusal_hint = sold_out_here  # now it is sold out, as far as this process knows
    again = await svc.place_order(first)  # the same frame again, no `retry`
    assert again.order.id == placed.order.id and not again.created
    with pytest.raises(OrderRefused) as refused:  # another key is a first attempt
        await svc.place_order(dataclasses.replace(first, key=key()))
    assert refused.value.reason is Reason.SOLD_OUT


def test_the_handed_keys_are_bounded_oldest_out() -> None:
    keys = HandedKeys(limit=3)
    for k in ("a", "b", "c", "a", "d"):
        keys.add(("buyer", k))
    assert [k in keys for k in (("buyer", "a"), ("buyer", "b"), ("buyer", "d"))] == [
        True,
        False,
        True,
    ]


async def test_the_token_and_rate_checks_come_before_the_hint(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    svc = service(store, sold_out_here)
    no_token = PlaceOrder(show_id=show.id, buyer="short", product_id=p.id, qty=1, key=key())
    with pytest.raises(OrderRefused) as refused:
        await svc.place_order(no_token)
    assert refused.value.reason is Reason.INVALID
    me = buyer()
    codes = []
    for _ in range(12):  # past the buyer's burst of 10
        order = PlaceOrder(show_id=show.id, buyer=me, product_id=p.id, qty=1, key=key())
        with pytest.raises(OrderRefused) as refused:
            await svc.place_order(order)
        codes.append(refused.value.reason)
    assert codes[:10] == [Reason.SOLD_OUT] * 10 and Reason.RATE_LIMITED in codes[10:]


async def test_a_hint_about_one_buyer_is_not_taken(store: Store) -> None:
    """Only refusals that hold for every buyer may come from the hint; the store decides the
    rest (here: the order is placed)."""
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    svc = service(store, lambda show_id, product_id, option_id: Reason.LIMIT_EXCEEDED)
    order = PlaceOrder(show_id=show.id, buyer=buyer(), product_id=p.id, qty=1, key=key())
    assert (await svc.place_order(order)).created
