"""Packing lists, producer statements and their CSV exports, as pure functions."""

from __future__ import annotations

import csv
import io

import pytest

from live.backoffice import (
    item_summary,
    order_label,
    packing_list,
    producer_statements,
    shipped_orders,
    unit_weight_kg,
)
from live.domain import Order, OrderStatus, Product, Profile
from live.exports import (
    COURIER_COLUMNS,
    Text,
    cell,
    courier_rows,
    csv_text,
    local_time,
    order_rows,
    packing_rows,
    statement_rows,
)
from live.money import amount, money, money_sum


def order(
    oid: str, buyer: str, product: str, qty: int, price: int, status: OrderStatus, at: float = 0.0
) -> Order:
    return Order(oid, "s1", product, buyer, qty, price, "CNY", status, at, f"key-{oid}")


PRODUCTS = {
    "honey": Product("honey", "Wild honey", 8800, 10, unit="jar", producer="Auntie Zhao"),
    "shoes": Product("shoes", "Embroidered shoes", 16800, 5, unit="pair", producer="Auntie Zhao"),
    "chili": Product("chili", "Chili sauce", 2800, 50, unit="jar", producer="Li family"),
    "rice": Product("rice", "Red rice", 3000, 50, unit="500g", producer="Li family"),
    "tea": Product("tea", "Green tea", 6000, 50, unit="斤", producer="Wang"),
}
ORDERS = [
    order("o1", "ann", "honey", 1, 8800, OrderStatus.PAID),
    order("o2", "ann", "honey", 2, 6800, OrderStatus.CLAIMED),
    order("o3", "ann", "chili", 1, 2800, OrderStatus.SHIPPED),
    order("o4", "bob", "shoes", 1, 16800, OrderStatus.CANCELLED),
    order("o5", "bob", "chili", 3, 2800, OrderStatus.CLAIMED),
    order("o6", "cai", "shoes", 1, 16800, OrderStatus.CANCELLED),
    order("o7", "dan", "honey", 1, 8800, OrderStatus.SHIPPED),
]
ANN = Profile("Ann", "13800000000", "1 Road", "Hangzhou", province="Zhejiang", postcode="0571")


def test_one_parcel_per_buyer_with_what_is_still_to_pack() -> None:
    parcels = packing_list(ORDERS, PRODUCTS, {"ann": ANN})
    # missing details first; cai: all cancelled; dan: all shipped already
    assert [p.buyer for p in parcels] == ["bob", "ann"]
    bob, ann = parcels
    assert bob.delivery is None and [(x.name, x.qty) for x in bob.lines] == [("Chili sauce", 3)]
    # ann's shipped chili sauce has left: only the honey is to pack
    assert [(x.name, x.qty, x.unit) for x in ann.lines] == [("Wild honey", 3, "jar")]
    assert ann.order_ids == ["o1", "o2"] and ann.units == 3
    assert ann.total == 8800 + 2 * 6800
    assert shipped_orders(ORDERS) == 2


def test_a_parcel_names_the_units_not_paid_yet() -> None:
    bob, ann = packing_list(ORDERS, PRODUCTS, {"ann": ANN})
    assert [(x.name, x.qty, x.unpaid) for x in ann.lines] == [("Wild honey", 3, 2)]
    assert not ann.all_paid and ann.unpaid_total == 2 * 6800
    assert item_summary(ann.lines) == "Wild honey × 3"
    assert item_summary(ann.lines, unpaid=True) == "Wild honey × 2"
    assert bob.unpaid_total == bob.total and item_summary(bob.unpaid_lines) == "Chili sauce × 3"
    paid = packing_list([order("p1", "eve", "honey", 1, 8800, OrderStatus.PAID)], PRODUCTS, {})
    assert (
        paid[0].all_paid
        and paid[0].unpaid_total == 0
        and item_summary(paid[0].lines, unpaid=True) == ""
    )


@pytest.mark.parametrize(
    ("unit", "kg"),
    [
        ("kg", 1.0),
        ("500g", 0.5),
        ("2.5 kg", 2.5),
        ("斤", 0.5),
        ("2斤", 1.0),
        ("克", 0.001),
        ("KG", 1.0),
        ("jar", None),
        ("", None),
        ("pair", None),
        ("kg bag", None),
    ],
)
def test_units_that_are_weights(unit: str, kg: float | None) -> None:
    assert unit_weight_kg(unit) == kg


def test_a_parcels_weight_is_known_only_when_every_item_is_sold_by_weight() -> None:
    by_weight = [
        order("w1", "fay", "rice", 3, 3000, OrderStatus.PAID),
        order("w2", "fay", "tea", 1, 6000, OrderStatus.CLAIMED),
    ]
    (fay,) = packing_list(by_weight, PRODUCTS, {})
    assert fay.weight_kg == pytest.approx(2.0)
    (mixed,) = packing_list(
        [*by_weight, order("w3", "fay", "honey", 1, 8800, OrderStatus.PAID)], PRODUCTS, {}
    )
    assert mixed.weight_kg is None


def test_an_order_without_a_number_is_named_by_its_id() -> None:
    assert order_label(ORDERS[0]) == "o1"


def test_producers_bring_live_orders_and_are_owed_paid_ones() -> None:
    statements = {s.producer: s for s in producer_statements(ORDERS, PRODUCTS)}
    assert set(statements) == {"Auntie Zhao", "Li family"}
    zhao = statements["Auntie Zhao"]
    assert [(x.name, x.to_bring, x.paid_units, x.paid_total) for x in zhao.lines] == [
        ("Wild honey", 4, 2, 2 * 8800)
    ]  # the shoes were all cancelled; shipped honey was brought and is owed
    li = statements["Li family"]
    assert (li.to_bring, li.owed) == (4, 2800)


