"""The pure rules of a sale: products, shows, deals, orders and why an order is refused.

No I/O and no `await` here. Both store backends apply exactly these rules (the Redis backend
re-states them in Lua, and the shared contract tests hold the two to the same answers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from live.errors import Conflict, Invalid, Reason

MAX_QTY = 10_000
MAX_NAME = 200
MAX_DESCRIPTION = 2_000
MAX_URL = 2_000
MAX_LINEUP = 200
MAX_PRICE = 10**12  # minor units; far above any real price, well inside Lua's exact integers
MAX_STOCK = 10**9
MAX_OPTIONS = 50  # options (sizes, weights, colours) per product
MAX_WEIGHT_G = 10**7  # grams; a weight is kept per option for shipping
IDEMPOTENCY_TTL = 24 * 3600  # seconds an idempotency key keeps answering the same order
MAX_HOLD_SECONDS = 30 * 24 * 3600  # holds (issue 14): a claim waits a month at most

# \Z, not $: `$` also matches before a final newline, and these end up inside Redis key names.
BUYER_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")
ORDER_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
CURRENCY_RE = re.compile(r"^[A-Z]{3}\Z")
# Short codes avoid look-alikes (0/O, 1/I/L) so they can be read aloud and typed.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_CODE_RE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}\Z")


class OrderStatus(StrEnum):
    CLAIMED = "claimed"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    # holds (issue 14): a claim not paid by its `expires_at`; its units went back to stock.
    EXPIRED = "expired"


# Orders whose units went back (a cancel, an expired hold): they hold no stock and no buyer's
# limit, and nothing of them waits to be sent.
RELEASED = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})


@dataclass(frozen=True, slots=True)
class Option:
    """One size, weight or colour of a product, with its own stock (and maybe its own price).

    A product with options sells only through them: its stock and sold are their sums.
    """

    id: str
    name: str
    stock: int
    sold: int = 0
    price: int | None = None  # None: the product's price
    unit: str = ""  # what one unit is, as buyers read it: "500 g", "1 kg", "pair"
    weight_g: int | None = None  # grams per unit, for shipping and the price per kg
    # Pre-orders of the next harvest, as on a product (below).
    preorder_cap: int = 0
    ships_from: str = ""
    preordered: int = 0
    harvests: int = 0


@dataclass(frozen=True, slots=True)
class Part:
    """bundles (issue 13): `qty` units of a product (of its option) inside one gift box.

    `share` is the percent of the box's takings that goes to this part's producer; None: split
    by the parts' normal prices (`part_shares`)."""

    product_id: str
    qty: int
    option_id: str | None = None
    share: int | None = None
    # What buyers and packers read, as it was when the box was made: `Honey 500 g`.
    name: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    price: int
    stock: int
    currency: str = "CNY"
    unit: str = ""
    limit_per_buyer: int | None = None
    producer: str = ""
    description: str = ""
    image_url: str = ""
    sold: int = 0
    created_at: float = 0.0
    # Grows with every change of the product (stock included); lets a client drop stale stock.
    version: int = 0
    # Out of the catalog: left out of product lists and of new lineups; its orders and the
    # shows already holding it are untouched.
    archived: bool = False
    # Sizes, weights or colours, in the order buyers see them; empty: one thing, one stock.
    options: tuple[Option, ...] = ()
    # Pre-orders: once the stock is gone, up to `preorder_cap` units more may be ordered, to
    # ship from `ships_from` (a date, YYYY-MM-DD). `preordered` counts the units of pre-orders
    # (not cancelled) still waiting for the harvest; `harvests` counts the harvests received
    # (a pre-order waits for the one after those there were when it was placed). For a product
    # with options these live on its options, and `preordered` is their sum.
    preorder_cap: int = 0
    ships_from: str = ""
    preordered: int = 0
    harvests: int = 0
    # bundles (issue 13): a gift box made of units of other products; empty: not a box. A box
    # keeps no stock of its own: its stock is what its parts allow (`bundle_stock`).
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True, slots=True)
class Deal:
    price: int
    ends_at: float

    def active(self, now: float) -> bool:
        return now < self.ends_at


