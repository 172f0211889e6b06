"""The host's view of order clusters: `GET /api/shows/{id}/clusters` (see live/clusters.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.clusters import Thresholds, find_clusters
from live.delivery import phone_key
from live.errors import Invalid
from live.web.http import JSON, require_admin, route, service

_MAX_THRESHOLD = 1_000_000


def _threshold(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= _MAX_THRESHOLD:
        raise Invalid(f"{name} must be a whole number from 1 to {_MAX_THRESHOLD}")
    return int(raw)


async def clusters(request: Request) -> Response:
    await require_admin(request)
    defaults = Thresholds()
    limits = Thresholds(
        min_buyers=_threshold(request, "min_buyers", defaults.min_buyers),
        min_orders=_threshold(request, "min_orders", defaults.min_orders),
        min_units=_threshold(request, "min_units", defaults.min_units),
    )
    svc = service(request)
    orders, profiles = await svc.list_orders_for_host(request.path_params["id"])
    phones = {buyer: phone_key(p.phone) for buyer, p in profiles.items()}
    found = find_clusters(orders, phones, limits)
    return JSON(
        {
            "min_buyers": limits.min_buyers,
            "min_orders": limits.min_orders,
            "min_units": limits.min_units,
            "clusters": [
                {
                    "kind": c.kind,
                    "value": c.value,
                    "orders": c.orders,
                    "units": c.units,
                    "buyers": list(c.buyers),
                    "order_ids": list(c.order_ids),
                }
                for c in found
            ],
        }
    )


routes = [route("/api/shows/{id}/clusters", GET=clusters)]
