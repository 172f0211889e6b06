"""The store contract, run against every backend (memory and a real redis-server).

No test here imports a backend: they all go through the `store` fixture.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import itertools
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

import live.backends
from live import events as ev
from live.backends import Feed, Store, open_backend, open_store
from live.domain import Deal, OrderAccepted, OrderStatus, Profile, Show
from live.errors import Conflict, Invalid, NotFound, OrderRefused, Reason
from live.events import Event, ShowEvent
from tests.helpers import add_product, add_show, buyer, deal, order_request


async def refusal(store: Store, request: object) -> OrderRefused:
    with pytest.raises(OrderRefused) as info:
        await store.place_order(request)  # type: ignore[arg-type]
    return info.value


# --- catalog -----------------------------------------------------------------------------


async def test_products_round_trip_and_list_in_creation_order(store: Store) -> None:
    a = await add_product(
        store,
        name="Chili sauce 辣椒酱",
        stock=5,
        unit="jar",
        limit_per_buyer=2,
        producer="Grandma Li",
        description="Sun-dried <b>chilies</b>",
    )
    b = await add_product(store, name="Honey", stock=0)
    assert await store.get_product(a.id) == a
    assert [p.id for p in await store.list_products()] == [a.id, b.id]
    assert (await store.get_product(b.id)).limit_per_buyer is None


async def test_unknown_ids_raise_not_found(store: Store) -> None:
    for call in (
        store.get_product("nope"),
        store.update_product("nope", {}, stock=1),
        store.update_product("nope", {}, stock_delta=1),
        store.get_show("nope"),
        store.show_state("nope"),
        store.set_ordering("nope", True),
        store.set_featured("nope", None),
        store.get_order("nope"),
        store.cancel_order("nope"),
        store.set_order_status("nope", OrderStatus.PAID),
        store.list_orders("nope"),
    ):
        with pytest.raises(NotFound):
            await call


async def test_values_are_snapshots(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    await store.place_order(order_request(show, p))
    assert p.stock == 5  # what the caller held did not move
    assert (await store.get_product(p.id)).stock == 4


async def test_update_product_fields_and_stock(store: Store) -> None:
    p = await add_product(store, stock=5)
    updated = await store.update_product(p.id, {"name": "Hot sauce", "limit_per_buyer": 3}, stock=9)
    assert (updated.name, updated.stock, updated.limit_per_buyer) == ("Hot sauce", 9, 3)
    assert updated.version > p.version
    updated = await store.update_product(p.id, {"limit_per_buyer": None}, stock_delta=-4)
    assert (updated.stock, updated.limit_per_buyer) == (5, None)
    assert await store.get_product(p.id) == updated


async def test_stock_delta_never_goes_below_zero(store: Store) -> None:
    p = await add_product(store, stock=3)
    with pytest.raises(Conflict):
        await store.update_product(p.id, {"name": "changed"}, stock_delta=-4)
    after = await store.get_product(p.id)
    assert (after.stock, after.name) == (3, p.name)  # nothing half-applied
    with pytest.raises(Invalid):
        await store.update_product(p.id, {}, stock=1, stock_delta=1)


async def test_product_change_bumps_the_seq_of_its_shows(store: Store) -> None:
    p = await add_product(store)
    show = await add_show(store, p)
    await store.update_product(p.id, {}, stock_delta=5)
    assert (await store.get_show(show.id)).seq > show.seq


# --- shows -------------------------------------------------------------------------------


async def test_show_needs_existing_products(store: Store) -> None:
    p = await add_product(store)
    with pytest.raises(Invalid):
        await add_show(store, p, dataclasses.replace(p, id="missing"))


async def test_new_show_is_closed_with_nothing_on_sale(store: Store) -> None:
    p = await add_product(store)
    show = await add_show(store, p, open_=False, on_sale=False)
    state = await store.show_state(show.id)
    assert not state.show.ordering_open
    assert state.show.on_sale == frozenset()
    assert state.show.featured_product_id is None
    assert [x.id for x in state.products] == [p.id]


async def test_featuring_puts_on_sale_and_closing_leaves_the_flags_alone(store: Store) -> None:
    a, b = await add_product(store), await add_product(store)
    show = await add_show(store, a, b, on_sale=False)
    seq = show.seq
    show = await store.set_featured(show.id, a.id)
    assert show.featured_product_id == a.id and show.on_sale == {a.id} and show.seq > seq
    show = await store.set_featured(show.id, None)
    assert show.featured_product_id is None and show.on_sale == {
        a.id
    }  # un-featuring keeps it on sale
    show = await store.set_on_sale(show.id, b.id, True)
    assert show.on_sale == {a.id, b.id}
    show = await store.set_on_sale(show.id, a.id, False)
    assert show.on_sale == {b.id}
    show = await store.set_ordering(show.id, False)
    assert not show.ordering_open and show.on_sale == {b.id}


async def test_reopening_resumes_the_sale_as_it_was(store: Store) -> None:
    a, b = await add_product(store, stock=5), await add_product(store, stock=5)
    show = await add_show(store, a, b, on_sale=False)
    await store.set_featured(show.id, a.id)
    await store.set_on_sale(show.id, b.id, True)
    closed = await store.set_ordering(show.id, False)
    assert closed.on_sale == {a.id, b.id} and closed.featured_product_id == a.id
    assert (await refusal(store, order_request(show, a))).reason is Reason.ORDERING_CLOSED
    reopened = await store.set_ordering(show.id, True)
    assert reopened.on_sale == {a.id, b.id} and reopened.featured_product_id == a.id
    assert (
        await store.place_order(order_request(show, a))
    ).created  # the featured product sells on
    assert (await store.place_order(order_request(show, b))).created


async def test_show_changes_refuse_products_outside_the_lineup(store: Store) -> None:
    a, other = await add_product(store), await add_product(store)
    show = await add_show(store, a)
    for change in (
        store.set_featured(show.id, other.id),
        store.set_on_sale(show.id, other.id, True),
        store.set_deal(show.id, other.id, deal(1)),
    ):
        with pytest.raises(Invalid):
            await change
    assert (await store.get_show(show.id)).seq == show.seq  # nothing changed


async def test_overlay_key_rotates(store: Store) -> None:
    p = await add_product(store)
    show = await add_show(store, p)
    show2 = await store.set_overlay_key(show.id, "new-key-123")
    assert show2.overlay_key == "new-key-123" != show.overlay_key


# --- orders: the rules -------------------------------------------------------------------


async def test_accepted_order_takes_stock_and_records_everything(store: Store) -> None:
    p = await add_product(store, stock=10, price=2500)
    show = await add_show(store, p)
    req = order_request(show, p, qty=3)
    result = await store.place_order(req)
    assert result.created and result.stock == 7 and result.seq > show.seq
    o = result.order
    assert (
        o.id,
        o.show_id,
        o.product_id,
        o.buyer,
        o.qty,
        o.price,
        o.currency,
        o.status,
        o.key,
    ) == (
        req.order_id,
        show.id,
        p.id,
        req.buyer,
        3,
        2500,
        "CNY",
        OrderStatus.CLAIMED,
        req.key,
    )
    assert o.created_at == pytest.approx(req.now)
    assert await store.get_order(o.id) == o
    assert await store.list_orders(show.id) == [o]
    after = await store.get_product(p.id)
    assert (after.stock, after.sold) == (7, 3)


async def test_refusal_reasons_follow_the_contract_precedence(store: Store) -> None:
    p = await add_product(store, stock=2, limit_per_buyer=3)
    outside = await add_product(store)
    show = await add_show(store, p, open_=False, on_sale=False)
    me = buyer()
    assert (await refusal(store, order_request(show, p, buyer=me))).reason is Reason.ORDERING_CLOSED
    await store.set_ordering(show.id, True)
    assert (await refusal(store, order_request(show, p, buyer=me))).reason is Reason.NOT_ON_SALE
    assert (await refusal(store, order_request(show, outside))).reason is Reason.NOT_ON_SALE
    await store.set_on_sale(show.id, p.id, True)
    # limit (3) beats "fewer left than asked" (2): limit_exceeded comes first
    r = await refusal(store, order_request(show, p, buyer=me, qty=4))
    assert (r.reason, r.stock) == (Reason.LIMIT_EXCEEDED, 2)
    r = await refusal(store, order_request(show, p, buyer=me, qty=3))
    assert (r.reason, r.stock) == (Reason.SOLD_OUT, 2)  # within the limit, but only 2 left
    await store.place_order(order_request(show, p, buyer=me, qty=2))
    # no stock at all: sold_out comes before limit_exceeded
    r = await refusal(store, order_request(show, p, buyer=me, qty=2))
    assert (r.reason, r.stock) == (Reason.SOLD_OUT, 0)
    after = await store.get_product(p.id)
    assert (after.stock, after.sold) == (0, 2)


async def test_deal_price_applies_only_while_it_runs(store: Store) -> None:
    p = await add_product(store, stock=10, price=3000)
    show = await add_show(store, p)
    await store.set_deal(show.id, p.id, deal(1990, seconds=60))
    state = await store.show_state(show.id)
    assert state.show.deals[p.id].price == 1990
    now = time.time()
    during = await store.place_order(order_request(show, p, now=now))
    after_end = await store.place_order(order_request(show, p, now=now + 120))
    assert (during.order.price, after_end.order.price) == (1990, 3000)
    await store.set_deal(show.id, p.id, None)
    assert (await store.place_order(order_request(show, p))).order.price == 3000
    assert p.id not in (await store.get_show(show.id)).deals


async def test_a_deal_above_a_lowered_normal_price_is_ignored(store: Store) -> None:
    p = await add_product(store, price=3000)
    show = await add_show(store, p)
    await store.set_deal(show.id, p.id, deal(1990))
    await store.update_product(p.id, {"price": 1500})
    assert (await store.place_order(order_request(show, p))).order.price == 1500


# --- orders: idempotency -----------------------------------------------------------------


async def test_repeated_key_answers_the_same_order_once(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    first = order_request(show, p, qty=2)
    a = await store.place_order(first)
    b = await store.place_order(dataclasses.replace(first, order_id="another-id"))
    assert a.created and not b.created
    assert b.order == a.order and b.stock == 3
    assert (await store.get_product(p.id)).stock == 3


async def test_key_reused_for_a_different_order_is_invalid(store: Store) -> None:
    p, q = await add_product(store, stock=5), await add_product(store, stock=5)
    show = await add_show(store, p, q)
    other_show = await add_show(store, p)
    first = order_request(show, p, qty=1)
    await store.place_order(first)
    for changed in (
        dataclasses.replace(first, qty=2, order_id="x1"),
        dataclasses.replace(first, product_id=q.id, order_id="x2"),
        dataclasses.replace(first, show_id=other_show.id, order_id="x3"),
    ):
        assert (await refusal(store, changed)).reason is Reason.INVALID
    assert (await store.get_product(p.id)).stock == 4
    assert (await store.get_product(q.id)).stock == 5


async def test_same_key_from_another_buyer_is_another_order(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    a = await store.place_order(order_request(show, p, key="shared-key-1"))
    b = await store.place_order(order_request(show, p, key="shared-key-1"))
    assert a.order.id != b.order.id and b.created


async def test_repeat_after_cancel_answers_the_cancelled_order(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    req = order_request(show, p)
    placed = await store.place_order(req)
    await store.cancel_order(placed.order.id)
    again = await store.place_order(dataclasses.replace(req, order_id="other"))
    assert not again.created and again.order.id == placed.order.id
    assert again.order.status is OrderStatus.CANCELLED
    assert (await store.get_product(p.id)).stock == 5


async def test_repeat_is_answered_even_after_ordering_closes(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    req = order_request(show, p)
    placed = await store.place_order(req)
    await store.set_ordering(show.id, False)
    again = await store.place_order(req)
    assert again.order.id == placed.order.id and not again.created


async def test_order_in_unknown_show_is_not_found(store: Store) -> None:
    p = await add_product(store)
    show = await add_show(store, p)
    with pytest.raises(NotFound):
        await store.place_order(dataclasses.replace(order_request(show, p), show_id="missing"))


# --- cancel and status -------------------------------------------------------------------


async def test_cancel_restocks_once_and_frees_the_buyer_limit(store: Store) -> None:
    p = await add_product(store, stock=5, limit_per_buyer=2)
    show = await add_show(store, p)
    me = buyer()
    placed = await store.place_order(order_request(show, p, buyer=me, qty=2))
    seq = (await store.get_show(show.id)).seq
    o, changed = await store.cancel_order(placed.order.id)
    assert changed and o.status is OrderStatus.CANCELLED
    o2, changed2 = await store.cancel_order(placed.order.id)
    assert not changed2 and o2.status is OrderStatus.CANCELLED
    after = await store.get_product(p.id)
    assert (after.stock, after.sold) == (5, 0)
    assert (await store.get_show(show.id)).seq == seq + 1
    # the cancelled units no longer count against the limit
    assert (await store.place_order(order_request(show, p, buyer=me, qty=2))).created


async def test_order_status_moves_forward_only(store: Store) -> None:
    p = await add_product(store, stock=5)
    show = await add_show(store, p)
    o = (await store.place_order(order_request(show, p))).order
    assert (await store.set_order_status(o.id, OrderStatus.PAID)).status is OrderStatus.PAID
    with pytest.raises(Conflict):
        await store.set_order_status(o.id, OrderStatus.CLAIMED)
    assert (await store.set_order_status(o.id, OrderStatus.SHIPPED)).status is OrderStatus.SHIPPED
    with pytest.raises(Conflict):
        await store.cancel_order(o.id)
    assert (await store.get_product(p.id)).stock == 4


# --- concurrency -------------------------------------------------------------------------


async def test_2000_concurrent_orders_against_500_never_oversell(store: Store) -> None:
    p = await add_product(store, stock=500)
    show = await add_show(store, p)
    results = await asyncio.gather(
        *(store.place_order(order_request(show, p)) for _ in range(2000)), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, OrderRefused)]
    assert len(accepted) == 500 and len(refused) == 1500
    assert {r.reason for r in refused} == {Reason.SOLD_OUT}
    after = await store.get_product(p.id)
    assert (after.stock, after.sold) == (0, 500)
    assert len(await store.list_orders(show.id)) == 500


async def test_two_independent_clients_share_the_stock(
    store: Store, backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> None:
    """Two client pools on one Redis, as two server processes would have (memory: one store)."""
    other = store
    if backend == "redis":
        other = open_store(request.getfixturevalue("redis_url"), prefix=key_prefix)
    try:
        p = await add_product(store, stock=300)
        show = await add_show(store, p)
        results = await asyncio.gather(
            *((store if i % 2 else other).place_order(order_request(show, p)) for i in range(1000)),
            return_exceptions=True,
        )
        accepted = [r for r in results if not isinstance(r, BaseException)]
        assert len(accepted) == 300
        assert all(isinstance(r, OrderRefused) for r in results if isinstance(r, BaseException))
        after = await other.get_product(p.id)
        assert (after.stock, after.sold) == (0, 300)
    finally:
        if other is not store:
            await other.close()


async def test_same_key_repeated_concurrently_takes_stock_once(store: Store) -> None:
    p = await add_product(store, stock=100)
    show = await add_show(store, p)
    req = order_request(show, p, qty=3)
    results = await asyncio.gather(
        *(store.place_order(dataclasses.replace(req, order_id=f"o{i}")) for i in range(200))
    )
    assert len({r.order.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert (await store.get_product(p.id)).stock == 97
    assert len(await store.list_orders(show.id)) == 1


async def test_per_buyer_limit_holds_under_concurrency(store: Store) -> None:
    p = await add_product(store, stock=1000, limit_per_buyer=3)
    show = await add_show(store, p)
    buyers = [buyer() for _ in range(5)]
    results = await asyncio.gather(
        *(store.place_order(order_request(show, p, buyer=b)) for b in buyers for _ in range(40)),
        return_exceptions=True,
    )
    per_buyer = Counter(r.order.buyer for r in results if not isinstance(r, BaseException))
    assert per_buyer == {b: 3 for b in buyers}
    assert {r.reason for r in results if isinstance(r, OrderRefused)} == {Reason.LIMIT_EXCEEDED}
    assert (await store.get_product(p.id)).stock == 1000 - 15


async def test_concurrent_cancels_restock_exactly_once(store: Store) -> None:
    p = await add_product(store, stock=10)
    show = await add_show(store, p)
    placed = await store.place_order(order_request(show, p, qty=4))
    results = await asyncio.gather(*(store.cancel_order(placed.order.id) for _ in range(20)))
    assert sum(changed for _, changed in results) == 1
    after = await store.get_product(p.id)
    assert (after.stock, after.sold) == (10, 0)


async def test_orders_cancels_and_restocks_interleaved_keep_stock_plus_sold(store: Store) -> None:
    p = await add_product(store, stock=50)
    show = await add_show(store, p)
    placed = [await store.place_order(order_request(show, p, qty=2)) for _ in range(10)]

    async def restock() -> None:
        await store.update_product(p.id, {}, stock_delta=5)

    jobs = [store.place_order(order_request(show, p, qty=1)) for _ in range(100)]
    jobs += [store.cancel_order(x.order.id) for x in placed]
    jobs += [restock() for _ in range(4)]
    await asyncio.gather(*jobs, return_exceptions=True)
    after = await store.get_product(p.id)
    assert after.stock >= 0
    assert after.stock + after.sold == 50 + 20
    live_units = sum(o.qty for o in await store.list_orders(show.id) if o.status != "cancelled")
    assert live_units == after.sold


async def test_stock_changes_bump_the_seq_of_every_show_holding_the_product(store: Store) -> None:
    """Stock belongs to the product: a change made through one show shows in all of them."""
    p = await add_product(store, stock=10)
    a, b = await add_show(store, p), await add_show(store, p)
    seqs = [(await store.get_show(a.id)).seq, (await store.get_show(b.id)).seq]
    placed = await store.place_order(order_request(a, p))
    assert placed.seq == (await store.get_show(a.id)).seq > seqs[0]
    after_order = (await store.get_show(b.id)).seq
    assert after_order > seqs[1]
    await store.cancel_order(placed.order.id)
    assert (await store.get_show(b.id)).seq > after_order


# --- short codes, buyers -----------------------------------------------------------------


async def test_short_codes_find_their_show_and_never_repeat(store: Store) -> None:
    p = await add_product(store)
    show = await store.create_show(
        Show(id="s-short-1", title="t", lineup=(p.id,), overlay_key="k", short_code="ABC234")
    )
    assert await store.show_by_code("ABC234") == show.id
    assert (await store.get_show(show.id)).short_code == "ABC234"
    with pytest.raises(Conflict):
        await store.create_show(
            Show(id="s-short-2", title="t", lineup=(p.id,), overlay_key="k", short_code="ABC234")
        )
    with pytest.raises(NotFound):
        await store.get_show("s-short-2")  # nothing of the refused show was written
    with pytest.raises(NotFound):
        await store.show_by_code("ZZZ999")


async def test_profiles_and_a_buyers_orders(store: Store) -> None:
    p = await add_product(store, stock=10)
    a, b = await add_show(store, p), await add_show(store, p)
    me = buyer()
    first = await store.place_order(order_request(a, p, buyer=me))
    await store.place_order(order_request(b, p, buyer=me))
    await store.place_order(order_request(a, p))  # someone else
    mine = await store.buyer_orders(me, a.id)
    assert [o.id for o in mine] == [first.order.id]
    assert await store.get_profiles([me]) == {}
    profile = Profile(name="王小明", phone="+86 138 0000 0000", street="1 Road", city="上海")
    await store.set_profile(me, profile)
    assert await store.get_profiles([me, buyer()]) == {me: profile}
    await store.set_profile(me, dataclasses.replace(profile, city="杭州"))
    assert (await store.get_profiles([me]))[me].city == "杭州"


async def test_coop_settings_merge_and_remove(store: Store) -> None:
    assert await store.get_coop_settings() == {}
    assert await store.set_coop_settings({"lang": "zh-CN", "name": "Sunlit 阳光"}) == {
        "lang": "zh-CN",
        "name": "Sunlit 阳光",
    }
    assert await store.set_coop_settings({"lang": "en", "name": ""}) == {"lang": "en"}
    assert await store.get_coop_settings() == {"lang": "en"}


# --- the first real show: an ended show, lineups, archive, numbers, shipping, toasts -------


class Events:
    """The show events the store publishes, as a server process receives them (its feed),
    kept as the JSON objects they are on the wire."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.typed: list[tuple[str, Event]] = []

    def deliver(self, show_id: str, event: Event) -> None:
        assert isinstance(event, ShowEvent)  # typed: a live.events Struct, never a dict
        self.typed.append((show_id, event))
        self.seen.append((show_id, msgspec.to_builtins(event)))

    def of(self, show_id: str) -> list[dict[str, Any]]:
        return [e for sid, e in self.seen if sid == show_id]

    async def settle(self) -> None:
        """Let events published so far arrive (Redis pub/sub delivers them a moment later)."""
        await asyncio.sleep(0.15)


