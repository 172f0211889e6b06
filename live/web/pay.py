"""Parcels, shipping and paying (issue 14): the routes. They decode, call the service, encode."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.messages import ShippingBody
from live.parcels import host_parcel_json, matches, parcel_json
from live.shipping import rules_json
from live.web.http import JSON, body_as, require_admin, route, service


async def my_parcel(request: Request) -> Response:
    """The buyer's parcel in the show: totals, shipping, reference, pay-by time."""
    parcel = await service(request).my_parcel(
        request.path_params["id"], request.headers.get("x-buyer")
    )
    return JSON(parcel_json(parcel))


async def get_shipping(request: Request) -> Response:
    await require_admin(request)
    return JSON(rules_json(await service(request).shipping_rules()))


async def put_shipping(request: Request) -> Response:
    await require_admin(request)
    rules = await service(request).set_shipping_rules(await body_as(request, ShippingBody))
    return JSON(rules_json(rules))


async def list_parcels(request: Request) -> Response:
    """Every buyer's parcel in the show; `?q=` a reference or an amount in yuan, `?status=`
    unpaid or paid. `counts` and `takings` are over the whole show."""
    await require_admin(request)
    parcels = await service(request).show_parcels(request.path_params["id"])
    query, status = request.query_params.get("q", ""), request.query_params.get("status")
    counts = {"unpaid": 0, "paid": 0}
    for parcel in parcels:
        counts[parcel.status] = counts.get(parcel.status, 0) + 1
    shown = [p for p in parcels if matches(p, query) and status in (None, p.status)]
    return JSON(
        {
            "parcels": [host_parcel_json(p) for p in shown],
            "counts": counts,
            "takings": sum(p.total - p.to_pay for p in parcels),
            "to_collect": sum(p.to_pay for p in parcels),
        }
    )


routes = [
    route("/api/shows/{id}/my-parcel", GET=my_parcel),
    route("/api/shipping", "shipping", GET=get_shipping, PUT=put_shipping),
    route("/api/shows/{id}/parcels", GET=list_parcels),
]
