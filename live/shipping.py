"""Shipping fees (issue 14): the co-op's rules and the fee of one parcel. Pure.

The co-op sets one set of rules (docs/payments.md): a rate for the region a parcel goes to (a
province, "elsewhere" at home, or abroad), each rate a price for the first kilogram plus one for
every extra kilogram begun, as Chinese couriers price (an extra-kg price of 0 is a flat fee per
parcel), and an items total at or above which shipping is free. The server computes the fee;
pages only show it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from live.domain import Profile

MAX_REGIONS = 100
ABROAD = "abroad"  # the region of an address in another country
ELSEWHERE = "elsewhere"  # at home, a province without a rate of its own

# What a province's name may end with and still be the same province: 广东省 = 广东.
_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")


@dataclass(frozen=True, slots=True)
class Rate:
    """A price for the first kilogram (or the whole parcel when its weight is unknown) and one
    for each extra kilogram begun; in minor units (fen)."""

    first: int
    extra_kg: int = 0


def _no_regions() -> Mapping[str, Rate]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ShippingRules:
    """The co-op's rules. `regions` maps a province (as the co-op writes it) to its rate;
    `elsewhere` is every other address at home, `abroad` every address in another country
    (None: the `elsewhere` rate). `free_above`: an items total at or above it ships free."""

    elsewhere: Rate = Rate(0)
    regions: Mapping[str, Rate] = field(default_factory=_no_regions)
    abroad: Rate | None = None
    free_above: int | None = None


@dataclass(frozen=True, slots=True)
class Fee:
    amount: int
    region: str  # the rate's region: a province of the rules, ELSEWHERE or ABROAD
    weight_g: int  # the weight priced (units of unknown weight count nothing)
    free: bool = False  # free because the items total reached `free_above`


def region_key(name: str) -> str:
    """A province's name as rules and addresses are matched: no blanks, no 省/市 suffix, any
    case (`广东省` and `广东` are one province; `Guangdong` and `guangdong` too)."""
    return _SUFFIX.sub("", "".join(name.split())).casefold()


def region_of(rules: ShippingRules, profile: Profile | None) -> str:
    """The region of the rules a parcel to this address goes to."""
    if profile is None:
        return ELSEWHERE
    if profile.country:
        return ABROAD
    wanted = region_key(profile.province)
    for name in rules.regions:
        if wanted and region_key(name) == wanted:
            return name
    return ELSEWHERE


def rate_of(rules: ShippingRules, region: str) -> Rate:
    if region == ABROAD:
        return rules.abroad or rules.elsewhere
    return rules.regions.get(region, rules.elsewhere)


def parcel_fee(
    rules: ShippingRules, *, items_total: int, weight_g: int, profile: Profile | None
) -> Fee:
    """The shipping fee of a parcel of `weight_g` grams and `items_total` worth of goods to
    this address (None: not given yet, priced as `elsewhere`). An empty parcel ships nothing."""
    region = region_of(rules, profile)
    if items_total <= 0:
        return Fee(0, region, weight_g)
    if rules.free_above is not None and items_total >= rules.free_above:
        return Fee(0, region, weight_g, free=True)
    rate = rate_of(rules, region)
    extra = max(0, math.ceil(weight_g / 1000) - 1)
    return Fee(rate.first + extra * rate.extra_kg, region, weight_g)


def rules_json(rules: ShippingRules) -> dict[str, object]:
    def rate(r: Rate) -> dict[str, int]:
        return {"first": r.first, "extra_kg": r.extra_kg}

    return {
        "elsewhere": rate(rules.elsewhere),
        "regions": {name: rate(r) for name, r in rules.regions.items()},
        "abroad": rate(rules.abroad) if rules.abroad is not None else None,
        "free_above": rules.free_above,
    }


def rules_from_json(data: Mapping[str, object]) -> ShippingRules:
    """Rules as `rules_json` wrote them (already checked when they were set)."""

    def rate(raw: object) -> Rate:
        assert isinstance(raw, Mapping)
        return Rate(int(raw["first"]), int(raw.get("extra_kg", 0)))

    regions = data.get("regions") or {}
    assert isinstance(regions, Mapping)
    abroad, free = data.get("abroad"), data.get("free_above")
    return ShippingRules(
        elsewhere=rate(data.get("elsewhere") or {"first": 0}),
        regions=MappingProxyType({str(k): rate(v) for k, v in regions.items()}),
        abroad=rate(abroad) if abroad is not None else None,
        free_above=int(free) if isinstance(free, int) else None,
    )
