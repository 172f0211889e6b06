"""Claims (live/claims.py): first orders wait in the process while the units its view knows are
left are spoken for by orders in flight; they go on, first come first served, when room opens,
and are sold out when the view shows none left. Pure bookkeeping, driven by hand here."""

from __future__ import annotations

import asyncio

import pytest

from live.claims import Claims, Key, SoldOutHere
from live.domain import Product, Show, ShowState
from live.errors import Reason
from live.events import Stock
from live.hub import ShowView

KEY: Key = ("s1", "p1", None)


class View:
    """A view whose stock the test sets: None means it can't tell."""

    def __init__(self, stock: int | None) -> None:
        self.stock = stock

    def __call__(self, show_id: str, product_id: str, option_id: str | None) -> int | None:
        return self.stock


async def settled() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_orders_go_on_while_they_fit_and_park_once_the_units_are_spoken_for() -> None:
    view = View(2)
    claims = Claims(view)
    first, second = await claims.claim(KEY, 1), await claims.claim(KEY, 1)
    assert first.counted and second.counted and claims.in_flight(KEY) == 2
    third = asyncio.create_task(claims.claim(KEY, 1))
    await settled()
    assert not third.done() and claims.waiting(KEY) == 1  # both units are spoken for

    # Both in-flight orders are accepted: the view holds the stock their answers told first.
    view.stock = 1
    claims.release(first)
    view.stock = 0
    claims.release(second)
    with pytest.raises(SoldOutHere):
        await third
    assert claims.in_flight(KEY) == 0 and claims.waiting() == 0 and claims.sold_out == 1


async def test_a_refused_order_in_flight_lets_the_first_parked_order_go_on() -> None:
    view = View(1)
    claims = Claims(view)
    held = await claims.claim(KEY, 1)
    waiting = [asyncio.create_task(claims.claim(KEY, 1)) for _ in range(3)]
    await settled()
    assert claims.waiting(KEY) == 3
    claims.release(held)  # refused by the store (a limit, say): the unit is still there
    await settled()
    assert [t.done() for t in waiting] == [True, False, False]  # first come, first served
    claim = waiting[0].result()
    assert claim.counted and claims.in_flight(KEY) == 1
    view.stock = 0  # that one was accepted
    claims.release(claim)
    for task in waiting[1:]:
        with pytest.raises(SoldOutHere):
            await task


async def test_a_bigger_order_waits_until_its_quantity_fits() -> None:
    view = View(3)
    claims = Claims(view)
    held = await claims.claim(KEY, 2)
    big = asyncio.create_task(claims.claim(KEY, 2))
    await settled()
    assert not big.done()  # 1 unit left beside the 2 in flight
    claims.release(held)  # refused: 3 left, nothing in flight
    assert (await big).counted and claims.in_flight(KEY) == 2


async def test_an_order_for_more_than_is_left_goes_to_the_store_when_nothing_is_in_flight() -> None:
    claims = Claims(View(1))
    claim = await claims.claim(KEY, 5)  # the store answers it; waiting here would change nothing
    assert claim.counted and claims.in_flight(KEY) == 5


async def test_a_view_that_cannot_tell_parks_nothing_and_lets_the_parked_go_on() -> None:
    view = View(None)
    claims = Claims(view)
    free = await claims.claim(KEY, 1)
    assert not free.counted and claims.in_flight(KEY) == 0
    claims.release(free)  # harmless

    view.stock = 1
    held = await claims.claim(KEY, 1)
    parked = asyncio.create_task(claims.claim(KEY, 1))
    await settled()
    view.stock = None  # events lost: the store decides
    claims.changed("s1")
    assert not (await parked).counted
    claims.release(held)
    assert claims.in_flight(KEY) == 0


async def test_the_view_showing_none_left_sells_out_the_parked_of_that_show_only() -> None:
    view = View(1)
    claims = Claims(view)
    other: Key = ("s2", "p1", None)
    await claims.claim(KEY, 1)
    await claims.claim(other, 1)
    here = asyncio.create_task(claims.claim(KEY, 1))
    there = asyncio.create_task(claims.claim(other, 1))
    await settled()
    view.stock = 0
    claims.changed("s1")
    with pytest.raises(SoldOutHere):
        await here
    assert not there.done()
    there.cancel()