@pytest.fixture
async def events(store: Store) -> AsyncIterator[tuple[Events, Feed]]:
    seen = Events()
    broker = store.open_feed()

    async def resync(show_ids: set[str]) -> None:
        return None

    await broker.start(seen.deliver, resync)
    try:
        yield seen, broker
    finally:
        await broker.close()


async def test_an_ended_show_is_final(store: Store) -> None:
    a, b = await add_product(store, stock=5), await add_product(store, stock=5)
    show = await add_show(store, a, on_sale=False)
    await store.set_featured(show.id, a.id)
    ended = await store.end_show(show.id)
    assert ended.ended and not ended.ordering_open and ended.on_sale == frozenset()
    for change in (
        store.set_ordering(show.id, True),
        store.set_featured(show.id, a.id),
        store.set_featured(show.id, None),
        store.set_on_sale(show.id, a.id, True),
        store.set_deal(show.id, a.id, deal(1)),
        store.set_deal(show.id, a.id, None),
        store.set_lineup(show.id, (a.id, b.id)),
        store.set_toasts(show.id, False),
    ):
        with pytest.raises(Conflict):
            await change
    # ending again and closing ordering change nothing and are no error
    assert await store.end_show(show.id) == ended
    assert await store.set_ordering(show.id, False) == ended
    assert await store.get_show(show.id) == ended
    assert (await refusal(store, order_request(show, a))).reason is Reason.ORDERING_CLOSED
    assert (await store.show_state(show.id)).show.ended
    assert (await store.get_product(a.id)).stock == 5
    # the overlay key may still be rotated (a leaked key must be stoppable at any time)
    assert (await store.set_overlay_key(show.id, "another-key-1")).overlay_key == "another-key-1"