def _empty_deals() -> Mapping[str, Deal]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Show:
    id: str
    title: str
    lineup: tuple[str, ...]
    overlay_key: str
    ordering_open: bool = False
    featured_product_id: str | None = None
    on_sale: frozenset[str] = frozenset()
    deals: Mapping[str, Deal] = field(default_factory=_empty_deals)
    # Grows with every change to the show, its orders or a product in its lineup (assigned by
    # the store in the same step as the change).
    seq: int = 0
    # The seq of the show's latest discrete event (featured, on sale, ordering, deal, product
    # edit, lineup, toasts, end); each such event names the one before it, so a client can spot
    # a lost one.
    event_seq: int = 0
    ended: bool = False
    created_at: float = 0.0
    # A short code for the buy page's short link (/b/CODE), easy to read aloud and to scan.
    short_code: str = ""
    # Whether viewers and the overlay see sale toasts ("someone just bought 2").
    toasts: bool = True
    # holds (issue 14): seconds a claim may stay unpaid before it expires; 0: never.
    hold_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Profile:
    """A buyer's delivery details: given after the first claim, readable only by the host."""

    name: str
    phone: str
    street: str  # street, building, unit: the line a courier reads first
    city: str
    province: str = ""
    district: str = ""
    postcode: str = ""
    country: str = ""  # empty: the co-op's own country
    # The buyer agreed to appear in sale toasts (first character of the name, and the city).
    # Off unless the buyer ticks it: anonymous viewers see toasts.
    toasts: bool = False

    @property
    def full_address(self) -> str:
        """The full address in one line, largest part first (as Chinese addresses are written)."""
        parts = (self.country, self.province, self.city, self.district, self.street)
        return " ".join(p for p in parts if p)

    @property
    def fields(self) -> dict[str, str]:
        """Every field as text (how the Redis backend keeps it)."""
        return {
            "name": self.name,
            "phone": self.phone,
            "street": self.street,
            "city": self.city,
            "province": self.province,
            "district": self.district,
            "postcode": self.postcode,
            "country": self.country,
            "toasts": "1" if self.toasts else "",
        }

    @classmethod
    def from_fields(cls, h: Mapping[str, str]) -> Profile:
        return cls(
            name=h.get("name", ""),
            phone=h.get("phone", ""),
            # "address" is where details saved before the address had parts kept the street.
            street=h.get("street") or h.get("address", ""),
            city=h.get("city", ""),
            province=h.get("province", ""),
            district=h.get("district", ""),
            postcode=h.get("postcode", ""),
            country=h.get("country", ""),
            toasts=h.get("toasts") == "1",
        )


def settled_before(orders: Sequence[Order], cutoff: float) -> bool:
    """Whether a buyer's delivery details may go (issue 16, LIVE_FORGET_AFTER_DAYS): the buyer
    has orders, and every one is released (cancelled, expired) or was shipped before `cutoff`.
    Nothing is waiting to be sent; an order shipped before ship times were kept counts from
    its creation; a released one from its creation."""
    if not orders:
        return False
    for order in orders:
        if order.status in RELEASED:
            since = order.created_at
        elif order.status is OrderStatus.SHIPPED:
            since = order.shipped_at or order.created_at
        else:
            return False
        if since >= cutoff:
            return False
    return True


def toast_fields(profile: Profile | None) -> tuple[str | None, str | None]:
    """The name initial and city a sale toast may carry: only for a buyer who agreed."""
    if profile is None or not profile.toasts:
        return None, None
    return toast_name(profile.name) or None, profile.city[:50] or None


