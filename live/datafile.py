"""The export file: a deployment's data as JSON lines, for moving servers and archiving.

Format `sunlit-live-export`, version 1 (docs/operations.md, "Data lifecycle and PIPL"): the
first line is the header, `{"type": "header", "format", "version", "exported_at", "store",
"counts"}`; every other line is one record, `{"type": "product" | "show" | "order" | "buyer" |
"settings" | "account", ...}` holding the store's own fields. A reader refuses another format, a
newer version, or a line that does not decode, naming the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO

import msgspec

from live.backends.base import BuyerData, DataSet
from live.domain import Order, Product, Profile, Show

FORMAT = "sunlit-live-export"
VERSION = 1


class Header(msgspec.Struct, tag="header", tag_field="type"):
    format: str
    version: int
    exported_at: float
    store: str
    counts: dict[str, int]


class ProductLine(msgspec.Struct, tag="product", tag_field="type"):
    product: Product


class ShowLine(msgspec.Struct, tag="show", tag_field="type"):
    show: Show


class OrderLine(msgspec.Struct, tag="order", tag_field="type"):
    order: Order


class BuyerLine(msgspec.Struct, tag="buyer", tag_field="type"):
    buyer: str
    profile: Profile
    phone_key: str = ""


class SettingsLine(msgspec.Struct, tag="settings", tag_field="type"):
    settings: dict[str, str]


class AccountLine(msgspec.Struct, tag="account", tag_field="type"):
    name: str
    password_hash: str


Record = ProductLine | ShowLine | OrderLine | BuyerLine | SettingsLine | AccountLine
_decode_record = msgspec.json.Decoder(Record).decode
_decode_header = msgspec.json.Decoder(Header).decode


def _plain(value: object) -> object:
    if isinstance(value, Mapping):  # a show's deals, read-only in the memory store
        return dict(value)
    raise NotImplementedError(f"cannot write {type(value).__name__}")


_encode = msgspec.json.Encoder(enc_hook=_plain).encode


class DataFileError(ValueError):
    """The file is not an export this version can read; the message names the line."""


def records(data: DataSet) -> Iterator[Record]:
    yield from (ProductLine(p) for p in data.products)
    yield from (ShowLine(s) for s in data.shows)
    yield from (OrderLine(o) for o in data.orders)
    yield from (BuyerLine(b.buyer, b.profile, b.phone_key) for b in data.buyers)
    if data.settings:
        yield SettingsLine(dict(data.settings))
    yield from (AccountLine(name, hashed) for name, hashed in data.accounts.items())


def write(data: DataSet, out: IO[bytes], *, store: str, now: float) -> None:
    counts = {
        "products": len(data.products),
        "shows": len(data.shows),
        "orders": len(data.orders),
        "buyers": len(data.buyers),
        "accounts": len(data.accounts),
    }
    out.write(_encode(Header(FORMAT, VERSION, now, store, counts)) + b"\n")
    for record in records(data):
        out.write(_encode(record) + b"\n")


def read(lines: Iterable[bytes]) -> DataSet:
    products: list[Product] = []
    shows: list[Show] = []
    orders: list[Order] = []
    buyers: list[BuyerData] = []
    settings: dict[str, str] = {}
    accounts: dict[str, str] = {}
    header: Header | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if header is None:
                header = _decode_header(line)
                if header.format != FORMAT or header.version > VERSION:
                    raise DataFileError(
                        f"line 1: a {header.format} file, version {header.version}; "
                        f"this version reads {FORMAT} up to version {VERSION}"
                    )
                continue
            record = _decode_record(line)
        except msgspec.DecodeError as exc:
            raise DataFileError(f"line {number}: {exc}") from None
        match record:
            case ProductLine(product):
                products.append(product)
            case ShowLine(show):
                shows.append(show)
            case OrderLine(order):
                orders.append(order)
            case BuyerLine(buyer, profile, phone_key):
                buyers.append(BuyerData(buyer, profile, phone_key))
            case SettingsLine(values):
                settings.update(values)
            case AccountLine(name, password_hash):
                accounts[name] = password_hash
    if header is None:
        raise DataFileError("the file is empty: no header line")
    return DataSet(
        products=tuple(products),
        shows=tuple(shows),
        orders=tuple(orders),
        buyers=tuple(buyers),
        settings=settings,
        accounts=accounts,
    )
