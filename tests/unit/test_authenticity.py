"""The authenticity rules (live/authenticity.py): serials, PINs, lots, units, quality."""

from __future__ import annotations

import pytest

from live import authenticity as au
from live.domain import Order, OrderStatus
from live.errors import Invalid


def order(oid: str, qty: int, status: OrderStatus = OrderStatus.PAID) -> Order:
    return Order(oid, "s1", "p1", "b" * 16, qty, 100, "CNY", status, 0.0, "k" * 8)


def test_serials_and_pins_have_their_documented_shape_and_no_look_alikes() -> None:
    serials = {au.new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    for serial in serials:
        assert au.SERIAL_RE.match(serial)
        assert not set(serial) & set("01OIL")
    pins = [au.new_pin() for _ in range(2000)]
    assert all(au.PIN_RE.match(p) for p in pins)
    assert len(set(pins)) > 1990
    # every character of the alphabet turns up: the draw is not biased away from any
    assert set("".join(serials)) == set(au.SERIAL_ALPHABET)


def test_serials_are_read_back_as_people_type_them() -> None:
    serial = au.new_serial()
    shown = au.format_serial(serial)
    assert shown.count("-") == 2 and shown.replace("-", "") == serial
    assert au.clean_serial(shown.lower()) == serial
    assert au.clean_serial(f" {shown} ") == serial
    for bad in ("", serial[:-1], serial + "A", serial[:-1] + "0", "../etc/passwd"):
        assert au.clean_serial(bad) is None


def test_pins_are_checked_for_shape_before_they_count_as_guesses() -> None:
    assert au.clean_pin("1234 5678") == "12345678"
    for bad in ("1234567", "123456789", "abcdefgh", ""):
        with pytest.raises(Invalid) as info:
            au.clean_pin(bad)
        assert info.value.field == "pin"
    assert au.pin_matches("12345678", "12345678")
    assert not au.pin_matches("12345678", "12345679")


def test_device_tags_hide_the_address() -> None:
    tag = au.device_tag("203.0.113.7", "Mozilla/5.0")
    assert len(tag) == 16 and "203" not in tag
    assert tag == au.device_tag("203.0.113.7", "Mozilla/5.0")
    assert tag != au.device_tag("203.0.113.8", "Mozilla/5.0")
    assert not au.scan_flagged(au.FLAG_DEVICES - 1) and au.scan_flagged(au.FLAG_DEVICES)


def test_every_unit_of_live_orders_gets_one_label_slot() -> None:
    orders = [
        order("o1", 2),
        order("o2", 1, OrderStatus.CANCELLED),
        order("o3", 1, OrderStatus.CLAIMED),
    ]
    assert [(o.id, u) for o, u in au.units_to_label(orders, set())] == [
        ("o1", 0),
        ("o1", 1),
        ("o3", 0),
    ]
    done = {au.unit_key("o1", 0)}
    assert [(o.id, u) for o, u in au.units_to_label(orders, done)] == [("o1", 1), ("o3", 0)]


def test_lot_fields_are_trimmed_and_checked() -> None:
    assert au.check_lot_fields({"name": " Spring ", "date": "2026-05-12"}) == {
        "name": "Spring",
        "date": "2026-05-12",
    }
    for fields, field in (
        ({"name": ""}, "name"),
        ({"date": "12/05/2026"}, "date"),
        ({"date": "2026-13-45"}, "date"),  # the shape of a date, but no day of the calendar
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"place": "x" * 201}, "place"),
    ):
        with pytest.raises(Invalid) as info:
            au.check_lot_fields(fields)
        assert info.value.field == field


def test_lot_of_a_unit_is_its_orders_else_the_shows_default() -> None:
    choices = au.LotChoices(defaults={"p1": "lA"}, orders={"o2": "lB"})
    assert choices.lot_of("o1", "p1") == "lA"
    assert choices.lot_of("o2", "p1") == "lB"
    assert choices.lot_of("o3", "p2") is None


def test_feedback_rules() -> None:
    assert au.check_feedback(5, "  good  ") == "good"
    for rating in (0, 6):
        with pytest.raises(Invalid):
            au.check_feedback(rating, "")
    with pytest.raises(Invalid):
        au.check_feedback(3, "x" * (au.MAX_NOTE + 1))


def test_quality_averages_counts_and_recent_lows_per_group() -> None:
    def fb(rating: int, at: float, lot: str, producer: str) -> au.Feedback:
        return au.Feedback(rating, f"note {at}", at, "p1", lot, producer)

    items = [fb(5, 1, "lA", "Zhang"), fb(1, 2, "lA", "Zhang"), fb(2, 3, "lB", "Zhang")]
    by_lot = au.quality_by(items, "lot_id")
    assert (by_lot["lA"].count, by_lot["lA"].average) == (2, 3.0)
    assert [f.at for f in by_lot["lA"].low] == [2]
    by_producer = au.quality_by(items, "producer")
    assert by_producer["Zhang"].count == 3 and by_producer["Zhang"].average == 2.67
    assert [f.at for f in by_producer["Zhang"].low] == [3, 2]  # newest first
