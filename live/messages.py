"""Typed messages: the one place JSON is parsed and produced.

Untrusted bodies become these Structs (or an `Invalid` error naming the bad field) before they
reach the service; answers are built here from domain values.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from live import domain
from live.domain import Deal, Order, Product, Profile, Show, ShowState
from live.errors import Invalid

Name = Annotated[str, Meta(min_length=1, max_length=domain.MAX_NAME)]
ShortText = Annotated[str, Meta(max_length=domain.MAX_NAME)]
Description = Annotated[str, Meta(max_length=domain.MAX_DESCRIPTION)]
Url = Annotated[str, Meta(max_length=domain.MAX_URL)]
Unit = Annotated[str, Meta(max_length=32)]
Currency = Annotated[str, Meta(pattern=domain.CURRENCY_RE.pattern)]
Price = Annotated[int, Meta(ge=0, le=domain.MAX_PRICE)]
Stock = Annotated[int, Meta(ge=0, le=domain.MAX_STOCK)]
StockDelta = Annotated[int, Meta(ge=-domain.MAX_STOCK, le=domain.MAX_STOCK)]
Qty = Annotated[int, Meta(ge=1, le=domain.MAX_QTY)]
Limit = Annotated[int, Meta(ge=1, le=domain.MAX_QTY)]
Id = Annotated[str, Meta(pattern=domain.ID_RE.pattern)]
OrderKey = Annotated[str, Meta(pattern=domain.ORDER_KEY_RE.pattern)]
UnixTime = Annotated[float, Meta(ge=0, le=1e11)]


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body: unknown fields are refused, so typos don't pass silently."""


Grams = Annotated[int, Meta(ge=1, le=domain.MAX_WEIGHT_G)]
# Pre-orders: how many units may be ordered once the stock is gone, and from when they ship.
PreorderCap = Annotated[int, Meta(ge=0, le=domain.MAX_STOCK)]
ShipsFrom = Annotated[str, Meta(pattern=domain.SHIPS_FROM_RE.pattern)]


class OptionBody(Body):
    """One option in `POST /api/products` and `PUT /api/products/{id}/options`: with `id`, an
    existing option (its stock stays; `stock` is ignored), without, a new one."""

    name: Name
    stock: Stock = 0
    price: Price | None = None  # None: the product's price
    unit: Unit = ""
    weight_g: Grams | None = None
    id: Id | None = None
    preorder_cap: PreorderCap = 0
    ships_from: ShipsFrom = ""

    def spec(self) -> domain.OptionSpec:
        return domain.OptionSpec(
            name=self.name,
            id=self.id,
            stock=self.stock,
            price=self.price,
            unit=self.unit,
            weight_g=self.weight_g,
            preorder_cap=self.preorder_cap,
            ships_from=self.ships_from,
        )


Options = Annotated[list[OptionBody], Meta(min_length=1, max_length=domain.MAX_OPTIONS)]


# bundles (issue 13)
class PartBody(Body):
    """One part of a gift box: `qty` units of a product (of its option)."""

    product_id: Id
    qty: Qty = 1
    option_id: Id | None = None
    share: Annotated[int, Meta(ge=0, le=100)] | None = None  # percent of the box's takings

    def part(self) -> domain.Part:
        return domain.Part(self.product_id, self.qty, self.option_id, self.share)


Parts = Annotated[list[PartBody], Meta(min_length=1, max_length=domain.MAX_PARTS)]


class PartsBody(Body):
    """A gift box's whole new list of parts."""

    parts: Parts


class ProductCreate(Body):
    name: Name
    price: Price
    stock: Stock  # with options: 0 or their sum (the product's stock is always their sum)
    currency: Currency = "CNY"
    unit: Unit = ""
    limit_per_buyer: Limit | None = None
    producer: ShortText = ""
    description: Description = ""
    image_url: Url = ""
    options: Options | None = None
    preorder_cap: PreorderCap = 0
    ships_from: ShipsFrom = ""
    parts: Parts | None = None  # bundles (issue 13): a gift box made of these


