"""Money as people read it: from minor units (fen, cents) and the ISO code of each amount.

Amounts are integers of minor units with their currency everywhere inside (see CONTRACT.md);
these are the two outside forms: `amount` for exports (major units, two decimals, beside a
`currency` column) and `money` for pages (with the currency's symbol). The browser's pages do
the same with Intl.NumberFormat (static/i18n.js `money`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

# Symbols as Intl.NumberFormat's "narrowSymbol" shows them, for the currencies a co-op meets;
# any other code is written after the amount ("12.00 CHF").
SYMBOLS = {
    "CNY": "¥",
    "JPY": "¥",
    "USD": "$",
    "CAD": "$",
    "AUD": "$",
    "NZD": "$",
    "SGD": "$",
    "HKD": "$",
    "TWD": "$",
    "EUR": "€",
    "GBP": "£",
    "KRW": "₩",
    "INR": "₹",
    "THB": "฿",
    "VND": "₫",
    "PHP": "₱",
    "RUB": "₽",
    "MYR": "RM",
}


def amount(minor: int) -> str:
    """Major units with two decimals, no symbol and no grouping: `8800` → `"88.00"`."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def money(minor: int, currency: str = "CNY") -> str:
    """For people: `8800, "CNY"` → `"¥88.00"`, `123456, "USD"` → `"$1,234.56"`."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    number = f"{whole:,}.{cents:02d}"
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        return f"{sign}{number} {currency}"
    return f"{sign}{symbol}{number}"


def totals(items: Iterable[tuple[int, str]]) -> dict[str, int]:
    """Minor units summed per currency (amounts in different currencies never add up)."""
    out: dict[str, int] = defaultdict(int)
    for minor, currency in items:
        out[currency] += minor
    return dict(out)


def money_sum(items: Iterable[tuple[int, str]]) -> str:
    """A sum for people, one term per currency: `"¥120.00"`, `"¥120.00 + $15.00"`."""
    parts = totals(items)
    if not parts:
        return money(0)
    return " + ".join(money(minor, currency) for currency, minor in sorted(parts.items()))
