"""Gift boxes' pure rules (bundles, issue 13): what a box's parts allow, which parts a box may
hold, how its takings are split between producers, and what packers read."""

from __future__ import annotations

import pytest

from live import domain
from live.backoffice import packing_list, producer_statements
from live.domain import Option, Order, OrderStatus, Part, Product
from live.errors import Invalid

HONEY = Product(
    id="honey",
    name="Honey",
    price=6000,
    stock=9,
    producer="Wu family",
    options=(Option("v250", "250 g", 4), Option("v500", "500 g", 5, price=8000)),
)
CHILI = Product(id="chili", name="Chili sauce", price=2000, stock=7, producer="Li family")
BOX = Product(
    id="box",
    name="Gift box",
    price=9000,
    stock=0,
    parts=(Part("honey", 1, "v500"), Part("chili", 2)),
)
CATALOG = {p.id: p for p in (HONEY, CHILI, BOX)}


def test_a_box_allows_what_its_scarcest_part_allows() -> None:
    assert domain.bundle_stock(BOX.parts, CATALOG) == 3  # 7 sauces: 3 boxes of 2
    assert domain.with_bundle_stock(BOX, CATALOG).stock == 3
    assert domain.bundle_stock((Part("gone", 1),), CATALOG) == 0
    assert domain.with_bundle_stock(CHILI, CATALOG) is CHILI
    assert domain.parts_line(BOX.parts, CATALOG) == "1 × Honey 500 g + 2 × Chili sauce"


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ((), "1 to 10 parts"),
        (tuple(Part("chili", 1, share=None) for _ in range(11)), "1 to 10 parts"),
        ((Part("nope", 1),), "no product nope"),
        ((Part("box", 1),), "boxes hold no boxes"),
        ((Part("new", 1),), "cannot hold itself"),
        ((Part("honey", 1),), "options"),
        ((Part("chili", 1, "v500"),), "options"),
        ((Part("chili", 0),), "qty"),
        ((Part("chili", 1), Part("chili", 2)), "once"),
        ((Part("chili", 1, share=60), Part("honey", 1, "v250")), "share"),
        ((Part("chili", 1, share=60), Part("honey", 1, "v250", share=30)), "share"),
    ],
)
def test_bad_parts_are_refused(parts: tuple[Part, ...], words: str) -> None:
    with pytest.raises(Invalid, match=words):
        domain.check_parts("new", parts, CATALOG)


def test_shares_split_the_takings_to_the_fen() -> None:
    # by the parts' normal prices: 8000 honey 500 g against 2 × 2000 chili
    assert domain.part_shares(BOX.parts, CATALOG, 9000) == [6000, 3000]
    set_by_host = (Part("honey", 1, "v500", share=70), Part("chili", 2, share=30))
    assert domain.part_shares(set_by_host, CATALOG, 9001) == [6301, 2700]


def box_order(status: OrderStatus, qty: int = 1) -> Order:
    return Order(
        id=f"o{status}{qty}",
        show_id="s",
        product_id="box",
        buyer="b" * 16,
        qty=qty,
        price=9000,
        currency="CNY",
        status=status,
        created_at=0.0,
        key="k" * 8,
        number=1,
    )


def test_statements_split_a_box_between_the_parts_producers() -> None:
    orders = [box_order(OrderStatus.PAID, 2), box_order(OrderStatus.CLAIMED)]
    statements = {s.producer: s for s in producer_statements(orders, CATALOG)}
    wu, li = statements["Wu family"], statements["Li family"]
    assert [(x.product_id, x.option_id, x.to_bring, x.paid_units) for x in wu.lines] == [
        ("honey", "v500", 3, 2)
    ]
    assert [(x.product_id, x.to_bring, x.paid_units) for x in li.lines] == [("chili", 6, 4)]
    assert (wu.owed, li.owed) == (12000, 6000)  # 18000 paid, split 2:1 by the parts' prices


def test_the_packing_list_says_what_goes_in_a_box() -> None:
    [parcel] = packing_list([box_order(OrderStatus.PAID, 2)], CATALOG, {})
    assert [(x.name, x.qty) for x in parcel.lines] == [
        ("Gift box (1 × Honey 500 g + 2 × Chili sauce)", 2)
    ]