class OptionsBody(Body):
    """The product's whole list of options, in order: added, renamed, reordered, removed."""

    options: Options


class OptionStockPatch(Body):
    stock: Stock | UnsetType = UNSET
    stock_delta: StockDelta | UnsetType = UNSET


class HarvestBody(Body):
    """The harvest arrived: `units` of the product (of `option_id`, for a product with options)."""

    units: Stock
    option_id: Id | None = None


class ProductPatch(Body):
    name: Name | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    limit_per_buyer: Limit | UnsetType | None = UNSET
    producer: ShortText | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    image_url: Url | UnsetType = UNSET
    stock: Stock | UnsetType = UNSET
    stock_delta: StockDelta | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
    preorder_cap: PreorderCap | UnsetType = UNSET
    ships_from: ShipsFrom | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        """The edited fields other than stock, as given."""
        return {
            f: v
            for f in self.__struct_fields__
            if f not in ("stock", "stock_delta") and (v := getattr(self, f)) is not UNSET
        }


Lineup = Annotated[list[Id], Meta(max_length=domain.MAX_LINEUP)]


class ShowCreate(Body):
    title: Name
    product_ids: Lineup
    toasts: bool = True  # sale toasts for viewers and the overlay
    # holds (issue 14): seconds a claim may stay unpaid; None: LIVE_HOLD_SECONDS; 0: forever
    hold_seconds: Annotated[int, Meta(ge=0, le=domain.MAX_HOLD_SECONDS)] | None = None


class LineupBody(Body):
    """The whole new lineup, in order: products are added, removed and reordered at once."""

    product_ids: Lineup


class ToastsBody(Body):
    on: bool


class FeaturedBody(Body):
    product_id: Id | None


class OrderingBody(Body):
    open: bool


class OnSaleBody(Body):
    product_id: Id
    on_sale: bool


class DealBody(Body):
    """`price` null ends the product's deal now; otherwise `ends_at` is required."""

    product_id: Id
    price: Price | None
    ends_at: UnixTime | None = None


class OrderBody(Body):
    product_id: Id
    qty: Qty
    key: OrderKey
    option_id: Id | None = None  # required for a product with options
    # True on every resend of a key already sent (docs/api.md): answered by the store only.
    retry: bool = False


class ProfileBody(Body):
    """A buyer's delivery details (sent with X-Buyer; only host routes read them back)."""

    name: Annotated[str, Meta(min_length=1, max_length=50)]
    # Digits, spaces and + - ( ) as a person types them; live.delivery checks the number and
    # keeps it as +86 138 0013 8000.
    phone: Annotated[str, Meta(min_length=1, max_length=30)]
    city: Annotated[str, Meta(min_length=1, max_length=50)]
    street: Annotated[str, Meta(max_length=300)] = ""
    # The address in one line, as sent before it had parts: kept as the street.
    address: Annotated[str, Meta(max_length=300)] = ""
    province: Annotated[str, Meta(max_length=50)] = ""
    district: Annotated[str, Meta(max_length=50)] = ""
    postcode: Annotated[str, Meta(max_length=12)] = ""
    country: Annotated[str, Meta(max_length=50)] = ""
    toasts: bool = False


class StatusBody(Body):
    status: Literal["paid", "shipped"]
    # Shipping an order that is not paid is an explicit choice: cash on delivery.
    unpaid: bool = False


T = TypeVar("T")


