"""The authenticity steps of the store contract (issue 15), on every backend: lots and their
choice per show and order, labels issued once per unit, scans, the first verification exactly
once, the wrong-PIN limit, one feedback per serial. No test imports a backend."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from live import authenticity as au
from live.authenticity import Feedback, Label, Lot
from live.backends import Store
from live.domain import Option, Order, Show
from live.errors import Conflict, InvalidPin, NotFound, RateLimited
from live.trust import Trust
from tests.helpers import add_product, add_show, new_id, order_request


def draft(order: Order, unit: int = 0, serial: str | None = None) -> Label:
    return Label(
        serial=serial or au.new_serial(),
        pin=au.new_pin(),
        show_id=order.show_id,
        order_id=order.id,
        unit=unit,
        product_id=order.product_id,
        issued_at=time.time(),
    )


async def sold(store: Store, qty: int = 1) -> tuple[Show, Order]:
    product = await add_product(store, stock=50, producer="Zhang family")
    show = await add_show(store, product)
    accepted = await store.place_order(order_request(show, product, qty=qty))
    return show, accepted.order


async def one_label(store: Store) -> Label:
    show, order = await sold(store)
    (label,) = await store.issue_labels(show.id, [draft(order)])
    return label


LIMITS = {"max_wrong": 3, "window": 60.0}


def feedback(rating: int = 4, at: float | None = None) -> Feedback:
    return Feedback(rating=rating, note="真好吃", at=at or time.time(), product_id="p1")


# --- lots --------------------------------------------------------------------------------


async def test_lots_round_trip_edit_and_list_per_product(store: Store) -> None:
    honey = await add_product(store, name="Honey")
    chili = await add_product(store, name="Chili")
    a = Lot(id=new_id("l"), product_id=honey.id, name="Spring", producer="Zhang", date="2026-05-12")
    b = Lot(id=new_id("l"), product_id=chili.id, name="Autumn", place="Hilltop <b>")
    assert await store.create_lot(a) == a
    await store.create_lot(b)
    assert await store.get_lot(a.id) == a
    assert await store.list_lots(honey.id) == [a]
    assert await store.list_lots() == [a, b]
    edited = await store.update_lot(a.id, {"notes": "light", "place": "Valley"})
    assert edited == dataclasses.replace(a, notes="light", place="Valley")
    assert await store.get_lot(a.id) == edited


async def test_lot_steps_refuse_unknown_ids(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.create_lot(Lot(id=new_id("l"), product_id="nope", name="x"))
    for call in (
        store.get_lot("nope"),
        store.update_lot("nope", {"notes": "x"}),
        store.lot_choices("nope"),
        store.set_show_lot("nope", "p", "l"),
        store.set_order_lot("nope", "o", "l"),
        store.list_labels("nope"),
        store.get_label("nope"),
        store.record_scan("nope", "d", 1.0),
        store.verify_label("nope", "12345678", 1.0, **LIMITS),
    ):
        with pytest.raises(NotFound):
            await call


async def test_lot_choices_default_per_product_and_per_order(store: Store) -> None:
    show, order = await sold(store)
    await store.set_show_lot(show.id, order.product_id, "lA")
    await store.set_order_lot(show.id, order.id, "lB")
    choices = await store.lot_choices(show.id)
    assert choices.lot_of(order.id, order.product_id) == "lB"
    assert choices.lot_of("other", order.product_id) == "lA"
    await store.set_order_lot(show.id, order.id, None)
    await store.set_show_lot(show.id, order.product_id, None)
    choices = await store.lot_choices(show.id)
    assert choices.lot_of(order.id, order.product_id) is None


# --- labels ------------------------------------------------------------------------------


async def test_a_unit_is_labelled_once_and_repeats_answer_the_same_labels(store: Store) -> None:
    show, order = await sold(store, qty=2)
    first = await store.issue_labels(show.id, [draft(order, 0), draft(order, 1)])
    assert [(x.order_id, x.unit) for x in first] == [(order.id, 0), (order.id, 1)]
    again = await store.issue_labels(show.id, [draft(order, 0), draft(order, 1)])
    assert again == first  # fresh drafts for labelled units are dropped
    assert await store.list_labels(show.id) == first
    assert await store.get_label(first[1].serial) == first[1]


async def test_a_taken_serial_stores_nothing(store: Store) -> None:
    label = await one_label(store)
    show, order = await sold(store, qty=2)
    with pytest.raises(Conflict):
        await store.issue_labels(show.id, [draft(order, 0), draft(order, 1, label.serial)])
    assert await store.list_labels(show.id) == []


async def test_concurrent_issuances_give_one_set_of_labels(store: Store) -> None:
    show, order = await sold(store, qty=3)
    calls = [store.issue_labels(show.id, [draft(order, u) for u in range(3)]) for _ in range(4)]
    answers = await asyncio.gather(*calls)
    assert all(a == answers[0] for a in answers)
    assert len(answers[0]) == 3 and len({x.serial for x in answers[0]}) == 3


async def test_concurrent_issuances_through_the_service_give_one_set(store: Store) -> None:
    show, _ = await sold(store, qty=5)
    trust = Trust(store, time.time)
    one, two = await asyncio.gather(trust.issue_labels(show.id), trust.issue_labels(show.id))
    assert one == two and len(one) == 5
    assert await trust.issue_labels(show.id) == one


async def test_the_labels_of_an_options_order_name_the_option(store: Store) -> None:
    sizes = (Option(id="v38", name="38", stock=2), Option(id="v39", name="39", stock=2))
    shoes = await add_product(store, name="Shoes", stock=4, options=sizes)
    plain = await add_product(store, name="Honey", stock=4)
    show = await add_show(store, shoes, plain)
    sized = dataclasses.replace(order_request(show, shoes, qty=2), option_id="v39")
    await store.place_order(sized)
    await store.place_order(order_request(show, plain))
    labels = await Trust(store, time.time).issue_labels(show.id)
    named = sorted((x.product_id, x.option_id, x.option_name) for x in labels)
    assert named == sorted([(shoes.id, "v39", "39")] * 2 + [(plain.id, None, None)])
    assert await store.list_labels(show.id) == labels


# --- scans ---------------------------------------------------------------------------------


async def test_scans_count_views_first_time_and_distinct_devices(store: Store) -> None:
    label = await one_label(store)
    assert label.scans == 0 and label.first_scan_at is None
    seen = await store.record_scan(label.serial, "dev-a", 100.0)
    assert (seen.scans, seen.first_scan_at, seen.devices) == (1, 100.0, 1)
    await store.record_scan(label.serial, "dev-a", 101.0)
    for i in range(5):
        seen = await store.record_scan(label.serial, f"dev-{i}", 102.0 + i)
    assert (seen.scans, seen.first_scan_at) == (7, 100.0)
    assert 5 <= seen.devices <= 6  # dev-a and dev-0..4; Redis counts with a HyperLogLog
    assert seen.flagged
    (listed,) = await store.list_labels(label.show_id)
    assert (listed.scans, listed.devices) == (seen.scans, seen.devices)


# --- verification --------------------------------------------------------------------------


async def test_the_first_verification_is_first_once_and_later_ones_tell_its_time(
    store: Store,
) -> None:
    label = await one_label(store)
    first = await store.verify_label(label.serial, label.pin, 1000.0, **LIMITS)
    assert first == au.Verification(verified_at=1000.0, first=True)
    later = await store.verify_label(label.serial, label.pin, 2000.0, **LIMITS)
    assert later == au.Verification(verified_at=1000.0, first=False)
    assert (await store.get_label(label.serial)).verified_at == 1000.0


async def test_concurrent_first_verifications_give_exactly_one_first(store: Store) -> None:
    labels = [await one_label(store) for _ in range(3)]
    for label in labels:
        answers = await asyncio.gather(
            *(store.verify_label(label.serial, label.pin, 50.0 + i, **LIMITS) for i in range(8))
        )
        assert sum(a.first for a in answers) == 1
        assert len({a.verified_at for a in answers}) == 1


async def test_wrong_pins_count_then_the_serial_is_locked(store: Store) -> None:
    label = await one_label(store)
    wrong = "00000000" if label.pin != "00000000" else "11111111"
    for _ in range(3):
        with pytest.raises(InvalidPin):
            await store.verify_label(label.serial, wrong, 10.0, **LIMITS)
    # locked: not even the right PIN is checked, so the lock tells a guesser nothing
    with pytest.raises(RateLimited):
        await store.verify_label(label.serial, label.pin, 11.0, **LIMITS)
    assert (await store.get_label(label.serial)).verified_at is None


async def test_concurrent_wrong_pins_never_pass_the_limit(store: Store) -> None:
    label = await one_label(store)
    wrong = "00000000" if label.pin != "00000000" else "11111111"
    calls = [store.verify_label(label.serial, wrong, 10.0, **LIMITS) for _ in range(10)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(r, InvalidPin) for r in results) == 3
    assert sum(isinstance(r, RateLimited) for r in results) == 7


# --- feedback ------------------------------------------------------------------------------


async def test_feedback_needs_a_verified_label_and_is_kept_once(store: Store) -> None:
    label = await one_label(store)
    with pytest.raises(Conflict):
        await store.add_feedback(label.serial, label.pin, feedback(), **LIMITS)
    await store.verify_label(label.serial, label.pin, 10.0, **LIMITS)
    wrong = "00000000" if label.pin != "00000000" else "11111111"
    with pytest.raises(InvalidPin):
        await store.add_feedback(label.serial, wrong, feedback(), **LIMITS)
    kept = feedback(rating=2, at=20.0)
    assert await store.add_feedback(label.serial, label.pin, kept, **LIMITS) == kept
    with pytest.raises(Conflict):
        await store.add_feedback(label.serial, label.pin, feedback(rating=5), **LIMITS)
    assert await store.list_feedback() == [(label.serial, kept)]
    assert (await store.get_label(label.serial)).feedback == kept


async def test_concurrent_feedback_keeps_exactly_one(store: Store) -> None:
    label = await one_label(store)
    await store.verify_label(label.serial, label.pin, 10.0, **LIMITS)
    calls = [store.add_feedback(label.serial, label.pin, feedback(r), **LIMITS) for r in (1, 5)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(r, Feedback) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert len(await store.list_feedback()) == 1
