"""The pure rules of options and pre-orders (live.domain), without a store."""

from __future__ import annotations

import pytest

from live import domain
from live.domain import Deal, Option, OptionSpec, Product
from live.errors import Conflict, Invalid, Reason

SHOES = Product(
    id="p1",
    name="Shoes",
    price=10000,
    stock=3,
    sold=1,
    options=(
        Option(id="v37", name="37", stock=2, sold=1),
        Option(id="v38", name="38", stock=1, price=12000),
    ),
)


def test_prices_of_options_with_and_without_a_deal() -> None:
    deal = Deal(price=8000, ends_at=100.0)
    v37, v38 = SHOES.options
    assert domain.option_unit_price(SHOES, v37, None, 0) == 10000
    assert domain.option_unit_price(SHOES, v38, None, 0) == 12000
    assert domain.option_unit_price(SHOES, v37, deal, 0) == 8000  # the deal price
    assert domain.option_unit_price(SHOES, v38, deal, 0) == 10000  # the same amount off
    assert domain.option_unit_price(SHOES, v38, deal, 200) == 12000  # the deal is over
    cheap = Option(id="v", name="sample", stock=1, price=1500)
    assert domain.option_unit_price(SHOES, cheap, deal, 0) == 1500  # not given away


def test_an_order_must_name_one_of_the_options_and_only_then() -> None:
    plain = Product(id="p2", name="Jam", price=1, stock=1)
    assert domain.option_choice_refusal(SHOES, "v38") is None
    assert domain.option_choice_refusal(SHOES, None) is Reason.INVALID
    assert domain.option_choice_refusal(SHOES, "v99") is Reason.INVALID
    assert domain.option_choice_refusal(plain, None) is None
    assert domain.option_choice_refusal(plain, "v38") is Reason.INVALID


def test_merging_options_keeps_stock_and_refuses_removing_a_sold_one() -> None:
    merged = domain.merge_options(
        SHOES,
        [
            OptionSpec(name=" 38 wide ", id="v38", stock=99),
            OptionSpec(name="37", id="v37"),
            OptionSpec(name="39", stock=4),
        ],
        ["v39"],
    )
    assert [(o.id, o.name, o.stock, o.sold) for o in merged.options] == [
        ("v38", "38 wide", 1, 0),
        ("v37", "37", 2, 1),
        ("v39", "39", 4, 0),
    ]
    assert (merged.stock, merged.sold) == (7, 1)
    with pytest.raises(Conflict):
        domain.merge_options(SHOES, [OptionSpec(name="38", id="v38")], [])
    assert domain.merge_options(SHOES, [OptionSpec(name="37", id="v37")], []).stock == 2
    with pytest.raises(Invalid):
        domain.merge_options(SHOES, [OptionSpec(name="37"), OptionSpec(name="37 ")], ["a", "b"])
    with pytest.raises(Invalid):
        domain.merge_options(SHOES, [], [])


def test_pre_orders_start_when_the_stock_is_gone() -> None:
    assert domain.preorder_room(stock=2, cap=5, preordered=0) == 0
    assert domain.preorder_room(stock=0, cap=5, preordered=3) == 2
    assert domain.preorder_room(stock=0, cap=5, preordered=7) == 0

    def refusal(stock: int, room: int, qty: int = 1, bought: int = 0) -> Reason | None:
        return domain.order_refusal(
            ordering_open=True,
            in_lineup=True,
            on_sale=True,
            stock=stock,
            qty=qty,
            bought=bought,
            limit_per_buyer=3,
            preorder_room=room,
        )

    assert refusal(0, 2, qty=2) is None
    assert refusal(0, 2, qty=3) is Reason.SOLD_OUT
    assert refusal(0, 0) is Reason.SOLD_OUT
    assert refusal(0, 5, qty=2, bought=2) is Reason.LIMIT_EXCEEDED
    assert refusal(1, 5, qty=2) is Reason.SOLD_OUT  # stock first: no half pre-order
    domain.check_harvest(5, 5)
    with pytest.raises(Conflict):
        domain.check_harvest(4, 5)
