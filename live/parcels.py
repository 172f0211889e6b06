"""Parcels (issue 14): a buyer's orders in one show, gathered into one parcel to pay. Pure.

A parcel holds the buyer's live orders (claimed, paid, shipped); its total is the items plus the
shipping fee of the whole parcel (live/shipping.py). What is left to pay is the claimed items
plus the part of the fee the paid orders did not already cover, so a buyer who claims more
after paying pays only the difference. Each parcel has a short payment reference, written in a
transfer's note so the co-op can tell whose money arrived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from live import domain
from live.backoffice import Parcel as PackingParcel
from live.backoffice import line_of, unit_weight_kg
from live.domain import Order, OrderStatus, Product, Profile
from live.shipping import Fee, ShippingRules, parcel_fee

# Orders a parcel holds: every one that is not cancelled or expired.
LIVE = (OrderStatus.CLAIMED, OrderStatus.PAID, OrderStatus.SHIPPED)
REFERENCE_LENGTH = 8  # 31^8 ≈ 8.5e11: two buyers of one show sharing one is negligible


def parcel_reference(show_id: str, buyer: str) -> str:
    """The parcel's payment reference: 8 characters of the short-code alphabet (no 0/O, 1/I/L),
    written `K7MN-2QXP`. Derived from the show and the buyer token, so it never changes and
    needs no storing; it reveals neither."""
    digest = int.from_bytes(hashlib.sha256(f"{show_id}\n{buyer}".encode()).digest()[:8], "big")
    alphabet = domain.SHORT_CODE_ALPHABET
    chars = []
    for _ in range(REFERENCE_LENGTH):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    half = REFERENCE_LENGTH // 2
    return "".join(chars[:half]) + "-" + "".join(chars[half:])


def normal_reference(text: str) -> str:
    """A reference as a person may type it (any case, blanks or dashes) in its written form."""
    raw = "".join(c for c in text.upper() if c.isalnum())
    half = REFERENCE_LENGTH // 2
    return raw[:half] + "-" + raw[half:] if len(raw) == REFERENCE_LENGTH else raw


@dataclass(frozen=True, slots=True)
class Parcel:
    show_id: str
    buyer: str
    reference: str
    currency: str
    orders: tuple[Order, ...]  # live orders, oldest first
    items: int  # every live order's total
    shipping: Fee  # of the whole parcel
    paid_items: int  # of the paid (or shipped) orders
    paid_shipping: int  # the fee a parcel of only those would have
    delivery: Profile | None

    @property
    def total(self) -> int:
        return self.items + self.shipping.amount

    @property
    def claimed(self) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.status is OrderStatus.CLAIMED)

    @property
    def to_pay(self) -> int:
        """What the buyer still owes: nothing once no order is claimed."""
        if not self.claimed:
            return 0
        unpaid_items = self.items - self.paid_items
        return unpaid_items + max(0, self.shipping.amount - self.paid_shipping)

    @property
    def pay_by(self) -> float | None:
        """When the first of its claims expires (None: they never do)."""
        deadlines = [o.expires_at for o in self.claimed if o.expires_at is not None]
        return min(deadlines) if deadlines else None

    @property
    def status(self) -> str:
        """ "unpaid" (a claim waits for payment), "paid" (none does) or "empty"."""
        if self.claimed:
            return "unpaid"
        return "paid" if self.orders else "empty"


def order_grams(order: Order, product: Product | None) -> int:
    """The order's weight: the option's grams, else the unit's when it is a weight ("500g"),
    else 0 (unknown weights count nothing)."""
    _, unit, grams = line_of(order, product)
    if grams is None:
        kg = unit_weight_kg(unit)
        grams = round(kg * 1000) if kg is not None else 0
    return grams * order.qty


def build_parcel(
    show_id: str,
    buyer: str,
    orders: Iterable[Order],
    products: Mapping[str, Product],
    profile: Profile | None,
    rules: ShippingRules,
) -> Parcel:
    """The buyer's parcel in the show, from the buyer's orders there."""
    live = tuple(o for o in orders if o.status in LIVE and o.buyer == buyer)
    paid = [o for o in live if o.status is not OrderStatus.CLAIMED]

    def fee_of(group: Iterable[Order]) -> Fee:
        group = list(group)
        return parcel_fee(
            rules,
            items_total=sum(o.total for o in group),
            weight_g=sum(order_grams(o, products.get(o.product_id)) for o in group),
            profile=profile,
        )

    return Parcel(
        show_id=show_id,
        buyer=buyer,
        reference=parcel_reference(show_id, buyer),
        currency=live[0].currency if live else "CNY",
        orders=live,
        items=sum(o.total for o in live),
        shipping=fee_of(live),
        paid_items=sum(o.total for o in paid),
        paid_shipping=fee_of(paid).amount,
        delivery=profile,
    )


def show_parcels(
    show_id: str,
    orders: Iterable[Order],
    products: Mapping[str, Product],
    profiles: Mapping[str, Profile],
    rules: ShippingRules,
) -> list[Parcel]:
    """Every buyer's parcel in the show (buyers with a live order), in order of first order."""
    by_buyer: dict[str, list[Order]] = {}
    for order in orders:
        if order.status in LIVE:
            by_buyer.setdefault(order.buyer, []).append(order)
    return [
        build_parcel(show_id, buyer, own, products, profiles.get(buyer), rules)
        for buyer, own in by_buyer.items()
    ]


def parcel_json(parcel: Parcel) -> dict[str, object]:
    """A parcel as its buyer sees it (no delivery details: the buyer has them)."""
    return {
        "reference": parcel.reference,
        "currency": parcel.currency,
        "items": parcel.items,
        "shipping": parcel.shipping.amount,
        "shipping_region": parcel.shipping.region,
        "shipping_free": parcel.shipping.free,
        "weight_g": parcel.shipping.weight_g,
        "total": parcel.total,
        "to_pay": parcel.to_pay,
        "pay_by": parcel.pay_by,
        "status": parcel.status,
        "order_ids": [o.id for o in parcel.orders],
    }


def host_parcel_json(parcel: Parcel) -> dict[str, object]:
    """A parcel as the host sees it: with the buyer and who to call."""
    profile = parcel.delivery
    return {
        **parcel_json(parcel),
        "buyer": parcel.buyer,
        "name": profile.name if profile else "",
        "phone": profile.phone if profile else "",
        "claimed": len(parcel.claimed),
    }


def matches(parcel: Parcel, query: str) -> bool:
    """The console's search: a reference (as typed), or an amount in yuan (88, 88.5, 88.00)
    equal to the parcel's total or what is left to pay."""
    query = query.strip()
    if not query:
        return True
    if normal_reference(query) == parcel.reference:
        return True
    try:
        fen = round(float(query) * 100)
    except (ValueError, OverflowError):  # not a number, or inf/nan
        return False
    return fen in (parcel.total, parcel.to_pay)


def price_packing(
    packing: Iterable[PackingParcel],
    show_id: str,
    orders: Sequence[Order],
    products: Mapping[str, Product],
    rules: ShippingRules,
) -> None:
    """Write each packing-list parcel's payment reference and shipping fee (that of the buyer's
    whole parcel, as the buyer was asked to pay it) into it."""
    for packed in packing:
        parcel = build_parcel(show_id, packed.buyer, orders, products, packed.delivery, rules)
        packed.reference = parcel.reference
        packed.shipping = parcel.shipping.amount