async def test_ending_publishes_once(store: Store, events: tuple[Events, Feed]) -> None:
    seen, broker = events
    p = await add_product(store)
    show = await add_show(store, p)
    await broker.subscribe(show.id)
    await store.end_show(show.id)
    await store.end_show(show.id)
    await store.set_ordering(show.id, False)
    await seen.settle()
    assert [e["type"] for e in seen.of(show.id)] == ["show_ended"]


async def test_lineup_adds_removes_and_reorders(store: Store) -> None:
    a, b, c = [await add_product(store, stock=10) for _ in range(3)]
    show = await add_show(store, a, b, on_sale=False)
    await store.set_featured(show.id, b.id)
    await store.set_on_sale(show.id, a.id, True)
    await store.set_deal(show.id, b.id, deal(500))
    placed = await store.place_order(order_request(show, b, qty=2))
    before = await store.get_show(show.id)
    changed = await store.set_lineup(show.id, (c.id, a.id))
    assert changed.lineup == (c.id, a.id) and changed.seq > before.seq
    assert changed.event_seq == changed.seq > before.event_seq
    # the removed product is no longer on sale, featured or in a deal here
    assert changed.on_sale == {a.id} and changed.featured_product_id is None
    assert changed.deals == {}
    state = await store.show_state(show.id)
    assert [p.id for p in state.products] == [c.id, a.id]
    assert state.show == changed == await store.get_show(show.id)
    assert (await refusal(store, order_request(show, b))).reason is Reason.NOT_ON_SALE
    assert (
        await refusal(store, order_request(show, c))
    ).reason is Reason.NOT_ON_SALE  # not on sale yet
    await store.set_on_sale(show.id, c.id, True)
    assert (await store.place_order(order_request(show, c))).created
    # orders already placed are untouched, and can still be handled
    assert await store.get_order(placed.order.id) == placed.order
    listed = [o.id for o in await store.list_orders(show.id)]
    assert len(listed) == 2 and listed[0] == placed.order.id
    assert (await store.cancel_order(placed.order.id))[1]
    assert (await store.get_product(b.id)).stock == 10
    # reordering only, and putting a removed product back
    again = await store.set_lineup(show.id, (a.id, b.id, c.id))
    assert again.lineup == (a.id, b.id, c.id) and again.on_sale == {a.id, c.id}


