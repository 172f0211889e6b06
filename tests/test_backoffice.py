"""Packing lists and producer statements, as pure functions."""

from __future__ import annotations

from live.backoffice import packing_list, producer_statements
from live.domain import Order, OrderStatus, Product, Profile


def order(oid: str, buyer: str, product: str, qty: int, price: int, status: OrderStatus) -> Order:
    return Order(oid, "s1", product, buyer, qty, price, "CNY", status, 0.0, f"key-{oid}")


PRODUCTS = {
    "honey": Product("honey", "Wild honey", 8800, 10, unit="jar", producer="Auntie Zhao"),
    "shoes": Product("shoes", "Embroidered shoes", 16800, 5, unit="pair", producer="Auntie Zhao"),
    "chili": Product("chili", "Chili sauce", 2800, 50, unit="jar", producer="Li family"),
}
ORDERS = [
    order("o1", "ann", "honey", 1, 8800, OrderStatus.PAID),
    order("o2", "ann", "honey", 2, 6800, OrderStatus.CLAIMED),
    order("o3", "ann", "chili", 1, 2800, OrderStatus.SHIPPED),
    order("o4", "bob", "shoes", 1, 16800, OrderStatus.CANCELLED),
    order("o5", "bob", "chili", 3, 2800, OrderStatus.CLAIMED),
    order("o6", "cai", "shoes", 1, 16800, OrderStatus.CANCELLED),
]


def test_one_parcel_per_buyer_merging_their_orders() -> None:
    profiles = {"ann": Profile("Ann", "138", "1 Road", "Hangzhou")}
    parcels = packing_list(ORDERS, PRODUCTS, profiles)
    assert [p.buyer for p in parcels] == ["bob", "ann"]  # missing details first; cai: all cancelled
    bob, ann = parcels
    assert bob.delivery is None and [(x.name, x.qty) for x in bob.lines] == [("Chili sauce", 3)]
    assert [(x.name, x.qty, x.unit) for x in ann.lines] == [
        ("Wild honey", 3, "jar"),
        ("Chili sauce", 1, "jar"),
    ]
    assert ann.order_ids == ["o1", "o2", "o3"] and ann.units == 4
    assert ann.total == 8800 + 2 * 6800 + 2800 and not ann.all_paid


def test_producers_bring_live_orders_and_are_owed_paid_ones() -> None:
    statements = {s.producer: s for s in producer_statements(ORDERS, PRODUCTS)}
    assert set(statements) == {"Auntie Zhao", "Li family"}
    zhao = statements["Auntie Zhao"]
    assert [(x.name, x.to_bring, x.paid_units, x.paid_total) for x in zhao.lines] == [
        ("Wild honey", 3, 1, 8800)
    ]  # the shoes were all cancelled
    li = statements["Li family"]
    assert (li.to_bring, li.owed) == (4, 2800)
