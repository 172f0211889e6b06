"""After the show: packing lists (one parcel per buyer) and producer statements. Pure."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from live import domain
from live.domain import Order, OrderStatus, Product, Profile

_PAID = (OrderStatus.PAID, OrderStatus.SHIPPED)
# Orders still to pack: claimed or paid. Shipped ones have left; cancelled ones never will.
_TO_PACK = (OrderStatus.CLAIMED, OrderStatus.PAID)
# Orders that hold goods (a producer brings them): every one not cancelled (nor expired).
_LIVE = (OrderStatus.CLAIMED, OrderStatus.PAID, OrderStatus.SHIPPED)

# A unit that is a weight: "kg", "500g", "2.5 kg", "斤" (half a kilogram), "克", "公斤".
_WEIGHT_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*(kg|g|公斤|千克|克|斤)\s*\Z", re.IGNORECASE)
_KG_PER = {"kg": 1.0, "公斤": 1.0, "千克": 1.0, "g": 0.001, "克": 0.001, "斤": 0.5}


def unit_weight_kg(unit: str) -> float | None:
    """The weight of one unit when the unit is a weight ("500g" → 0.5), else None."""
    match = _WEIGHT_UNIT.match(unit)
    if match is None:
        return None
    count = float(match.group(1)) if match.group(1) else 1.0
    return count * _KG_PER[match.group(2).lower()]


def order_label(order: Order) -> str:
    """How people name an order: its number (`#0042`) when it has one, else its id."""
    return domain.order_label(order.number) if order.number > 0 else order.id


def line_of(order: Order, product: Product | None) -> tuple[str, str, int | None]:
    """What a line of this order is called, its unit and grams per unit: the product, with its
    option (`Shoes · 38`) for a product with options."""
    if product is None:
        return order.product_id + (f" · {order.option_name}" if order.option_name else ""), "", None
    option = domain.find_option(product, order.option_id)
    name = product.name
    if order.option_id is not None:
        # The name the option had when ordered (it may have been renamed since).
        name = f"{name} · {order.option_name or (option.name if option else order.option_id)}"
    if option is None:
        return name, product.unit, None
    return name, option.unit or product.unit, option.weight_g


@dataclass
class ParcelLine:
    product_id: str
    name: str
    unit: str
    qty: int
    unpaid: int = 0  # units of this line whose orders are not paid yet
    option_id: str | None = None
    grams: int | None = None  # weight of one unit, when the option says it

    @property
    def weight_kg(self) -> float | None:
        each = self.grams / 1000 if self.grams is not None else unit_weight_kg(self.unit)
        return None if each is None else each * self.qty


@dataclass
class Parcel:
    """Everything one buyer ordered in the show and is still to be packed, in one parcel."""

    buyer: str
    delivery: Profile | None
    lines: list[ParcelLine] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    total: int = 0
    unpaid_total: int = 0
    currency: str = "CNY"
    # holds (issue 14): the parcel's payment reference and shipping fee (live/parcels.py
    # fills them in; the co-op's, never a producer's)
    reference: str = ""
    shipping: int = 0

    @property
    def units(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def order_ids(self) -> list[str]:
        return [o.id for o in self.orders]

    @property
    def order_labels(self) -> list[str]:
        return [order_label(o) for o in self.orders]

    @property
    def all_paid(self) -> bool:
        return not any(line.unpaid for line in self.lines)

    @property
    def unpaid_lines(self) -> list[ParcelLine]:
        return [line for line in self.lines if line.unpaid]

    @property
    def weight_kg(self) -> float | None:
        """The goods' weight when every line is sold by weight; None when any is not."""
        weights = [line.weight_kg for line in self.lines]
        if not weights or any(w is None for w in weights):
            return None
        return sum(w for w in weights if w is not None)


def awaits_harvest(order: Order, product: Product | None) -> bool:
    """A pre-order whose harvest has not arrived yet: nothing to pack for it."""
    if not order.preorder or product is None:
        return False
    cell = domain.find_option(product, order.option_id) or product
    return order.harvest > cell.harvests