async def test_an_unchanged_lineup_changes_nothing(store: Store) -> None:
    a, b = await add_product(store), await add_product(store)
    show = await add_show(store, a, b)
    assert await store.set_lineup(show.id, (a.id, b.id)) == await store.get_show(show.id)
    assert (await store.get_show(show.id)).seq == show.seq


async def test_lineup_refuses_unknown_and_archived_products_and_changes_nothing(
    store: Store,
) -> None:
    a, b, old = await add_product(store), await add_product(store), await add_product(store)
    show = await add_show(store, a, old)
    await store.update_product(old.id, {"archived": True})
    await store.update_product(b.id, {"archived": True})
    show = await store.get_show(show.id)
    with pytest.raises(Invalid, match="unknown"):
        await store.set_lineup(show.id, (a.id, "p-missing"))
    with pytest.raises(Invalid, match="archived"):
        await store.set_lineup(show.id, (a.id, old.id, b.id))
    after = await store.get_show(show.id)
    assert after.lineup == (a.id, old.id) and after.seq == show.seq
    # an archived product already in the lineup may stay, and move
    assert (await store.set_lineup(show.id, (old.id, a.id))).lineup == (old.id, a.id)
    with pytest.raises(NotFound):
        await store.set_lineup("missing", (a.id,))


