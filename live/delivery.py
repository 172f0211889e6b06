"""A buyer's delivery details, checked and put in the form couriers read.

Pure rules (no I/O). Every refusal is an `Invalid` naming the field, so the buy page can show
the message next to it. Phone numbers are parsed with Google's libphonenumber metadata
(`phonenumberslite`) and kept in one international form, `+86 138 0013 8000`.
"""

from __future__ import annotations

import contextlib
import re

import phonenumbers

from live.domain import Profile
from live.errors import Invalid
from live.messages import ProfileBody

# The co-op's own country: a number without a country code is read as one of its numbers, and
# an address there needs no country line (Profile.country stays empty).
HOME_REGION = "CN"
HOME_NAMES = frozenset({"", "cn", "china", "中国", "中国大陆", "中华人民共和国", "prc"})
HOME_POSTCODE = re.compile(r"^[0-9]{6}\Z")  # 邮政编码: six digits
POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}\Z")

# What each field may hold after blanks are folded: (required, longest).
LIMITS: dict[str, tuple[bool, int]] = {
    "name": (True, 50),
    "city": (True, 50),
    "street": (True, 300),
    "province": (False, 50),
    "district": (False, 50),
    "country": (False, 50),
}


def fold(text: str) -> str:
    """One line, single spaces: a pasted address keeps its words, not its line breaks."""
    return " ".join(text.split())


def is_home(country: str) -> bool:
    return fold(country).lower() in HOME_NAMES


def checked_profile(body: ProfileBody) -> Profile:
    """The details as they are kept, or `Invalid(field=...)` for the first field that is wrong."""
    values = {
        "name": fold(body.name),
        "city": fold(body.city),
        # "address" is the street line as sent before the address had parts.
        "street": fold(body.street or body.address),
        "province": fold(body.province),
        "district": fold(body.district),
        "country": fold(body.country),
    }
    for field, (required, longest) in LIMITS.items():
        if required and not values[field]:
            raise Invalid(f"{field}: needed for delivery", field=field)
        if len(values[field]) > longest:
            raise Invalid(f"{field}: at most {longest} characters", field=field)
    home = is_home(values["country"])
    return Profile(
        name=values["name"],
        phone=normalize_phone(body.phone, home=home),
        street=values["street"],
        city=values["city"],
        province=values["province"],
        district=values["district"],
        postcode=checked_postcode(body.postcode, home=home),
        country="" if home else values["country"],
        toasts=body.toasts,
    )


def normalize_phone(text: str, *, home: bool = True) -> str:
    """`13800138000`, `+86 138-0013-8000`, `0086 13800138000` -> `+86 138 0013 8000`.

    A number without a country code is read as the co-op's own country's only when the address
    is there too; an address abroad needs the number with its country code.
    """
    raw = fold(text)
    if not raw:
        raise Invalid("phone: needed, so the courier can call", field="phone")
    if len(raw) > 30 or not re.fullmatch(r"[0-9+() .-]+", raw):
        raise Invalid("phone: only digits, spaces, + - ( ) are allowed", field="phone")
    international = raw.startswith(("+", "00"))
    if not international and not home:
        raise Invalid(
            "phone: start with the country code for an address abroad, e.g. +852 9123 4567",
            field="phone",
        )
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, None if international else HOME_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Invalid(
            "phone: not a valid number; a Chinese mobile has 11 digits (138 0013 8000), "
            "others start with + and the country code",
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_key(phone: str) -> str:
    """The number as digits with its country code (`+86 138 0013 8000` -> `8613800138000`):
    what per-phone limits and the host's clusters compare. Numbers are kept in international
    form (`normalize_phone`), so the digits already hold the code; one kept in another form
    (details saved before numbers were normalized) is read as `normalize_phone` reads it, or, if
    that fails, as its bare digits. Empty when there are no digits."""
    text = phone.strip()
    if not text.startswith("+"):
        with contextlib.suppress(Invalid):
            text = normalize_phone(text)
    return "".join(c for c in text if c in "0123456789")


def checked_postcode(text: str, *, home: bool) -> str:
    code = fold(text).upper()
    if not code:
        return ""
    if home and not HOME_POSTCODE.match(code):
        raise Invalid("postcode: six digits, e.g. 518000", field="postcode")
    if not home and not POSTCODE.match(code):
        raise Invalid("postcode: 2-11 letters, digits, spaces or -", field="postcode")
    return code