def toast_name(name: str) -> str:
    """What a sale toast may show of a buyer: the first character of the name (the surname
    in Chinese), never the whole name, phone or address."""
    return name.strip()[:1]


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    show_id: str
    product_id: str
    buyer: str
    qty: int
    price: int  # unit price paid, in minor units
    currency: str
    status: OrderStatus
    created_at: float
    key: str
    # Per show, from 1, in the order the orders were accepted: what people say ("#0042").
    number: int = 0
    # Shipped before it was paid: the courier collects the money.
    cash_on_delivery: bool = False
    # The client address the order came from: host-only (clusters), never in public answers.
    ip: str = ""
    # When it was marked shipped (Unix seconds; 0: not shipped, or shipped before this was
    # recorded): delivery details are forgotten LIVE_FORGET_AFTER_DAYS after (issue 16).
    shipped_at: float = 0.0
    # The option ordered (size, weight) and its name as it was when ordered.
    option_id: str | None = None
    option_name: str = ""
    # A pre-order of the next harvest: it ships from `ships_from`, once harvest number
    # `harvest` (the product's or option's `harvests` when ordered, plus one) has arrived.
    preorder: bool = False
    ships_from: str = ""
    harvest: int = 0
    # holds (issue 14): when an unpaid claim expires (None: the show's claims never do).
    expires_at: float | None = None

    @property
    def total(self) -> int:
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A buyer's order as the edge decoded it; `order_id` and `now` are chosen by the service."""

    show_id: str
    buyer: str
    product_id: str
    qty: int
    key: str
    order_id: str
    now: float
    ip: str = ""  # the client address; empty for internal callers
    option_id: str | None = None  # required for a product with options, refused otherwise


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    order: Order
    created: bool  # False when the key answered an existing order (a retry)
    # Stock of the product (of its option, for an option's order) right after (or, for a
    # retry, now).
    stock: int
    seq: int


@dataclass(frozen=True, slots=True)
class ShowState:
    """A show with its lineup products, read in one consistent step."""

    show: Show
    products: tuple[Product, ...]


# --- rules ------------------------------------------------------------------------------------


def running_deal(normal_price: int, deal: Deal | None, now: float) -> Deal | None:
    """The deal in force at `now`, if any. A deal is honest only while it is below the normal
    price; if the host later lowers the normal price under it, there is no deal to show."""
    if deal is not None and deal.active(now) and deal.price < normal_price:
        return deal
    return None


def unit_price(normal_price: int, deal: Deal | None, now: float) -> int:
    """The price an order placed at `now` pays: the deal price while the deal runs."""
    running = running_deal(normal_price, deal, now)
    return running.price if running is not None else normal_price


def option_price(product: Product, option: Option | None) -> int:
    """The normal price of one unit: the option's own price, else the product's."""
    if option is not None and option.price is not None:
        return option.price
    return product.price


def option_unit_price(
    product: Product, option: Option | None, deal: Deal | None, now: float
) -> int:
    """The price an order of this option placed at `now` pays.

    A deal is set on the product: while it runs, an option without its own price pays the deal
    price, and one with its own price pays the same amount less (product price − deal price),
    so a 1 kg jar keeps costing more than a 250 g one. An own price at or below that amount is
    not discounted (that would give it away).
    """
    running = running_deal(product.price, deal, now)
    if running is None:
        return option_price(product, option)
    if option is None or option.price is None:
        return running.price
    discounted = option.price - (product.price - running.price)
    return discounted if discounted > 0 else option.price


def find_option(product: Product, option_id: str | None) -> Option | None:
    """The product's option with this id, or None."""
    for option in product.options:
        if option.id == option_id:
            return option
    return None


OPTION_CHOICE = "option_id must name one of the product's options (and only such a product's)"


def option_choice_refusal(product: Product, option_id: str | None) -> Reason | None:
    """`invalid` when an order names no option of a product with options (or one it lacks), or
    names an option of a product without any."""
    if product.options:
        return None if find_option(product, option_id) is not None else Reason.INVALID
    return Reason.INVALID if option_id is not None else None


def with_option_stock(product: Product, option_id: str, stock: int, sold: int) -> Product:
    """The product with one option's stock and sold replaced, and its sums to match."""
    option = find_option(product, option_id)
    assert option is not None
    return with_option(product, replace(option, stock=stock, sold=sold))