async def test_stock_events_follow_the_lineup(store: Store, events: tuple[Events, Feed]) -> None:
    """The product's set of shows follows the lineup: a removed show hears no more of its
    stock, an added one does (on Redis, through a process that cached the old set too)."""
    seen, broker = events
    p, q = await add_product(store, stock=50), await add_product(store, stock=50)
    a, b = await add_show(store, p, q), await add_show(store, q)
    for show in (a, b):
        await broker.subscribe(show.id)
    await store.place_order(order_request(a, p))  # caches p's shows (Redis)
    await store.update_product(p.id, {}, stock_delta=1)
    await store.set_lineup(a.id, (q.id,))
    await store.set_lineup(b.id, (q.id, p.id))
    await store.set_on_sale(b.id, p.id, True)
    seqs = {s.id: (await store.get_show(s.id)).seq for s in (a, b)}
    placed = await store.place_order(order_request(b, p))
    await store.update_product(p.id, {}, stock_delta=2)
    await store.cancel_order(placed.order.id)
    await store.update_product(p.id, {"name": "Renamed"})
    assert (await store.get_show(a.id)).seq == seqs[a.id]
    assert (await store.get_show(b.id)).seq == seqs[b.id] + 4
    await seen.settle()
    late_a = [e for e in seen.of(a.id) if e["seq"] > seqs[a.id]]
    late_b = [(e["type"], e.get("stock")) for e in seen.of(b.id) if e["seq"] > seqs[b.id]]
    assert late_a == []
    assert late_b == [("order", 49), ("stock", 51), ("stock", 52), ("product", None)]


async def test_orders_racing_a_removal_from_the_lineup(store: Store) -> None:
    """No order is accepted after the step that removes the product; no unit is lost."""
    p, q = await add_product(store, stock=1000), await add_product(store)
    show = await add_show(store, p, q)
    removed: list[Show] = []
    done = asyncio.Event()

    async def tap(i: int) -> object:
        await asyncio.sleep(i * 0.0005)
        if i >= 250:
            await done.wait()  # a few surely after it, however slow the removal's turn
        try:
            return await store.place_order(order_request(show, p, qty=1 + i % 2))
        except OrderRefused as exc:
            return exc

    async def remove() -> None:
        await asyncio.sleep(0.05)
        removed.append(await store.set_lineup(show.id, (q.id,)))
        done.set()

    results = await asyncio.gather(*(tap(i) for i in range(300)), remove())
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    refused = [r for r in results if isinstance(r, OrderRefused)]
    assert accepted and refused and len(accepted) + len(refused) == 300
    assert {r.reason for r in refused} == {Reason.NOT_ON_SALE}
    assert all(r.seq < removed[0].seq for r in accepted)  # every one before the removal
    after = await store.get_product(p.id)
    sold = sum(r.order.qty for r in accepted)
    assert (after.stock, after.sold) == (1000 - sold, sold)
    assert sorted(o.id for o in await store.list_orders(show.id)) == sorted(
        r.order.id for r in accepted
    )
    assert (await refusal(store, order_request(show, p))).reason is Reason.NOT_ON_SALE


async def test_archived_products_keep_their_orders_and_shows(store: Store) -> None:
    p = await add_product(store, stock=10)
    show = await add_show(store, p)
    placed = await store.place_order(order_request(show, p))
    archived = await store.update_product(p.id, {"archived": True})
    assert archived.archived and archived.version > p.version
    assert (await store.get_product(p.id)).archived
    assert p.id in [x.id for x in await store.list_products()]  # the store lists every product
    assert await store.get_order(placed.order.id) == placed.order
    assert (await store.place_order(order_request(show, p))).created  # its show sells on
    with pytest.raises(Invalid, match="archived"):
        await add_show(store, p)
    restored = await store.update_product(p.id, {"archived": False})
    assert not restored.archived
    assert (await add_show(store, p)).lineup == (p.id,)