async def test_stock_coming_back_lets_parked_orders_go_on() -> None:
    view = View(1)
    claims = Claims(view)
    await claims.claim(KEY, 1)
    parked = [asyncio.create_task(claims.claim(KEY, 1)) for _ in range(3)]
    await settled()
    view.stock = 3  # a restock: two more units beside the one in flight
    claims.changed("s1")
    await settled()
    assert [t.done() for t in parked] == [True, True, False]
    assert claims.in_flight(KEY) == 3
    parked[2].cancel()


async def test_an_order_that_waited_its_patience_goes_on_to_the_store() -> None:
    claims = Claims(View(1), patience=0.05)
    await claims.claim(KEY, 1)
    late = await claims.claim(KEY, 1)  # nobody answered the first in time
    assert late.counted and claims.in_flight(KEY) == 2 and claims.gave_up == 1
    assert claims.waiting() == 0


async def test_parked_orders_go_on_each_after_its_own_patience() -> None:
    claims = Claims(View(1), patience=0.2)
    await claims.claim(KEY, 1)
    early = asyncio.create_task(claims.claim(KEY, 1))
    await asyncio.sleep(0.1)
    late = asyncio.create_task(claims.claim(KEY, 1))
    await asyncio.sleep(0.15)  # the first waited 0.25 s, the second 0.15 s
    assert early.done() and not late.done()
    assert (await late).counted and claims.gave_up == 2 and claims.in_flight(KEY) == 3
    assert claims.waiting() == 0


async def test_a_parked_order_whose_buyer_left_holds_nothing() -> None:
    view = View(1)
    claims = Claims(view)
    held = await claims.claim(KEY, 1)
    gone = asyncio.create_task(claims.claim(KEY, 1))
    after = asyncio.create_task(claims.claim(KEY, 1))
    await settled()
    gone.cancel()
    await settled()
    assert claims.waiting(KEY) == 1
    claims.release(held)  # refused: the next parked one (not the gone one) goes on
    assert (await after).counted and claims.in_flight(KEY) == 1


# --- the view the claims read: stock told by accepted answers ahead of their events ---------


def state(stock: int, seq: int) -> ShowState:
    product = Product(id="p1", name="Honey", price=100, stock=stock, created_at=0.0)
    show = Show(
        id="s1",
        title="t",
        lineup=("p1",),
        overlay_key="k",
        created_at=0.0,
        ordering_open=True,
        on_sale=frozenset({"p1"}),
        seq=seq,
    )
    return ShowState(show=show, products=(product,))


def fresh_view(stock: int, seq: int = 10) -> ShowView:
    view = ShowView()
    view.reset(state(stock, seq), view.epoch)
    assert view.fresh
    return view


def stock_event(seq: int, stock: int) -> Stock:
    return Stock(seq=seq, product_id="p1", stock=stock, sold=0, version=seq)


def test_an_accepted_answer_tells_the_view_the_stock_before_its_event() -> None:
    view = fresh_view(5)
    view.answered("p1", None, 3, seq=12)  # two orders accepted; their events still on the way
    assert view.room("p1") == 3
    view.apply(stock_event(11, 4), 0)  # the first order's event: older than what was told
    assert view.room("p1") == 3
    view.apply(stock_event(12, 3), 0)  # the told seq's own event replaces it
    view.apply(stock_event(13, 8), 0)  # a restock after it is applied as it comes
    assert view.room("p1") == 8 and view.told == {}


def test_an_answer_older_than_the_view_changes_nothing() -> None:
    view = fresh_view(5, seq=20)
    view.answered("p1", None, 1, seq=19)
    assert view.room("p1") == 5
    view.answered("p1", None, 0, seq=21)
    assert view.room("p1") == 0 and view.refusal("p1") is Reason.SOLD_OUT
    view.answered("p1", None, 2, seq=20)  # older than what was told: ignored
    assert view.room("p1") == 0


def test_a_snapshot_older_than_an_answer_keeps_the_answer() -> None:
    view = fresh_view(5)
    view.answered("p1", None, 2, seq=14)
    view.lost()  # a resync: the next snapshot is read before that order's step
    view.reset(state(4, seq=13), view.epoch)
    assert view.fresh and view.room("p1") == 2
    view.reset(state(2, seq=15), view.epoch)
    view.lost()
    view.reset(state(7, seq=16), view.epoch)  # newer than every answer: it is the truth
    assert view.room("p1") == 7 and view.told == {}


def test_room_is_unknown_where_the_view_cannot_tell() -> None:
    view = fresh_view(5)
    assert view.room("p-unknown") is None
    view.lost()
    assert view.room("p1") is None