def with_option(product: Product, changed: Option) -> Product:
    """The product with one option replaced, and its sums to match."""
    options = tuple(changed if o.id == changed.id else o for o in product.options)
    return replace(
        product,
        options=options,
        stock=sum(o.stock for o in options),
        sold=sum(o.sold for o in options),
        preordered=sum(o.preordered for o in options),
    )


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option of a new list of options: `id` names an existing option (kept with its stock
    and sold), None a new one (starting with `stock`)."""

    name: str
    id: str | None = None
    stock: int = 0
    price: int | None = None
    unit: str = ""
    weight_g: int | None = None
    preorder_cap: int = 0
    ships_from: str = ""


def check_option_names(names: list[str]) -> None:
    if not 1 <= len(names) <= MAX_OPTIONS:
        raise Invalid(f"a product has 1 to {MAX_OPTIONS} options", field="options")
    folded = [n.strip().casefold() for n in names]
    if len(set(folded)) != len(folded):
        raise Invalid("option names must be unique within the product", field="options")


def merge_options(product: Product, specs: list[OptionSpec], new_ids: list[str]) -> Product:
    """The product with its options replaced by `specs`, in that order: options named by id keep
    their stock and sold (only name, price, unit and weight change), new ones take an id from
    `new_ids` and their given stock, options left out are removed.

    A sold option (units in orders not cancelled) can't be removed, only emptied (`Conflict`);
    a product without options gets them only while nothing of it is sold.
    """
    check_option_names([s.name for s in specs])
    current = {o.id: o for o in product.options}
    if not product.options and product.sold > 0:
        raise Conflict("the product has orders: it cannot be split into options now")
    fresh = iter(new_ids)
    options: list[Option] = []
    for spec in specs:
        name, unit = spec.name.strip(), spec.unit.strip()
        if spec.id is None:
            option = Option(id=next(fresh), name=name, stock=spec.stock)
        elif spec.id in current:
            option = current[spec.id]
        else:
            raise Invalid(f"the product has no option {spec.id}", field="options")
        options.append(
            replace(
                option,
                name=name,
                price=spec.price,
                unit=unit,
                weight_g=spec.weight_g,
                preorder_cap=spec.preorder_cap,
                ships_from=spec.ships_from,
            )
        )
    kept = {o.id for o in options}
    for option in product.options:
        if option.id not in kept and (option.sold > 0 or option.preordered > 0):
            raise Conflict(
                f"option {option.name!r} has been sold: it can be emptied (stock 0), not removed"
            )
    return replace(
        product,
        options=tuple(options),
        stock=sum(o.stock for o in options),
        sold=sum(o.sold for o in options),
        preordered=sum(o.preordered for o in options),
    )


def order_refusal(
    *,
    ordering_open: bool,
    in_lineup: bool,
    on_sale: bool,
    stock: int,
    qty: int,
    bought: int,
    limit_per_buyer: int | None,
    option_ok: bool = True,
    preorder_room: int = 0,
) -> Reason | None:
    """Why an (already well-formed) order is refused, or None. The first reason that applies wins.

    `bought` is the buyer's not-cancelled quantity of this product so far (across all its
    options); the per-buyer limit counts units, so one order of 3 against a limit of 2 is
    refused. For a product with options, `option_ok` says the order names one of them
    (`option_choice_refusal`) and `stock` is that option's. Once the stock is gone, the order
    may take `preorder_room` units as a pre-order (`preorder_room`).
    """
    if not ordering_open:
        return Reason.ORDERING_CLOSED
    if not (in_lineup and on_sale):
        return Reason.NOT_ON_SALE
    if not option_ok:
        return Reason.INVALID
    available = stock if stock > 0 else preorder_room
    if available <= 0:
        return Reason.SOLD_OUT
    if limit_per_buyer is not None and bought + qty > limit_per_buyer:
        return Reason.LIMIT_EXCEEDED
    if available < qty:
        return Reason.SOLD_OUT
    return None


def preorder_room(stock: int, cap: int, preordered: int) -> int:
    """The units pre-orders may still take: only once the stock is gone, up to the cap."""
    return max(0, cap - preordered) if stock <= 0 else 0


def check_harvest(units: int, preordered: int) -> None:
    """A harvest turns the pre-ordered units into orders that can ship and adds the rest to
    stock; it must cover every unit waiting for it."""
    if units < preordered:
        raise Conflict(
            f"the harvest of {units} does not cover the {preordered} pre-ordered units; "
            "cancel pre-orders first or record a larger harvest"
        )


SHIPS_FROM_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})?\Z")


def is_same_order(order: Order, request: OrderRequest) -> bool:
    """A repeated key answers the earlier order only if it asks for the same thing."""
    return (
        order.show_id == request.show_id
        and order.product_id == request.product_id
        and order.qty == request.qty
        and order.option_id == request.option_id
    )


def order_label(number: int) -> str:
    """An order number as people read it out and write it on parcels: `#0042` (four digits,
    more when larger)."""
    return f"#{number:04d}"


def check_not_ended(show: Show) -> None:
    """An ended show is final: nothing about its sale changes any more."""
    if show.ended:
        raise Conflict(f"the show {show.id} has ended; its sale cannot change")


def check_cancellable(order: Order) -> None:
    if order.status is OrderStatus.SHIPPED:
        raise Conflict("a shipped order cannot be cancelled")


def check_deal(normal_price: int, deal_price: int, ends_at: float, now: float) -> Deal:
    """A flash price must really be a discount and must end in the future."""
    if deal_price >= normal_price:
        raise Invalid(f"the deal price {deal_price} must be below the normal price {normal_price}")
    if ends_at <= now:
        raise Invalid("ends_at must be in the future (Unix seconds)")
    return Deal(price=deal_price, ends_at=float(ends_at))


def check_lineup(product_ids: tuple[str, ...]) -> None:
    if len(set(product_ids)) != len(product_ids):
        raise Invalid("product_ids lists a product twice")
    if len(product_ids) > MAX_LINEUP:
        raise Invalid(f"a lineup holds at most {MAX_LINEUP} products")


def check_new_stock(current: int, *, set_to: int | None, delta: int | None) -> int:
    """The stock after a host adjustment; it never goes below zero."""
    if set_to is not None and delta is not None:
        raise Invalid("send either stock or stock_delta, not both")
    new = current
    if set_to is not None:
        new = set_to
    elif delta is not None:
        new = current + delta
    if new < 0:
        raise Conflict(f"stock cannot go below 0 (now {current}, change {delta})")
    # Only a requested increase is capped: cancels may restock past the cap, and such a product
    # must stay editable.
    if new > current and new > MAX_STOCK:
        raise Invalid(f"stock cannot exceed {MAX_STOCK}")
    return new


def is_valid_id(value: str) -> bool:
    return bool(ID_RE.match(value))


_STATUS_RANK = {OrderStatus.CLAIMED: 0, OrderStatus.PAID: 1, OrderStatus.SHIPPED: 2}


UNPAID_SHIPPING = (
    'the order is not paid: mark it paid first, or send "unpaid": true to ship it cash on delivery'
)


def check_status_change(current: OrderStatus, new: OrderStatus, *, unpaid: bool = False) -> bool:
    """Orders move forward only (claimed → paid → shipped); cancelling has its own step.

    Shipping an order that is not paid is an explicit choice (`unpaid`): the answer is True when
    this change ships it cash on delivery.
    """
    if new is OrderStatus.CANCELLED:
        raise Invalid("cancel an order with POST /api/orders/{id}/cancel")
    if current is OrderStatus.CANCELLED:
        raise Conflict("the order is cancelled")
    if current is OrderStatus.EXPIRED:  # holds (issue 14)
        raise Conflict(HOLD_EXPIRED)
    if _STATUS_RANK[new] < _STATUS_RANK[current]:
        raise Conflict(f"an order cannot go back from {current} to {new}")
    if current is OrderStatus.CLAIMED and new is OrderStatus.SHIPPED:
        if not unpaid:
            raise Conflict(UNPAID_SHIPPING)
        return True
    return False


# --- holds (issue 14) -------------------------------------------------------------------------

HOLD_EXPIRED = "the order was not paid in time: its hold expired and its units went back to stock"


def hold_deadline(hold_seconds: int, now: float) -> float | None:
    """When a claim placed at `now` expires: None when the show's claims never do. Whole
    milliseconds, rounded down (as the Redis store keeps it), so never later than the hold."""
    return math.floor((now + hold_seconds) * 1000) / 1000 if hold_seconds > 0 else None


def hold_due(order: Order, now: float) -> bool:
    """A claim whose hold has run out: it can no longer be paid, only expire."""
    return (
        order.status is OrderStatus.CLAIMED
        and order.expires_at is not None
        and order.expires_at <= now
    )


# --- bundles (issue 13) -----------------------------------------------------------------------

MAX_PARTS = 10  # parts per gift box
BOX_STOCK = "a gift box's stock is what its parts allow: change the parts' stock"


def part_cell(product: Product, option_id: str | None) -> Product | Option | None:
    """What a part takes its units from: the option named, or the plain product."""
    if option_id is None:
        return None if product.options else product
    return find_option(product, option_id)


def bundle_stock(parts: Sequence[Part], products: Mapping[str, Product]) -> int:
    """The boxes the parts' stock allows: min over parts of floor(part stock / qty)."""
    allowed: list[int] = []
    for part in parts:
        product = products.get(part.product_id)
        cell = part_cell(product, part.option_id) if product is not None else None
        allowed.append(max(0, cell.stock) // part.qty if cell is not None else 0)
    return min(allowed, default=0)


def with_bundle_stock(product: Product, products: Mapping[str, Product]) -> Product:
    """A box as it is shown: its stock is what its parts allow now (others are unchanged)."""
    if not product.parts:
        return product
    return replace(product, stock=bundle_stock(product.parts, products))


def check_parts(box_id: str, parts: Sequence[Part], products: Mapping[str, Product]) -> None:
    """A box holds 1–10 parts, each an existing product that is not itself a box nor the box,
    named once, with its option when it has options (and only then), qty ≥ 1; shares, when
    given, are given for every part and add up to 100."""
    if not 1 <= len(parts) <= MAX_PARTS:
        raise Invalid(f"a gift box has 1 to {MAX_PARTS} parts", field="parts")
    seen: set[tuple[str, str | None]] = set()
    for part in parts:
        if part.product_id == box_id:
            raise Invalid("a gift box cannot hold itself", field="parts")
        product = products.get(part.product_id)
        if product is None:
            raise Invalid(f"no product {part.product_id}", field="parts")
        if product.parts:
            raise Invalid(f"{product.name!r} is a gift box: boxes hold no boxes", field="parts")
        if part_cell(product, part.option_id) is None:
            raise Invalid(f"name one of {product.name!r}'s options (option_id)", field="parts")
        if part.qty < 1:
            raise Invalid("a part's qty is at least 1", field="parts")
        if (part.product_id, part.option_id) in seen:
            raise Invalid("a gift box names each part once", field="parts")
        seen.add((part.product_id, part.option_id))
    shares = [p.share for p in parts]
    if any(s is not None for s in shares) and (
        any(s is None or s < 0 for s in shares) or sum(s or 0 for s in shares) != 100
    ):
        raise Invalid("give every part a share, adding up to 100 (percent)", field="parts")


def part_shares(parts: Sequence[Part], products: Mapping[str, Product], total: int) -> list[int]:
    """A box's takings (`total`, minor units) split between its parts: by the host's shares,
    else by the parts' normal prices × qty; the rounding remainder goes to the first part, so
    the split always adds up to the total."""
    weights: list[int] = []
    for part in parts:
        if part.share is not None:
            weights.append(part.share)
            continue
        product = products.get(part.product_id)
        option = find_option(product, part.option_id) if product is not None else None
        weights.append(option_price(product, option) * part.qty if product is not None else 0)
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1] * len(parts), len(parts)
    split = [total * w // whole for w in weights]
    if split:
        split[0] += total - sum(split)
    return split


BOX_FIXED = "the box has orders: its parts are fixed now (make another box for other parts)"
NOT_A_BOX = "only a gift box has parts (make a new product with parts)"


def check_parts_change(box: Product) -> None:
    """A box's parts change only while none of it is sold: its orders give back what they
    took, so the parts must stay what those orders took."""
    if not box.parts:
        raise Conflict(NOT_A_BOX)
    if box.sold > 0:
        raise Conflict(BOX_FIXED)


def part_name(part: Part, products: Mapping[str, Product]) -> str:
    """A part as people read it, by the catalog now: `Honey 500 g`."""
    product = products.get(part.product_id)
    option = find_option(product, part.option_id) if product else None
    name = product.name if product else part.name or part.product_id
    return f"{name} {option.name}" if option else name


def parts_line(parts: Sequence[Part], products: Mapping[str, Product]) -> str:
    """What is in a box, as packers and buyers read it: `1 × Honey 500 g + 2 × Chili sauce`."""
    return " + ".join(f"{part.qty} × {part_name(part, products)}" for part in parts)