async def test_orders_are_numbered_per_show_from_one(store: Store) -> None:
    p = await add_product(store, stock=10, limit_per_buyer=2)
    a, b = await add_show(store, p), await add_show(store, p)
    me = buyer()
    first = await store.place_order(order_request(a, p, buyer=me, qty=2))
    await refusal(store, order_request(a, p, buyer=me))  # a refusal takes no number
    second = await store.place_order(order_request(a, p))
    other = await store.place_order(order_request(b, p))
    assert (first.order.number, second.order.number, other.order.number) == (1, 2, 1)
    again = await store.place_order(
        dataclasses.replace(order_request(a, p, buyer=me, qty=2), key=first.order.key)
    )
    assert not again.created and again.order.number == 1
    await store.cancel_order(second.order.id)
    assert [o.number for o in await store.list_orders(a.id)] == [1, 2]
    assert (await store.get_order(second.order.id)).number == 2
    assert (await store.place_order(order_request(a, p))).order.number == 3


async def test_a_burst_of_orders_gets_distinct_consecutive_numbers(store: Store) -> None:
    p = await add_product(store, stock=200)
    show = await add_show(store, p)
    retried = order_request(show, p)
    jobs = []
    for i in range(300):  # a retried key among the first hundred, while there is stock
        if i < 100 and i % 5 == 0:
            jobs.append(store.place_order(dataclasses.replace(retried, order_id=f"o{i}")))
        jobs.append(store.place_order(order_request(show, p)))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    assert all(isinstance(r, OrderAccepted | OrderRefused) for r in results)
    by_order = {r.order.id: r.order.number for r in accepted}
    assert sorted(by_order.values()) == list(range(1, 201))
    assert len({r.order.number for r in accepted if r.order.key == retried.key}) == 1
    stored = {o.id: o.number for o in await store.list_orders(show.id)}
    assert stored == by_order


async def test_shipping_an_unpaid_order_is_an_explicit_choice(store: Store) -> None:
    p = await add_product(store, stock=10)
    show = await add_show(store, p)
    unpaid = (await store.place_order(order_request(show, p))).order
    with pytest.raises(Conflict, match="unpaid"):
        await store.set_order_status(unpaid.id, OrderStatus.SHIPPED)
    assert await store.get_order(unpaid.id) == unpaid  # nothing changed
    shipped = await store.set_order_status(unpaid.id, OrderStatus.SHIPPED, unpaid=True)
    assert shipped.status is OrderStatus.SHIPPED and shipped.cash_on_delivery
    assert await store.get_order(unpaid.id) == shipped
    assert await store.set_order_status(unpaid.id, OrderStatus.SHIPPED) == shipped  # a repeat
    paid = (await store.place_order(order_request(show, p))).order
    await store.set_order_status(paid.id, OrderStatus.PAID)
    done = await store.set_order_status(paid.id, OrderStatus.SHIPPED, unpaid=True)
    assert done.status is OrderStatus.SHIPPED and not done.cash_on_delivery


async def test_toasts_per_show(store: Store, events: tuple[Events, Feed]) -> None:
    """With toasts off, the order event says so and carries no buyer name or city."""
    seen, broker = events
    p = await add_product(store, stock=10)
    show = await add_show(store, p)
    assert show.toasts
    quiet = await store.create_show(
        Show(id="s-quiet-1", title="t", lineup=(p.id,), overlay_key="k", toasts=False)
    )
    assert not (await store.get_show(quiet.id)).toasts
    me = buyer()
    await store.set_profile(
        me, Profile(name="王小明", phone="13800000000", street="1 Road", city="上海", toasts=True)
    )
    await broker.subscribe(show.id)
    await store.place_order(order_request(show, p, buyer=me))
    off = await store.set_toasts(show.id, False)
    assert not off.toasts and not (await store.show_state(show.id)).show.toasts
    await store.place_order(order_request(show, p, buyer=me))
    on = await store.set_toasts(show.id, True)
    assert on.toasts and on.event_seq == on.seq
    await store.place_order(order_request(show, p, buyer=me))
    await seen.settle()
    got = [
        (e["type"], e.get("toast", e.get("on")), e.get("name"), e.get("city"))
        for e in seen.of(show.id)
    ]
    assert got == [
        ("order", True, "王", "上海"),
        ("toasts", False, None, None),
        ("order", False, None, None),
        ("toasts", True, None, None),
        ("order", True, "王", "上海"),
    ]
    toggles = [e for e in seen.of(show.id) if e["type"] == "toasts"]
    assert toggles[1]["prev"] == toggles[0]["seq"]


