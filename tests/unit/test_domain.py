"""The pure rules, without a store, a server or an event loop."""

from __future__ import annotations

import dataclasses

import pytest

from live import domain
from live.domain import Deal, OrderStatus
from live.errors import Conflict, Invalid, Reason

BASE = dict(
    ordering_open=True,
    in_lineup=True,
    on_sale=True,
    stock=10,
    qty=1,
    bought=0,
    limit_per_buyer=None,
)


def refusal(**changes: object) -> Reason | None:
    return domain.order_refusal(**{**BASE, **changes})  # type: ignore[arg-type]


def test_an_ordinary_order_is_accepted() -> None:
    assert refusal() is None
    assert refusal(qty=10, limit_per_buyer=10) is None


def test_unit_price_takes_only_a_running_real_discount() -> None:
    deal = Deal(price=1990, ends_at=100.0)
    assert domain.unit_price(3000, deal, now=99.9) == 1990
    assert domain.unit_price(3000, deal, now=100.0) == 3000  # ends_at is exclusive
    assert domain.unit_price(1500, deal, now=50) == 1500  # normal price fell under the deal
    assert domain.unit_price(3000, None, now=50) == 3000


def test_deal_must_be_a_discount_ending_in_the_future() -> None:
    assert domain.check_deal(3000, 1990, 200, now=100) == Deal(1990, 200.0)
    with pytest.raises(Invalid):
        domain.check_deal(3000, 3000, 200, now=100)
    with pytest.raises(Invalid):
        domain.check_deal(3000, 1000, 100, now=100)


def test_stock_adjustments_never_go_negative() -> None:
    assert domain.check_new_stock(5, set_to=None, delta=-5) == 0
    assert domain.check_new_stock(5, set_to=9, delta=None) == 9
    with pytest.raises(Conflict):
        domain.check_new_stock(5, set_to=None, delta=-6)
    with pytest.raises(Invalid):
        domain.check_new_stock(5, set_to=1, delta=1)


def test_orders_only_move_forward() -> None:
    assert domain.check_status_change(OrderStatus.CLAIMED, OrderStatus.PAID) is False
    assert domain.check_status_change(OrderStatus.PAID, OrderStatus.SHIPPED) is False
    domain.check_status_change(OrderStatus.PAID, OrderStatus.PAID)
    with pytest.raises(Conflict):
        domain.check_status_change(OrderStatus.SHIPPED, OrderStatus.PAID)
    with pytest.raises(Conflict):
        domain.check_status_change(OrderStatus.CANCELLED, OrderStatus.PAID)
    with pytest.raises(Invalid):
        domain.check_status_change(OrderStatus.CLAIMED, OrderStatus.CANCELLED)


def test_shipping_an_unpaid_order_is_an_explicit_choice() -> None:
    with pytest.raises(Conflict) as info:
        domain.check_status_change(OrderStatus.CLAIMED, OrderStatus.SHIPPED)
    assert '"unpaid": true' in info.value.detail
    # chosen: shipped cash on delivery
    assert domain.check_status_change(OrderStatus.CLAIMED, OrderStatus.SHIPPED, unpaid=True)
    # a paid order is not cash on delivery, whatever the flag says
    assert not domain.check_status_change(OrderStatus.PAID, OrderStatus.SHIPPED, unpaid=True)
    assert not domain.check_status_change(OrderStatus.SHIPPED, OrderStatus.SHIPPED)


@pytest.mark.parametrize(
    ("number", "label"),
    [(1, "#0001"), (42, "#0042"), (9999, "#9999"), (10000, "#10000"), (123456, "#123456")],
)
def test_order_labels_have_at_least_four_digits(number: int, label: str) -> None:
    assert domain.order_label(number) == label


def test_an_ended_show_is_final() -> None:
    show = domain.Show(id="s1", title="t", lineup=(), overlay_key="k")
    domain.check_not_ended(show)
    with pytest.raises(Conflict):
        domain.check_not_ended(dataclasses.replace(show, ended=True))


def test_token_and_key_formats() -> None:
    assert domain.BUYER_TOKEN_RE.match("a" * 16) and not domain.BUYER_TOKEN_RE.match("a" * 15)
    assert not domain.BUYER_TOKEN_RE.match("a" * 65) and not domain.BUYER_TOKEN_RE.match(
        "a" * 15 + ":"
    )
    assert domain.ORDER_KEY_RE.match("k" * 8) and not domain.ORDER_KEY_RE.match("k" * 7)
    assert not domain.ORDER_KEY_RE.match("key with space")
