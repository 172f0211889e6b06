"""Clusters of orders in a show: client addresses and phone numbers behind many orders or units.

Anonymous buyer tokens are free, so a scalper shows up as many tokens sharing an address or a
delivery phone. This groups a show's live orders both ways for the host to look at before
confirming payment (docs/security.md). Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from live.domain import RELEASED, Order
from live.ratelimit import address_bucket


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A group is a cluster with at least `min_buyers` buyer tokens and at least `min_orders`
    orders or `min_units` units (cancelled and expired orders don't count)."""

    min_buyers: int = 2
    min_orders: int = 5
    min_units: int = 10


@dataclass(frozen=True, slots=True)
class Cluster:
    kind: str  # "address" (an IPv6 client by its /64) or "phone" (digits with country code)
    value: str
    orders: int
    units: int
    buyers: tuple[str, ...]
    order_ids: tuple[str, ...]


def find_clusters(
    orders: Iterable[Order], phones: Mapping[str, str], limits: Thresholds
) -> list[Cluster]:
    """The clusters among `orders`, biggest (units, then orders) first. `phones` gives each
    buyer token's phone key, for the tokens that saved delivery details."""
    groups: defaultdict[tuple[str, str], list[Order]] = defaultdict(list)
    for order in orders:
        if order.status in RELEASED:  # cancelled or expired: nothing was taken
            continue
        if order.ip:
            groups["address", address_bucket(order.ip)].append(order)
        phone = phones.get(order.buyer, "")
        if phone:
            groups["phone", phone].append(order)
    found = []
    for (kind, value), members in groups.items():
        buyers = tuple(sorted({o.buyer for o in members}))
        units = sum(o.qty for o in members)
        if len(buyers) < limits.min_buyers:
            continue
        if len(members) < limits.min_orders and units < limits.min_units:
            continue
        ids = tuple(o.id for o in members)
        found.append(Cluster(kind, value, len(members), units, buyers, ids))
    found.sort(key=lambda c: (-c.units, -c.orders, c.kind, c.value))
    return found