async def test_each_step_publishes_the_typed_event_its_receivers_need(
    store: Store, events: tuple[Events, Feed]
) -> None:
    """Both backends publish the same `live.events`, each carrying what the hub needs so that it
    never reads the store back: a product edit carries the product and its place in the show,
    an overlay key rotation the new key's digest (and never the key)."""
    seen, feed = events
    p, q = await add_product(store, stock=10), await add_product(store, stock=10)
    show = await add_show(store, p, q)
    await feed.subscribe(show.id)
    ends_at = time.time() + 3600.123456  # more digits than Lua's cjson keeps
    await store.set_featured(show.id, p.id)
    await store.set_on_sale(show.id, q.id, False)
    await store.set_deal(show.id, p.id, Deal(price=800, ends_at=ends_at))
    placed = await store.place_order(order_request(show, p, qty=2))
    await store.cancel_order(placed.order.id)
    edited = await store.update_product(p.id, {"name": "Renamed 新", "limit_per_buyer": 3})
    await store.set_toasts(show.id, False)
    await store.set_ordering(show.id, False)
    await store.set_lineup(show.id, (p.id,))
    await store.set_overlay_key(show.id, "a-brand-new-overlay-key")
    await store.end_show(show.id)
    await seen.settle()
    got = [e for sid, e in seen.typed if sid == show.id]
    assert [type(e) for e in got] == [
        ev.Featured,
        ev.OnSale,
        ev.DealChanged,
        ev.OrderPlaced,
        ev.Stock,
        ev.ProductEdited,
        ev.Toasts,
        ev.Ordering,
        ev.LineupChanged,
        ev.OverlayKeyRotated,
        ev.ShowEnded,
    ]
    assert {type(e) for e in got} == set(get_args(ev.Event))  # every type, on every backend
    featured, on_sale, dealt, placed_event, cancelled, product = got[:6]
    assert featured == ev.Featured(seq=featured.seq, prev=featured.prev, product_id=p.id)
    assert on_sale == ev.OnSale(seq=on_sale.seq, prev=featured.seq, product_id=q.id, on_sale=False)
    assert isinstance(dealt, ev.DealChanged) and dealt.deal_ends_at == ends_at  # exactly
    assert isinstance(placed_event, ev.OrderPlaced) and placed_event.stock == 8
    assert isinstance(cancelled, ev.Stock) and cancelled.stock == 10
    assert product == ev.ProductEdited(
        seq=product.seq,
        prev=dealt.seq,
        product=ev.PublicProduct.of(edited),
        on_sale=True,
        deal=ev.DealTerms(price=800, ends_at=ends_at),
    )
    rotated = got[9]
    assert rotated == ev.OverlayKeyRotated(
        seq=rotated.seq, key_digest=ev.key_digest("a-brand-new-overlay-key")
    )
    assert b"a-brand-new-overlay-key" not in ev.encode_event(rotated)
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    discrete = [e for e in got if isinstance(e, ev.Discrete)]
    assert all(b.prev == a.seq for a, b in itertools.pairwise(discrete))


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (None, "memory"),
        ("", "memory"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("rediss://cache.example.org:6380/1", "redis"),
        ("unix:///run/redis/redis.sock", "redis"),
    ],
)
async def test_open_backend_picks_the_backend_by_url_scheme(url: str | None, kind: str) -> None:
    backend = open_backend(url, prefix="t")  # nothing connects yet
    try:
        assert backend.kind == backend.store.kind == kind
        assert isinstance(backend.store, Store) and isinstance(backend.feed, Feed)
    finally:
        await backend.close()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379", "memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis:/x"]
)
def test_open_backend_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="must start with redis://, rediss:// or unix://"):
        open_backend(url)


