"""Authenticity labels, lots and feedback: the pure rules (no I/O, no await).

A label is printed for every unit the co-op ships: a public serial (in the QR code and printed
beside it) and a PIN hidden under a fold or a scratch panel. Anyone holding the unit can read
what it is from the serial; only the buyer who opens the panel can verify it. The first correct
PIN marks the serial verified; every later one says when that was, which is what makes a copied
label visible. docs/authenticity.md states the scheme's strength and limits.

Sizes, against guessing:
- Serial: 12 characters of a 31-character alphabet without look-alikes (no 0/O, 1/I/L), read
  and typed without mistakes: 31^12 ≈ 7.9e17 (59 bits). With a million labels out, one guess in
  7.9e11 names a real one; at 1,000 guesses a second that is about 25 years per hit, so serials
  cannot be harvested by guessing.
- PIN: 8 digits (a phone's number pad; digits have no look-alikes among themselves): 1e8
  (26.6 bits). Wrong PINs are limited per serial (`WRONG_PIN_LIMIT` per `WRONG_PIN_WINDOW`)
  and per address, so someone holding a serial gets at most 10 tries a day: about 3.7e-5 of
  hitting its PIN in a year of trying.

The PIN is kept as it was printed, not as a hash: the contract answers a repeat of
`POST /api/shows/{id}/labels` with the same labels, PIN included, so the co-op can reprint a
sheet. A hash would only help against someone who reads the store, and the store already holds
every buyer's name, phone and address: it must be kept secret whatever the PINs are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from live.domain import SHORT_CODE_ALPHABET, Order, OrderStatus
from live.errors import Invalid

SERIAL_ALPHABET = SHORT_CODE_ALPHABET  # 23456789 and A-Z without I, L, O
SERIAL_LENGTH = 12
SERIAL_RE = re.compile(rf"^[{SERIAL_ALPHABET}]{{{SERIAL_LENGTH}}}\Z")
PIN_LENGTH = 8
PIN_RE = re.compile(rf"^[0-9]{{{PIN_LENGTH}}}\Z")

# Wrong PINs a serial takes within the window before every try is refused (429) until the
# window passes; an address gets `ADDRESS_WRONG_PINS` per hour across serials.
WRONG_PIN_LIMIT = 10
WRONG_PIN_WINDOW = 24 * 3600
ADDRESS_WRONG_PINS = 20

# Distinct devices (address and browser, roughly) that scanned one serial before the console
# flags it: a buyer, a family, a friend scan a unit; a label copied onto fakes is scanned by
# strangers everywhere.
FLAG_DEVICES = 5

MAX_NOTE = 500
MAX_LOT_TEXT = 200
MAX_LOT_NOTES = 2_000
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")

# Units of these orders get labels: every live order, not a cancelled (or expired) one.
LABELLED_STATUSES = frozenset({OrderStatus.CLAIMED, OrderStatus.PAID, OrderStatus.SHIPPED})


def new_serial() -> str:
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))


def clean_serial(text: str) -> str | None:
    """A serial as a person may type it (lower case, dashes, spaces), or None if it cannot be
    one of ours."""
    serial = re.sub(r"[\s-]", "", text).upper()
    return serial if SERIAL_RE.match(serial) else None


def format_serial(serial: str) -> str:
    """Grouped by four for reading aloud: ABCD-EFGH-JKMN."""
    return "-".join(serial[i : i + 4] for i in range(0, len(serial), 4))


def clean_pin(text: str) -> str:
    """The digits a person typed (spaces and dashes dropped); `Invalid` if not a PIN's shape.
    A malformed PIN is refused before the store and does not count as a wrong one."""
    pin = re.sub(r"[\s-]", "", text)
    if not PIN_RE.match(pin):
        raise Invalid(f"the PIN is {PIN_LENGTH} digits", field="pin")
    return pin


def pin_matches(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.encode())


def device_tag(address: str, user_agent: str) -> str:
    """A rough device identity for counting distinct scanners: a digest, never the address."""
    digest = hashlib.sha256(f"{address}\n{user_agent}".encode()).hexdigest()
    return digest[:16]


def scan_flagged(devices: int) -> bool:
    return devices >= FLAG_DEVICES


def unit_key(order_id: str, unit: int) -> str:
    """The one label slot of an order's unit (0-based): a unit is labelled once."""
    return f"{order_id}:{unit}"