# --- money ---------------------------------------------------------------------------------------


def test_money_for_people_and_for_spreadsheets() -> None:
    assert [amount(x) for x in (0, 5, 8800, 123456, -250)] == [
        "0.00",
        "0.05",
        "88.00",
        "1234.56",
        "-2.50",
    ]
    assert money(8800, "CNY") == "¥88.00" and money(123456, "USD") == "$1,234.56"
    assert money(300, "EUR") == "€3.00" and money(1200, "CHF") == "12.00 CHF"
    assert money(-250, "GBP") == "-£2.50"
    assert money_sum([(100, "CNY"), (250, "CNY"), (1500, "USD")]) == "¥3.50 + $15.00"
    assert money_sum([]) == "¥0.00"


# --- exports ------------------------------------------------------------------------------------


def read(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_phone_numbers_and_postcodes_stay_text_and_formulas_stay_words() -> None:
    assert cell(Text("13800000000")) == "'13800000000"  # not 1.38E+10 in a spreadsheet
    assert cell(Text("0571")) == "'0571"  # keeps its 0
    assert cell(Text("+86 138 0000 0000")) == "'+86 138 0000 0000"
    assert cell(Text("")) == "" and cell(Text("SW1A 1AA")) == "SW1A 1AA"
    assert cell("13800000000") == "13800000000"  # a quantity or an id is left alone
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")' and cell("@SUM(1)") == "'@SUM(1)"


def test_times_are_in_the_coops_time_zone_with_the_offset() -> None:
    assert local_time(1759320903, "Asia/Shanghai") == "2025-10-01T20:15:03+08:00"
    assert local_time(1759320903, "Europe/Paris") == "2025-10-01T14:15:03+02:00"
    assert local_time(1759320903, "UTC") == "2025-10-01T12:15:03+00:00"


def test_the_orders_export() -> None:
    rows = read(
        csv_text(order_rows(ORDERS[:2], {"honey": "Wild honey"}, {"ann": ANN}, "Asia/Shanghai"))
    )
    first = rows[0]
    assert (first["id"], first["number"], first["created_at"]) == (
        "o1",
        "",
        "1970-01-01T08:00:00+08:00",
    )
    assert (first["qty"], first["price"], first["total"], first["currency"]) == (
        "1",
        "88.00",
        "88.00",
        "CNY",
    )
    assert rows[1]["total"] == "136.00"
    assert (first["name"], first["phone"], first["province"], first["city"]) == (
        "Ann",
        "'13800000000",
        "Zhejiang",
        "Hangzhou",
    )
    assert (first["street"], first["postcode"], first["product_name"]) == (
        "1 Road",
        "'0571",
        "Wild honey",
    )


def test_the_packing_export_names_what_is_unpaid() -> None:
    rows = read(csv_text(packing_rows(packing_list(ORDERS, PRODUCTS, {"ann": ANN}))))
    assert [r["parcel"] for r in rows] == ["1", "2"]
    bob, ann = rows
    assert (bob["buyer"], bob["name"], bob["items"], bob["unpaid_items"]) == (
        "bob",
        "",
        "Chili sauce × 3",
        "Chili sauce × 3",
    )
    assert (ann["items"], ann["unpaid_items"], ann["units"], ann["weight_kg"]) == (
        "Wild honey × 3",
        "Wild honey × 2",
        "3",
        "",
    )
    assert (ann["total"], ann["unpaid"], ann["currency"], ann["all_paid"]) == (
        "224.00",
        "136.00",
        "CNY",
        "no",
    )
    assert (ann["orders"], ann["phone"], ann["city"]) == ("o1 o2", "'13800000000", "Hangzhou")


def test_the_couriers_export_has_addresses_and_contents_but_no_tokens_or_money() -> None:
    fay = Profile(
        "Fay",
        "13900000000",
        "9 Lane",
        "Suzhou",
        province="Jiangsu",
        district="Gusu",
        country="China",
    )
    orders = [
        *ORDERS,
        order("w1", "fay", "rice", 3, 3000, OrderStatus.PAID),
        order("w2", "fay", "tea", 1, 6000, OrderStatus.CLAIMED),
    ]
    parcels = packing_list(orders, PRODUCTS, {"ann": ANN, "fay": fay})
    rows = read(csv_text(courier_rows(parcels)))
    assert list(rows[0]) == COURIER_COLUMNS
    assert [r["parcel"] for r in rows] == [
        "2",
        "3",
    ]  # bob (no address) can't be sent; numbers match the list
    ann, fay_row = rows
    assert (ann["name"], ann["phone"], ann["street"], ann["weight_kg"]) == (
        "Ann",
        "'13800000000",
        "1 Road",
        "",
    )
    assert (fay_row["country"], fay_row["province"], fay_row["city"], fay_row["district"]) == (
        "China",
        "Jiangsu",
        "Suzhou",
        "Gusu",
    )
    assert (fay_row["items"], fay_row["weight_kg"]) == ("Red rice × 3; Green tea × 1", "2")
    text = csv_text(courier_rows(parcels))
    for secret in ("ann", "fay", "key-", "o1", "88.00"):
        assert secret not in text.replace("Ann", "").replace("Fay", ""), secret


def test_the_statements_export() -> None:
    rows = read(csv_text(statement_rows(producer_statements(ORDERS, PRODUCTS))))
    assert [
        (r["producer"], r["product"], r["to_bring"], r["paid_units"], r["owed"], r["currency"])
        for r in rows
    ] == [
        ("Auntie Zhao", "Wild honey", "4", "2", "176.00", "CNY"),
        ("Li family", "Chili sauce", "4", "1", "28.00", "CNY"),
    ]
