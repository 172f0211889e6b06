"""The show events: what a store step publishes and every process's hub receives.

One typed vocabulary for both backends. The memory store builds these Structs; the Redis Lua
scripts publish their JSON, which the Redis feed decodes with `decode_event` at its edge. A
message that does not decode to one of them is treated as a lost event (that show is resynced).

Every event carries the show's new `seq`. Discrete events (`Discrete`) also carry `prev`, the
seq of the show's previous discrete event, so a client can tell a lost event from a skipped
stock value; stock moves (`Stock`, `OrderPlaced`) are latest-value. An event carries everything
its receivers need: no hub reads the store back when one arrives.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

import msgspec

from live import domain


class ShowEvent(msgspec.Struct, tag_field="type", frozen=True, kw_only=True):
    """Base of every event; `type` on the wire is the class's tag."""

    seq: int


class Discrete(ShowEvent, frozen=True, kw_only=True):
    """A change clients apply once, in order; `prev` names the previous one."""

    prev: int


# --- latest-value stock --------------------------------------------------------------------


class OptionStock(msgspec.Struct, frozen=True):
    """One option's stock and sold, as of the event (other fields a script sends are ignored)."""

    id: str
    stock: int
    sold: int
    preordered: int = 0


class Stock(ShowEvent, tag="stock", frozen=True, kw_only=True):
    """A product's stock now (a cancel, a stock edit, or an order in another show).

    For a product with options, `options` carries every option's stock and sold at this
    `version` (the product's `stock` and `sold` are their sums), so the latest value of a
    product is also the latest of each of its options.
    """

    product_id: str
    stock: int
    sold: int
    version: int
    options: tuple[OptionStock, ...] | None = None
    preordered: int = 0  # units of pre-orders waiting for the harvest

    @staticmethod
    def options_of(product: domain.Product) -> tuple[OptionStock, ...] | None:
        if not product.options:
            return None
        return tuple(OptionStock(o.id, o.stock, o.sold, o.preordered) for o in product.options)


class OrderPlaced(Stock, tag="order", frozen=True):
    """An order in this show: the stock it left, and the sale for a toast.

    `toast` is false when the show's sale toasts are off, and then `name` and `city` are None.
    Otherwise they are the first character of the buyer's name and the city, when the buyer
    agreed to appear in toasts (`live.domain.toast_fields`).
    """

    qty: int
    name: str | None
    city: str | None
    toast: bool
    option_id: str | None = None  # the option ordered, for a product with options


# --- discrete changes ----------------------------------------------------------------------


class Featured(Discrete, tag="featured", frozen=True):
    product_id: str | None


class OnSale(Discrete, tag="on_sale", frozen=True):
    product_id: str
    on_sale: bool


class Ordering(Discrete, tag="ordering", frozen=True):
    open: bool


class DealChanged(Discrete, tag="deal", frozen=True):
    """A product's flash deal started, changed or (both None) ended."""

    product_id: str
    deal_price: int | None
    deal_ends_at: float | None


class Toasts(Discrete, tag="toasts", frozen=True):
    on: bool


class LineupChanged(Discrete, tag="lineup", frozen=True):
    """Products came or went: receivers start over from a snapshot."""


class ShowEnded(Discrete, tag="show_ended", frozen=True):
    pass


class PublicOption(msgspec.Struct, frozen=True, kw_only=True):
    """An option's public fields (`live.messages.option_json`)."""

    id: str
    name: str
    stock: int
    sold: int
    price: int | None = None
    unit: str = ""
    weight_g: int | None = None
    preorder_cap: int = 0
    ships_from: str = ""
    preordered: int = 0
    harvests: int = 0


class PublicProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A product's public fields (what `live.messages.product_json` shows), as of the event."""

    id: str
    name: str
    producer: str
    description: str
    image_url: str
    unit: str
    price: int
    currency: str
    stock: int
    sold: int
    limit_per_buyer: int | None
    version: int
    archived: bool
    options: tuple[PublicOption, ...] | None = None
    preorder_cap: int = 0
    ships_from: str = ""
    preordered: int = 0
    harvests: int = 0
    parts: tuple[domain.Part, ...] | None = None  # bundles (issue 13): a gift box's parts

    @classmethod
    def of(cls, product: domain.Product) -> PublicProduct:
        return cls(
            id=product.id,
            name=product.name,
            producer=product.producer,
            description=product.description,
            image_url=product.image_url,
            unit=product.unit,
            price=product.price,
            currency=product.currency,
            stock=product.stock,
            sold=product.sold,
            limit_per_buyer=product.limit_per_buyer,
            version=product.version,
            archived=product.archived,
            options=tuple(
                PublicOption(
                    id=o.id,
                    name=o.name,
                    stock=o.stock,
                    sold=o.sold,
                    price=o.price,
                    unit=o.unit,
                    weight_g=o.weight_g,
                    preorder_cap=o.preorder_cap,
                    ships_from=o.ships_from,
                    preordered=o.preordered,
                    harvests=o.harvests,
                )
                for o in product.options
            )
            or None,
            preorder_cap=product.preorder_cap,
            ships_from=product.ships_from,
            preordered=product.preordered,
            harvests=product.harvests,
            parts=product.parts or None,
        )

    def to_product(self) -> domain.Product:
        return domain.Product(
            id=self.id,
            name=self.name,
            price=self.price,
            stock=self.stock,
            currency=self.currency,
            unit=self.unit,
            limit_per_buyer=self.limit_per_buyer,
            producer=self.producer,
            description=self.description,
            image_url=self.image_url,
            sold=self.sold,
            version=self.version,
            archived=self.archived,
            options=tuple(
                domain.Option(
                    id=o.id,
                    name=o.name,
                    stock=o.stock,
                    sold=o.sold,
                    price=o.price,
                    unit=o.unit,
                    weight_g=o.weight_g,
                    preorder_cap=o.preorder_cap,
                    ships_from=o.ships_from,
                    preordered=o.preordered,
                    harvests=o.harvests,
                )
                for o in self.options or ()
            ),
            preorder_cap=self.preorder_cap,
            ships_from=self.ships_from,
            preordered=self.preordered,
            harvests=self.harvests,
            parts=self.parts or (),
        )


class DealTerms(msgspec.Struct, frozen=True, kw_only=True):
    """A deal as stored: it applies only while it runs and is a real discount
    (`live.domain.running_deal`, decided by the receiver at the time it shows it)."""

    price: int
    ends_at: float


class ProductEdited(Discrete, tag="product", frozen=True):
    """A product's fields were edited: the product as it is now, with its place in this show
    (on sale or not, and its deal here), so receivers need not read the product or the show."""

    product: PublicProduct
    on_sale: bool
    deal: DealTerms | None


class OverlayKeyRotated(ShowEvent, tag="overlay_key", frozen=True):
    """The show's overlay key was replaced: overlays holding another key must close.

    Carries a digest of the new key (`key_digest`), never the key: pub/sub messages reach every
    subscriber of the channel, and the hub only needs to tell the new key from an old one.
    """

    key_digest: str


Event: TypeAlias = (
    Stock
    | OrderPlaced
    | Featured
    | OnSale
    | Ordering
    | DealChanged
    | Toasts
    | LineupChanged
    | ShowEnded
    | ProductEdited
    | OverlayKeyRotated
)


def key_digest(overlay_key: str) -> str:
    """The digest an `OverlayKeyRotated` event carries (compare with hmac.compare_digest)."""
    return hashlib.sha256(overlay_key.encode()).hexdigest()


_encoder = msgspec.json.Encoder()
# strict=False: Lua's cjson keeps only 14 significant digits of a number, so the scripts send
# exact floats (a deal's end time) as the text Redis stores; msgspec reads that text as the
# float the field declares. Everything else must match its declared type as usual.
_decoder = msgspec.json.Decoder(Event, strict=False)


def encode_event(event: ShowEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(payload: bytes | str) -> Event:
    """The event in a published message; `msgspec.DecodeError` (or its subclass
    `ValidationError`) when the message is not one of the events above."""
    return _decoder.decode(payload)