@dataclass(frozen=True, slots=True)
class Lot:
    """A batch of one product: "Acacia honey, Zhang family, harvested 2026-05-12"."""

    id: str
    product_id: str
    name: str  # what the co-op calls it: "2026 spring harvest"
    producer: str = ""
    date: str = ""  # harvest or production date, YYYY-MM-DD
    place: str = ""
    notes: str = ""
    image_url: str = ""
    created_at: float = 0.0


LOT_FIELDS = ("name", "producer", "date", "place", "notes", "image_url")


def _is_date(text: str) -> bool:
    """YYYY-MM-DD and a day of the calendar (2026-13-45 has the shape but is none)."""
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_lot_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Lot fields trimmed and checked (`Invalid` naming the field)."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        value = value.strip()
        limit = MAX_LOT_NOTES if name in ("notes", "image_url") else MAX_LOT_TEXT
        if len(value) > limit:
            raise Invalid(f"{name} is over {limit} characters", field=name)
        if name == "date" and value and not _is_date(value):
            raise Invalid("date is YYYY-MM-DD", field="date")
        if name == "image_url" and value and not value.startswith(("/", "https://", "http://")):
            raise Invalid("image_url is a path or an http(s) URL", field="image_url")
        out[name] = value
    if "name" in out and not out["name"]:
        raise Invalid("a lot needs a name", field="name")
    return out


@dataclass(frozen=True, slots=True)
class LotChoices:
    """Which lot a show's units come from: a default per product, changed per order."""

    defaults: Mapping[str, str] = field(default_factory=dict)  # product id -> lot id
    orders: Mapping[str, str] = field(default_factory=dict)  # order id -> lot id

    def lot_of(self, order_id: str, product_id: str) -> str | None:
        return self.orders.get(order_id) or self.defaults.get(product_id) or None


@dataclass(frozen=True, slots=True)
class Feedback:
    rating: int  # 1-5
    note: str
    at: float
    # What the unit was when rated, kept with the rating: a later change of lot leaves the
    # quality figures of the lot it came from as they were.
    product_id: str
    lot_id: str = ""
    producer: str = ""


def check_feedback(rating: int, note: str) -> str:
    if not 1 <= rating <= 5:
        raise Invalid("rating is 1 to 5", field="rating")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"the note is over {MAX_NOTE} characters", field="note")
    return note


@dataclass(frozen=True, slots=True)
class Label:
    serial: str
    pin: str
    show_id: str
    order_id: str
    unit: int  # which unit of the order, from 0
    product_id: str
    option_id: str | None = None
    option_name: str | None = None
    issued_at: float = 0.0
    # Public page views, the first one's time, distinct devices (roughly: a digest of address
    # and browser; approximate on Redis, a HyperLogLog).
    scans: int = 0
    first_scan_at: float | None = None
    devices: int = 0
    verified_at: float | None = None
    feedback: Feedback | None = None

    @property
    def flagged(self) -> bool:
        return scan_flagged(self.devices)


@dataclass(frozen=True, slots=True)
class Verification:
    verified_at: float  # the first verification's time
    first: bool


def units_to_label(orders: Iterable[Order], labelled: set[str]) -> list[tuple[Order, int]]:
    """Each unit of the live orders that has no label yet, in order and unit order."""
    return [
        (order, unit)
        for order in orders
        if order.status in LABELLED_STATUSES
        for unit in range(order.qty)
        if unit_key(order.id, unit) not in labelled
    ]


# --- quality ---------------------------------------------------------------------------------

LOW_RATING = 2  # ratings at or below this are listed with their notes


@dataclass(frozen=True, slots=True)
class Quality:
    key: str  # a lot id or a producer name
    count: int
    average: float
    low: tuple[Feedback, ...]  # the most recent low ratings, newest first


def quality_by(
    feedback: Sequence[Feedback], key_of: str, *, recent_low: int = 5
) -> dict[str, Quality]:
    """Feedback grouped by `key_of` ("lot_id" or "producer"): count, average, recent lows."""
    groups: dict[str, list[Feedback]] = {}
    for fb in feedback:
        groups.setdefault(str(getattr(fb, key_of)), []).append(fb)
    out: dict[str, Quality] = {}
    for key, items in groups.items():
        lows = sorted((f for f in items if f.rating <= LOW_RATING), key=lambda f: -f.at)
        out[key] = Quality(
            key=key,
            count=len(items),
            average=round(sum(f.rating for f in items) / len(items), 2),
            low=tuple(lows[:recent_low]),
        )
    return out
