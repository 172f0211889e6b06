"""The export file: a deployment's data as JSON lines, for moving servers and archiving.

Format `sunlit-live-export`, version 2 (docs/operations.md, "Data lifecycle and PIPL"): the
first line is the header, `{"type": "header", "format", "version", "exported_at", "store",
"counts"}`; every other line is one record, `{"type": "product" | "show" | "order" | "buyer" |
"settings" | "account" | "lot" | "lot_choices" | "label", ...}` holding the store's own fields.
A reader refuses another format, a newer version, or a line that does not decode, naming the line.

Version 2 added the authenticity records (lots, each show's lot choices, labels with their
scans, verification and feedback). A version 1 file is a version 2 file without them and reads
as one; the bump makes a version 1 reader refuse a new file at its header, in plain words,
rather than at its first label line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO

import msgspec

from live.authenticity import Label, Lot, LotChoices
from live.backends.base import BuyerData, DataSet
from live.domain import Order, Product, Profile, Show

FORMAT = "sunlit-live-export"
VERSION = 2


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


class LotLine(msgspec.Struct, tag="lot", tag_field="type"):
    lot: Lot


class LotChoicesLine(msgspec.Struct, tag="lot_choices", tag_field="type"):
    show_id: str
    defaults: dict[str, str]  # product id -> lot id
    orders: dict[str, str]  # order id -> lot id


class LabelLine(msgspec.Struct, tag="label", tag_field="type"):
    label: Label  # with scans, first scan, device count, verification and feedback


class NoticeLine(msgspec.Struct, tag="notice", tag_field="type"):
    show_id: str
    buyer: str
    notice: dict[str, str]  # a payment notice (holds, issue 14): state, amount, at, reason, proof


Record = (
    ProductLine
    | ShowLine
    | OrderLine
    | BuyerLine
    | SettingsLine
    | AccountLine
    | LotLine
    | LotChoicesLine
    | LabelLine
    | NoticeLine
)
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
    yield from (LotLine(lot) for lot in data.lots)
    for show_id, choices in data.lot_choices.items():
        if choices.defaults or choices.orders:
            yield LotChoicesLine(show_id, dict(choices.defaults), dict(choices.orders))
    yield from (LabelLine(label) for label in data.labels)
    for show_id, by_buyer in data.notices.items():
        yield from (NoticeLine(show_id, b, dict(n)) for b, n in by_buyer.items())


def write(data: DataSet, out: IO[bytes], *, store: str, now: float) -> None:
    counts = {
        "products": len(data.products),
        "shows": len(data.shows),
        "orders": len(data.orders),
        "buyers": len(data.buyers),
        "accounts": len(data.accounts),
        "lots": len(data.lots),
        "labels": len(data.labels),
        "notices": sum(len(by_buyer) for by_buyer in data.notices.values()),
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
    lots: list[Lot] = []
    lot_choices: dict[str, LotChoices] = {}
    labels: list[Label] = []
    notices: dict[str, dict[str, dict[str, str]]] = {}
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
            case LotLine(lot):
                lots.append(lot)
            case LotChoicesLine(show_id, defaults, by_order):
                lot_choices[show_id] = LotChoices(defaults=defaults, orders=by_order)
            case LabelLine(label):
                labels.append(label)
            case NoticeLine(show_id, buyer, notice):
                notices.setdefault(show_id, {})[buyer] = notice
    if header is None:
        raise DataFileError("the file is empty: no header line")
    return DataSet(
        products=tuple(products),
        shows=tuple(shows),
        orders=tuple(orders),
        buyers=tuple(buyers),
        settings=settings,
        accounts=accounts,
        lots=tuple(lots),
        lot_choices=lot_choices,
        labels=tuple(labels),
        notices=notices,
    )