def decode(raw: bytes, kind: type[T]) -> T:
    """Decode an untrusted JSON body into `kind`, or raise `Invalid` saying what is wrong."""
    try:
        value = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: catch it first
        raise Invalid(str(exc), field=_error_field(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Invalid("the body is nested too deeply") from None
    _check_text(value)
    return value


OPTIONAL_TEXT = frozenset({"street", "address"})

# msgspec names the place of a bad value: "... - at `$.phone`", "... field `city`".
_AT_FIELD = re.compile(r"(?:at `\$\.|field `)([A-Za-z_]+)")


def _error_field(message: str) -> str | None:
    """The top-level body field a msgspec validation message is about, if any."""
    found = _AT_FIELD.search(message)
    return found.group(1) if found else None


def _check_text(value: object) -> None:
    """Rules msgspec's constraints can't state: no blank names, only web image URLs."""
    for field in ("name", "title", "city", "street", "address"):
        text = getattr(value, field, UNSET)
        # street and address may be left out (empty) but not filled with spaces
        if isinstance(text, str) and not text.strip() and (text or field not in OPTIONAL_TEXT):
            raise Invalid(f"{field} must not be blank", field=field)
    url = getattr(value, "image_url", UNSET)
    if isinstance(url, str) and url and not url.startswith(("https://", "http://", "/")):
        # javascript:, data: and friends would run or leak in the pages that show the image.
        raise Invalid(
            "image_url must be an http(s) URL or a path starting with /", field="image_url"
        )


# --- answers -----------------------------------------------------------------------------


def product_json(product: Product, show: Show | None = None, now: float = 0.0) -> dict[str, Any]:
    """A product as pages and the host see it; inside a show, with its on-sale state and deal."""
    if show is not None:
        return product_in_show_json(
            product, on_sale=product.id in show.on_sale, deal=show.deals.get(product.id), now=now
        )
    out = _product_fields(product)
    out["created_at"] = product.created_at
    return out


def product_in_show_json(
    product: Product, *, on_sale: bool, deal: Deal | None, now: float
) -> dict[str, Any]:
    """A product with its place in a show: on sale or not, and the deal only while it runs and
    is a real discount (`domain.running_deal`)."""
    out = _product_fields(product)
    out["on_sale"] = on_sale
    running = domain.running_deal(product.price, deal, now)
    if running is not None:
        out["deal_price"] = running.price
        out["deal_ends_at"] = running.ends_at
        for option, shown in zip(product.options, out["options"] or (), strict=True):
            # What the option pays while the deal runs (domain.option_unit_price).
            shown["deal_price"] = domain.option_unit_price(product, option, running, now)
    return out


def _product_fields(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "producer": product.producer,
        "description": product.description,
        "image_url": product.image_url,
        "unit": product.unit,
        "price": product.price,
        "currency": product.currency,
        "stock": product.stock,
        "sold": product.sold,
        "limit_per_buyer": product.limit_per_buyer,
        "version": product.version,
        "archived": product.archived,
        "options": [option_json(o) for o in product.options] if product.options else None,
        "preorder_cap": product.preorder_cap,
        "ships_from": product.ships_from,
        "preordered": product.preordered,
        "parts": [part_json(p) for p in product.parts] if product.parts else None,
    }


def part_json(part: domain.Part) -> dict[str, Any]:  # bundles (issue 13)
    return {
        "product_id": part.product_id,
        "option_id": part.option_id,
        "qty": part.qty,
        "share": part.share,
        "name": part.name,
    }


def option_json(option: domain.Option) -> dict[str, Any]:
    return {
        "id": option.id,
        "name": option.name,
        "stock": option.stock,
        "sold": option.sold,
        "price": option.price,
        "unit": option.unit,
        "weight_g": option.weight_g,
        "preorder_cap": option.preorder_cap,
        "ships_from": option.ships_from,
        "preordered": option.preordered,
    }


def snapshot_json(state: ShowState, now: float) -> dict[str, Any]:
    """The public snapshot: the socket's first message and `GET /api/shows/{id}/state`."""
    show = state.show
    return {
        "type": "snapshot",
        "seq": show.seq,
        "event_seq": show.event_seq,
        "show": {
            "id": show.id,
            "title": show.title,
            "ordering_open": show.ordering_open,
            "featured_product_id": show.featured_product_id,
            "ended": show.ended,
            "short_code": show.short_code,
            "toasts": show.toasts,
        },
        "products": [product_json(p, show, now) for p in state.products],
        "server_time": now,
    }


class ShowLinks(msgspec.Struct, frozen=True):
    """A show's public addresses, built by the web layer from its route names."""

    viewer_url: str
    short_url: str | None
    overlay_url: str


def host_show_json(state: ShowState, now: float, links: ShowLinks) -> dict[str, Any]:
    """The show as the host sees it: public state plus its links and the overlay key."""
    show = state.show
    return {
        "id": show.id,
        "title": show.title,
        "ordering_open": show.ordering_open,
        "featured_product_id": show.featured_product_id,
        "ended": show.ended,
        "toasts": show.toasts,
        "hold_seconds": show.hold_seconds,  # holds (issue 14)
        "product_ids": list(show.lineup),
        "seq": show.seq,
        "created_at": show.created_at,
        "viewer_url": links.viewer_url,
        "short_url": links.short_url,
        "overlay_url": links.overlay_url,
        "overlay_key": show.overlay_key,
        "products": [product_json(p, show, now) for p in state.products],
    }


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "show_id": order.show_id,
        "product_id": order.product_id,
        "buyer": order.buyer,
        "qty": order.qty,
        "price": order.price,
        "currency": order.currency,
        "total": order.total,
        "status": order.status.value,
        "created_at": order.created_at,
        "key": order.key,
        "cash_on_delivery": order.cash_on_delivery,
        "option_id": order.option_id,
        "option_name": order.option_name,
        "preorder": order.preorder,
        "ships_from": order.ships_from,
        "expires_at": order.expires_at,  # holds (issue 14)
    }


def profile_json(profile: Profile) -> dict[str, Any]:
    """Delivery details: to the host with its orders, and back to the buyer who sent them."""
    return {
        "name": profile.name,
        "phone": profile.phone,
        # "address" is the street line, as before the address had parts.
        "address": profile.street,
        "full_address": profile.full_address,
        "country": profile.country,
        "province": profile.province,
        "city": profile.city,
        "district": profile.district,
        "street": profile.street,
        "postcode": profile.postcode,
        "toasts": profile.toasts,
    }


def host_order_json(order: Order, profile: Profile | None) -> dict[str, Any]:
    """An order as the host sees it: with the buyer's delivery details when given."""
    delivery = profile_json(profile) if profile is not None else None
    # "ip": the client address the order came from (host only; see /api/shows/{id}/clusters).
    return {**order_json(order), "ip": order.ip, "delivery": delivery}


def buyer_order_json(order: Order) -> dict[str, Any]:
    """An order as its buyer sees it in "my orders"."""
    out = order_json(order)
    del out["buyer"]
    return out


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


# --- holds (issue 14): shipping rules -----------------------------------------------------------

RegionName = Annotated[str, Meta(min_length=1, max_length=50)]


class RateBody(Body):
    """A shipping rate: the first kilogram (or the whole parcel), and each extra kilogram begun."""

    first: Price
    extra_kg: Price = 0


class ShippingBody(Body):
    """The co-op's shipping rules (live/shipping.py): every field replaced at once."""

    elsewhere: RateBody
    regions: Annotated[dict[RegionName, RateBody], Meta(max_length=100)] = {}
    abroad: RateBody | None = None
    free_above: Price | None = None


# --- holds (issue 14): how to pay ---------------------------------------------------------------

Instruction = Annotated[str, Meta(max_length=500)]


class PaymentMethodBody(Body):
    kind: Literal["wechat", "alipay", "bank", "other"]
    name: Annotated[str, Meta(min_length=1, max_length=50)]
    image_url: Url = ""  # the receive code, uploaded like a product photo (/media/…)
    details: Annotated[str, Meta(max_length=500)] = ""  # account, payee, bank
    instruction: dict[Literal["zh-CN", "en"], Instruction] = {}


class PaymentMethodsBody(Body):
    """Every payment method, in the order buyers see them (replaces the list)."""

    methods: Annotated[list[PaymentMethodBody], Meta(max_length=8)]


class RejectBody(Body):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]
