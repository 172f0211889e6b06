"""The CSV exports: orders, packing list, courier's list, producer statements. Pure.

One form everywhere, for people and spreadsheets: money in major units with two decimals
(`88.00`) beside a `currency` column; times in the co-op's time zone as ISO 8601 with the offset
(`2025-10-01T20:15:03+08:00`); phone numbers and postcodes kept as text; formulas defused; UTF-8
with a BOM (see `csv_text`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from live.backoffice import Parcel, Statement, item_summary, order_label
from live.domain import Order, Profile
from live.money import amount
from live.parcels import parcel_reference  # holds (issue 14)

# Cells starting with these are formulas to a spreadsheet; a leading ' keeps them text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = list[object]


class Text(str):
    """A cell a spreadsheet must keep as text though it looks like a number (a phone number, a
    postcode): 13800000000 would become 1.38E+10 and 0571 would lose its 0."""


def cell(value: object) -> str:
    text = str(value)
    if text.startswith(_FORMULA_START) or (isinstance(value, Text) and text[:1].isdigit()):
        # The apostrophe spreadsheets take as "this cell is text": a formula stays words, and
        # a phone number stays 13800000000 (not 1.38E+10), a postcode keeps its leading 0.
        return "'" + text
    return text


def csv_text(rows: Iterable[Row]) -> str:
    """The rows as CSV (CRLF), formulas defused, numbers-as-text kept as text, with a UTF-8 BOM
    so spreadsheets open Chinese text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def local_time(timestamp: float, timezone: str) -> str:
    """A Unix time as ISO 8601 in the co-op's time zone, offset included."""
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).isoformat(timespec="seconds")


def weight(kg: float | None) -> str:
    """`1.5`, `0.25`, or empty when unknown."""
    return "" if kg is None else f"{kg:.3f}".rstrip("0").rstrip(".")


ADDRESS_COLUMNS = ["name", "phone", "country", "province", "city", "district", "street", "postcode"]


def address_cells(profile: Profile | None) -> Row:
    if profile is None:
        return [""] * len(ADDRESS_COLUMNS)
    p = profile
    return [
        p.name,
        Text(p.phone),
        p.country,
        p.province,
        p.city,
        p.district,
        p.street,
        Text(p.postcode),
    ]


ORDER_COLUMNS: Row = [
    "id",
    "number",
    "created_at",
    "show_id",
    "product_id",
    "product_name",
    "qty",
    "price",
    "total",
    "currency",
    "status",
    "buyer",
    "key",
    *ADDRESS_COLUMNS,
    "cash_on_delivery",
    "option_id",
    "option_name",
    "preorder",
    "ships_from",
    # holds (issue 14)
    "expires_at",
    "parcel",
]


def order_rows(
    orders: Iterable[Order],
    names: Mapping[str, str],
    profiles: Mapping[str, Profile],
    timezone: str,
) -> list[Row]:
    """The orders export: one row per order, with the buyer's delivery details."""
    rows: list[Row] = [list(ORDER_COLUMNS)]
    for o in orders:
        label = order_label(o)
        rows.append(
            [
                o.id,
                "" if label == o.id else label,
                local_time(o.created_at, timezone),
                o.show_id,
                o.product_id,
                names.get(o.product_id, ""),
                o.qty,
                amount(o.price),
                amount(o.total),
                o.currency,
                o.status.value,
                o.buyer,
                o.key,
                *address_cells(profiles.get(o.buyer)),
                "yes" if o.cash_on_delivery else "",
                o.option_id or "",
                o.option_name,
                "yes" if o.preorder else "",
                o.ships_from,
                # holds (issue 14): when the claim expires unpaid, and its parcel's reference
                "" if o.expires_at is None else local_time(o.expires_at, timezone),
                parcel_reference(o.show_id, o.buyer),
            ]
        )
    return rows


PACKING_COLUMNS: Row = [
    "parcel",
    "buyer",
    *ADDRESS_COLUMNS,
    "items",
    "unpaid_items",
    "units",
    "weight_kg",
    "total",
    "unpaid",
    "currency",
    "orders",
    "all_paid",
    # holds (issue 14): the parcel's payment reference and shipping fee
    "reference",
    "shipping",
]


def packing_rows(parcels: list[Parcel]) -> list[Row]:
    """The packing list: one row per parcel still to pack, numbered as on the printed list."""
    rows: list[Row] = [list(PACKING_COLUMNS)]
    for n, p in enumerate(parcels, start=1):
        rows.append(
            [
                n,
                p.buyer,
                *address_cells(p.delivery),
                item_summary(p.lines),
                item_summary(p.lines, unpaid=True),
                p.units,
                weight(p.weight_kg),
                amount(p.total),
                amount(p.unpaid_total),
                p.currency,
                " ".join(p.order_labels),
                "yes" if p.all_paid else "no",
                p.reference,
                amount(p.shipping),
            ]
        )
    return rows


COURIER_COLUMNS: Row = [
    "parcel",
    *ADDRESS_COLUMNS,
    "items",
    "weight_kg",
]


def courier_rows(parcels: list[Parcel]) -> list[Row]:
    """What a courier's batch form asks, one row per parcel: where it goes, what is inside and
    its goods' weight when known. No buyer token, order key or money. Parcels without delivery
    details can't be sent and are left out (the packing list names them first); `parcel` keeps
    the printed list's number."""
    rows: list[Row] = [list(COURIER_COLUMNS)]
    for n, p in enumerate(parcels, start=1):
        if p.delivery is None:
            continue
        rows.append([n, *address_cells(p.delivery), item_summary(p.lines), weight(p.weight_kg)])
    return rows


STATEMENT_COLUMNS: Row = [
    "producer",
    "product_id",
    "product",
    "unit",
    "option_id",
    "to_bring",
    "paid_units",
    "owed",
    "currency",
]


def statement_rows(statements: list[Statement]) -> list[Row]:
    rows: list[Row] = [list(STATEMENT_COLUMNS)]
    for s in statements:
        for line in s.lines:
            rows.append(
                [
                    s.producer,
                    line.product_id,
                    line.name,
                    line.unit,
                    line.option_id or "",
                    line.to_bring,
                    line.paid_units,
                    amount(line.paid_total),
                    s.currency,
                ]
            )
    return rows