def test_a_backend_is_imported_only_when_used() -> None:
    code = (
        "import sys\n"
        "from live.backends import open_backend\n"
        "open_backend(None)\n"
        "print('redis' in sys.modules, 'live.backends.redis' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_backend_packages_stand_alone() -> None:
    """memory and redis never import each other; nothing in live.backends imports the layers
    above it (hub, service, web, app)."""
    root = Path(live.backends.__file__).parent
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        forbidden = ["live.hub", "live.service", "live.web", "live.app"]
        if parts[0] == "memory":
            forbidden.append("live.backends.redis")
        if parts[0] == "redis":
            forbidden.append("live.backends.memory")
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (
                    f"{path.relative_to(root)} imports {name}"
                )


# --- limits against scalpers: per phone, delivery details that expire, client addresses ---

PHONE = "8613800138000"
OTHER_PHONE = "8613900139000"
# Stores get phones as live.delivery keeps them, and their keys as live.delivery.phone_key.
DETAILS = Profile(name="Li Mei", phone="+86 138 0013 8000", street="1 Orchard Rd", city="Hangzhou")


async def test_the_buyer_limit_counts_every_token_tied_to_a_phone(store: Store) -> None:
    p = await add_product(store, stock=100, limit_per_buyer=2)
    show = await add_show(store, p)
    first, second, third, stranger = (buyer() for _ in range(4))
    early = await store.place_order(order_request(show, p, buyer=first))  # before any details
    await store.set_profile(first, DETAILS, phone_key=PHONE)  # brings its unit to the phone
    await store.set_profile(second, DETAILS, phone_key=PHONE)
    await store.place_order(order_request(show, p, buyer=second))  # the phone's second unit
    for token in (first, second, third):
        if token == third:
            await store.set_profile(third, DETAILS, phone_key=PHONE)
        refused = await refusal(store, order_request(show, p, buyer=token))
        assert (refused.reason, refused.stock) == (Reason.LIMIT_EXCEEDED, 98)
    await store.place_order(
        order_request(show, p, buyer=stranger, qty=2)
    )  # no phone: its own limit
    # A cancel gives the unit back to the phone, whichever token ordered it.
    await store.cancel_order(early.order.id)
    await store.place_order(order_request(show, p, buyer=third))
    assert (
        await refusal(store, order_request(show, p, buyer=first))
    ).reason is Reason.LIMIT_EXCEEDED
    assert (await store.get_product(p.id)).stock == 96


async def test_a_token_tied_to_another_phone_takes_its_units_along(store: Store) -> None:
    p = await add_product(store, stock=100, limit_per_buyer=2)
    show = await add_show(store, p)
    mover, old_neighbour, new_neighbour = (buyer() for _ in range(3))
    await store.set_profile(mover, DETAILS, phone_key=PHONE)
    await store.place_order(order_request(show, p, buyer=mover, qty=2))
    await store.set_profile(old_neighbour, DETAILS, phone_key=PHONE)
    assert (await refusal(store, order_request(show, p, buyer=old_neighbour))).reason is (
        Reason.LIMIT_EXCEEDED
    )
    moved = dataclasses.replace(DETAILS, phone="+86 139 0013 9000")
    await store.set_profile(mover, moved, phone_key=OTHER_PHONE)
    await store.place_order(
        order_request(show, p, buyer=old_neighbour, qty=2)
    )  # the old phone is free
    await store.set_profile(new_neighbour, moved, phone_key=OTHER_PHONE)
    assert (await refusal(store, order_request(show, p, buyer=new_neighbour))).reason is (
        Reason.LIMIT_EXCEEDED
    )
    # Saving the same details again changes nothing; details without a phone untie the token.
    await store.set_profile(mover, moved, phone_key=OTHER_PHONE)
    assert (await refusal(store, order_request(show, p, buyer=new_neighbour))).reason is (
        Reason.LIMIT_EXCEEDED
    )
    await store.set_profile(mover, moved, phone_key="")
    await store.place_order(order_request(show, p, buyer=new_neighbour, qty=2))
    assert (await store.get_profiles([mover]))[mover] == moved


async def test_tokens_sharing_a_phone_racing_for_a_limit_of_one_get_one_unit(
    store: Store,
) -> None:
    p = await add_product(store, stock=100, limit_per_buyer=1)
    show = await add_show(store, p)
    tokens = [buyer() for _ in range(10)]
    for token in tokens:
        await store.set_profile(token, DETAILS, phone_key=PHONE)
    results = await asyncio.gather(
        *(store.place_order(order_request(show, p, buyer=t)) for t in tokens for _ in range(5)),
        return_exceptions=True,
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert len(accepted) == 1
    assert {r.reason for r in results if isinstance(r, OrderRefused)} == {Reason.LIMIT_EXCEEDED}
    assert (await store.get_product(p.id)).stock == 99


async def test_two_tokens_of_one_phone_racing_tie_and_order_get_one_unit(store: Store) -> None:
    """Ties and orders interleaved: whatever the order of events, the phone holds one unit."""
    p = await add_product(store, stock=100, limit_per_buyer=1)
    show = await add_show(store, p)
    for _ in range(5):
        a, b = buyer(), buyer()
        await store.set_profile(a, DETAILS, phone_key=PHONE + "0")
        steps = [
            store.place_order(order_request(show, p, buyer=a)),
            store.set_profile(b, DETAILS, phone_key=PHONE + "0"),
            store.place_order(order_request(show, p, buyer=b)),
            store.place_order(order_request(show, p, buyer=b)),
        ]
        await asyncio.gather(*steps, return_exceptions=True)
        # b's order may have come before its tie (then both hold a unit, as documented); after
        # the tie no token of the phone gets another one.
        for token in (a, b, buyer()):
            if token not in (a, b):
                await store.set_profile(token, DETAILS, phone_key=PHONE + "0")
            assert (await refusal(store, order_request(show, p, buyer=token))).reason is (
                Reason.LIMIT_EXCEEDED
            )
        for o in await store.list_orders(show.id):
            await store.cancel_order(o.id)


@pytest.fixture
async def short_ttl_store(
    backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    s = open_store(url, prefix=key_prefix, profile_ttl=1)
    try:
        yield s
    finally:
        await s.close()


async def test_details_of_a_token_without_orders_expire(short_ttl_store: Store) -> None:
    store = short_ttl_store
    p = await add_product(store, stock=10, limit_per_buyer=1)
    show = await add_show(store, p)
    idle, ordered_before, ordered_after = (buyer() for _ in range(3))
    await store.place_order(order_request(show, p, buyer=ordered_before))
    await store.set_profile(ordered_before, DETAILS, phone_key=PHONE)
    await store.set_profile(idle, DETAILS, phone_key=PHONE)
    await store.set_profile(ordered_after, DETAILS, phone_key=OTHER_PHONE)
    await store.place_order(order_request(show, p, buyer=ordered_after))
    assert (
        await refusal(store, order_request(show, p, buyer=idle))
    ).reason is Reason.LIMIT_EXCEEDED
    everyone = [idle, ordered_before, ordered_after]
    assert set(await store.get_profiles(everyone)) == set(everyone)
    await asyncio.sleep(2.2)
    assert set(await store.get_profiles(everyone)) == {ordered_before, ordered_after}
    # The tie to the phone went with the details: the idle token counts on its own again.
    await store.place_order(order_request(show, p, buyer=idle))
    assert (await refusal(store, order_request(show, p, buyer=ordered_before))).reason is (
        Reason.LIMIT_EXCEEDED
    )


async def test_an_order_keeps_its_client_address(store: Store) -> None:
    p = await add_product(store, stock=10)
    show = await add_show(store, p)
    request = dataclasses.replace(order_request(show, p), ip="2001:db8::7")
    placed = await store.place_order(request)
    assert placed.order.ip == "2001:db8::7"
    assert (await store.get_order(placed.order.id)).ip == "2001:db8::7"
    assert [o.ip for o in await store.list_orders(show.id)] == ["2001:db8::7"]
    assert (await store.place_order(order_request(show, p))).order.ip == ""


async def test_one_order_step_checks_the_end_the_phone_and_numbers_and_keeps_the_address(
    store: Store,
) -> None:
    """The merged order step: an ended show refuses before the phone's count is touched; a
    refusal by the phone's limit takes no number; an accepted order has its number and address,
    also when a lineup change (another show now holding the product) made the caller's list of
    shows stale."""
    p = await add_product(store, stock=10, limit_per_buyer=1)
    show, ended = await add_show(store, p), await add_show(store, p)
    first, second = buyer(), buyer()
    for token in (first, second):
        await store.set_profile(token, DETAILS, phone_key=PHONE)
    await store.end_show(ended.id)
    closed = await refusal(
        store, dataclasses.replace(order_request(ended, p, buyer=first), ip="10.0.0.1")
    )
    assert closed.reason is Reason.ORDERING_CLOSED
    placed = await store.place_order(
        dataclasses.replace(order_request(show, p, buyer=first), ip="203.0.113.9")
    )
    assert (placed.order.number, placed.order.ip) == (1, "203.0.113.9")
    limited = await refusal(store, order_request(show, p, buyer=second))
    assert limited.reason is Reason.LIMIT_EXCEEDED
    other = await add_show(store, await add_product(store))
    await store.set_lineup(other.id, (*other.lineup, p.id))  # p's set of shows moves on
    stranger = await store.place_order(
        dataclasses.replace(order_request(show, p), ip="2001:db8::1")
    )
    assert (stranger.order.number, stranger.order.ip) == (2, "2001:db8::1")
    assert await store.get_order(stranger.order.id) == stranger.order
    # A cancel after the lineup change gives the phone its unit back.
    assert (await store.cancel_order(placed.order.id))[1]
    again = await store.place_order(order_request(show, p, buyer=second))
    assert again.order.number == 3
    assert (await store.get_product(p.id)).stock == 8