def packing_list(
    orders: Iterable[Order],
    products: Mapping[str, Product],
    profiles: Mapping[str, Profile],
    *,
    preorders: bool = False,
) -> list[Parcel]:
    """One parcel per buyer with orders still to pack (claimed or paid: shipped ones have left),
    merging the buyer's orders of the same product and noting which units are not paid yet;
    buyers without delivery details come first, so they get chased early.

    Pre-orders waiting for their harvest are kept apart: left out, or with `preorders`, the
    only ones listed (each line saying from when it ships)."""
    parcels: dict[str, Parcel] = {}
    for order in orders:
        if order.status not in _TO_PACK:
            continue
        if awaits_harvest(order, products.get(order.product_id)) != preorders:
            continue
        parcel = parcels.get(order.buyer)
        if parcel is None:
            parcel = Parcel(order.buyer, profiles.get(order.buyer), currency=order.currency)
            parcels[order.buyer] = parcel
        product = products.get(order.product_id)
        line = next(
            (
                x
                for x in parcel.lines
                if x.product_id == order.product_id and x.option_id == order.option_id
            ),
            None,
        )
        if line is None:
            name, unit, grams = line_of(order, product)
            if preorders and order.ships_from:
                name = f"{name} ({order.ships_from})"
            if product is not None and product.parts:  # bundles (issue 13): what goes in
                name = f"{name} ({domain.parts_line(product.parts, products)})"
            line = ParcelLine(
                order.product_id, name, unit, 0, option_id=order.option_id, grams=grams
            )
            parcel.lines.append(line)
        line.qty += order.qty
        parcel.orders.append(order)
        parcel.total += order.total
        if order.status is not OrderStatus.PAID:
            line.unpaid += order.qty
            parcel.unpaid_total += order.total
    return sorted(parcels.values(), key=lambda p: (p.delivery is not None, p.buyer))


def shipped_orders(orders: Iterable[Order]) -> int:
    """Orders already shipped (left out of the packing list)."""
    return sum(1 for o in orders if o.status is OrderStatus.SHIPPED)


def item_summary(lines: Iterable[ParcelLine], *, unpaid: bool = False) -> str:
    """`Wild honey × 2; Chili sauce × 1` (with `unpaid`, only the units not paid yet)."""
    parts = ((line.name, line.unpaid if unpaid else line.qty) for line in lines)
    return "; ".join(f"{name} × {qty}" for name, qty in parts if qty)


@dataclass
class StatementLine:
    product_id: str
    name: str
    unit: str
    to_bring: int  # units in live orders: what to bring to the packing point
    paid_units: int
    paid_total: int  # takings owed for this product (paid or shipped orders)
    option_id: str | None = None


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
    # One line per product, or per option of a product with options.
    by_product: dict[tuple[str, str | None], StatementLine] = {}
    currency: dict[tuple[str, str | None], str] = {}
    for order, total in _box_parts_split(orders, products):
        if order.status not in _LIVE:
            continue
        product = products.get(order.product_id)
        which = (order.product_id, order.option_id)
        line = by_product.get(which)
        if line is None:
            name, unit, _ = line_of(order, product)
            line = StatementLine(order.product_id, name, unit, 0, 0, 0, option_id=order.option_id)
            by_product[which] = line
            currency[which] = order.currency
        if not awaits_harvest(order, product):  # a pre-order's goods come with its harvest
            line.to_bring += order.qty
        if order.status in _PAID:
            line.paid_units += order.qty
            line.paid_total += total
    statements: dict[str, Statement] = defaultdict(lambda: Statement("", "CNY"))
    for which, line in by_product.items():
        product = products.get(which[0])
        producer = (product.producer if product else "") or "—"
        statement = statements[producer]
        statement.producer = producer
        statement.currency = currency[which]
        statement.lines.append(line)
    return sorted(statements.values(), key=lambda s: s.producer)


# --- bundles (issue 13) -----------------------------------------------------------------------


def _box_parts_split(
    orders: Iterable[Order], products: Mapping[str, Product]
) -> Iterable[tuple[Order, int]]:
    """Each order with its takings; a gift box's order stands as one order per part (its units
    of that part, and the part's share of the takings: `domain.part_shares`), so each part's
    producer brings and is owed their part."""
    for order in orders:
        box = products.get(order.product_id)
        if box is None or not box.parts:
            yield order, order.total
            continue
        shares = domain.part_shares(box.parts, products, order.total)
        for part, share in zip(box.parts, shares, strict=True):
            product = products.get(part.product_id)
            option = domain.find_option(product, part.option_id) if product else None
            part_order = replace(
                order,
                product_id=part.product_id,
                option_id=part.option_id,
                option_name=option.name if option else "",
                qty=part.qty * order.qty,
                preorder=False,
            )
            yield part_order, share
