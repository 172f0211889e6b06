"""After the show: packing lists (one parcel per buyer) and producer statements. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from live.domain import Order, OrderStatus, Product, Profile

_PAID = (OrderStatus.PAID, OrderStatus.SHIPPED)


@dataclass
class ParcelLine:
    product_id: str
    name: str
    unit: str
    qty: int


@dataclass
class Parcel:
    """Everything one buyer ordered in the show, to pack into one parcel."""

    buyer: str
    delivery: Profile | None
    lines: list[ParcelLine] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    total: int = 0
    currency: str = "CNY"
    all_paid: bool = True

    @property
    def units(self) -> int:
        return sum(line.qty for line in self.lines)


def packing_list(
    orders: Iterable[Order], products: Mapping[str, Product], profiles: Mapping[str, Profile]
) -> list[Parcel]:
    """One parcel per buyer with a live (not cancelled) order, merging the buyer's orders of the
    same product; buyers without delivery details come first, so they get chased early."""
    parcels: dict[str, Parcel] = {}
    for order in orders:
        if order.status is OrderStatus.CANCELLED:
            continue
        parcel = parcels.get(order.buyer)
        if parcel is None:
            parcel = Parcel(order.buyer, profiles.get(order.buyer), currency=order.currency)
            parcels[order.buyer] = parcel
        product = products.get(order.product_id)
        line = next((x for x in parcel.lines if x.product_id == order.product_id), None)
        if line is None:
            line = ParcelLine(
                order.product_id,
                product.name if product else order.product_id,
                product.unit if product else "",
                0,
            )
            parcel.lines.append(line)
        line.qty += order.qty
        parcel.order_ids.append(order.id)
        parcel.total += order.total
        parcel.all_paid = parcel.all_paid and order.status in _PAID
    return sorted(parcels.values(), key=lambda p: (p.delivery is not None, p.buyer))


@dataclass
class StatementLine:
    product_id: str
    name: str
    unit: str
    to_bring: int  # units in live orders: what to bring to the packing point
    paid_units: int
    paid_total: int  # takings owed for this product (paid or shipped orders)


@dataclass
class Statement:
    producer: str
    currency: str
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def to_bring(self) -> int:
        return sum(line.to_bring for line in self.lines)

    @property
    def owed(self) -> int:
        return sum(line.paid_total for line in self.lines)


def producer_statements(
    orders: Iterable[Order], products: Mapping[str, Product]
) -> list[Statement]:
    """For each producer: what to bring (live orders) and what they are owed (paid orders)."""
    by_product: dict[str, StatementLine] = {}
    currency: dict[str, str] = {}
    for order in orders:
        if order.status is OrderStatus.CANCELLED:
            continue
        product = products.get(order.product_id)
        line = by_product.get(order.product_id)
        if line is None:
            line = StatementLine(
                order.product_id,
                product.name if product else order.product_id,
                product.unit if product else "",
                0,
                0,
                0,
            )
            by_product[order.product_id] = line
            currency[order.product_id] = order.currency
        line.to_bring += order.qty
        if order.status in _PAID:
            line.paid_units += order.qty
            line.paid_total += order.total
    statements: dict[str, Statement] = defaultdict(lambda: Statement("", "CNY"))
    for product_id, line in by_product.items():
        product = products.get(product_id)
        producer = (product.producer if product else "") or "—"
        statement = statements[producer]
        statement.producer = producer
        statement.currency = currency[product_id]
        statement.lines.append(line)
    return sorted(statements.values(), key=lambda s: s.producer)
