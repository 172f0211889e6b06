"""The host API (bearer token) and the public show endpoints, as in CONTRACT.md."""

from __future__ import annotations

import asyncio
import os

from starlette.requests import Request
from starlette.responses import Response

from live.domain import OrderStatus
from live.exports import order_rows
from live.messages import (
    DealBody,
    FeaturedBody,
    HarvestBody,
    LineupBody,
    OnSaleBody,
    OptionsBody,
    OptionStockPatch,
    OrderBody,
    OrderingBody,
    PartsBody,
    ProductCreate,
    ProductPatch,
    ProfileBody,
    ShowCreate,
    StatusBody,
    ToastsBody,
    buyer_order_json,
    host_order_json,
    host_show_json,
    order_json,
    product_json,
    profile_json,
    snapshot_json,
)
from live.service import PlaceOrder
from live.web.http import (
    JSON,
    body_as,
    client_address,
    csv_response,
    require_admin,
    route,
    service,
    show_links,
)


async def create_product(request: Request) -> Response:
    await require_admin(request)
    product = await service(request).create_product(await body_as(request, ProductCreate))
    return JSON(product_json(product), status_code=201)


async def list_products(request: Request) -> Response:
    """The catalog; archived products only with `?archived=1`."""
    await require_admin(request)
    include = request.query_params.get("archived") == "1"
    products = await service(request).list_products(include_archived=include)
    return JSON({"products": [product_json(p) for p in products]})


async def get_product(request: Request) -> Response:
    await require_admin(request)
    return JSON(product_json(await service(request).get_product(request.path_params["id"])))


async def patch_product(request: Request) -> Response:
    await require_admin(request)
    patch = await body_as(request, ProductPatch)
    product = await service(request).update_product(request.path_params["id"], patch)
    return JSON(product_json(product))


# --- options (issue 13) --------------------------------------------------------------------


async def set_options(request: Request) -> Response:
    """The product's whole list of options: add, rename, reprice, reorder, remove."""
    await require_admin(request)
    body = await body_as(request, OptionsBody)
    product = await service(request).set_options(request.path_params["id"], body)
    return JSON(product_json(product))


async def set_parts(request: Request) -> Response:
    """bundles (issue 13): a gift box's whole new list of parts, while none of it is sold."""
    await require_admin(request)
    body = await body_as(request, PartsBody)
    return JSON(product_json(await service(request).set_parts(request.path_params["id"], body)))


async def patch_option(request: Request) -> Response:
    """One option's stock: `{"stock": n}` or `{"stock_delta": ±n}`."""
    await require_admin(request)
    body = await body_as(request, OptionStockPatch)
    product = await service(request).update_option_stock(
        request.path_params["id"], request.path_params["option_id"], body
    )
    return JSON(product_json(product))


async def receive_harvest(request: Request) -> Response:
    """The harvest arrived: `{"units", "option_id"?}` (pre-orders, issue 13)."""
    await require_admin(request)
    body = await body_as(request, HarvestBody)
    product = await service(request).receive_harvest(request.path_params["id"], body)
    return JSON(product_json(product))


async def _host_show(request: Request, show_id: str, status_code: int = 200) -> Response:
    svc = service(request)
    state = await svc.show_state(show_id)
    lang = await svc.coop_lang()
    return JSON(
        host_show_json(
            state, svc.clock(), show_links(request.app, svc.settings.base_url, state.show, lang)
        ),
        status_code=status_code,
    )


async def create_show(request: Request) -> Response:
    await require_admin(request)
    show = await service(request).create_show(await body_as(request, ShowCreate))
    return await _host_show(request, show.id, status_code=201)


async def list_shows(request: Request) -> Response:
    await require_admin(request)
    shows = await service(request).list_shows()
    return JSON(
        {
            "shows": [
                {
                    "id": s.id,
                    "title": s.title,
                    "ordering_open": s.ordering_open,
                    "ended": s.ended,
                    "toasts": s.toasts,
                    "created_at": s.created_at,
                    "product_ids": list(s.lineup),
                }
                for s in shows
            ]
        }
    )


async def get_show(request: Request) -> Response:
    await require_admin(request)
    return await _host_show(request, request.path_params["id"])


async def set_featured(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, FeaturedBody)
    show = await service(request).set_featured(request.path_params["id"], body.product_id)
    return await _host_show(request, show.id)


async def set_ordering(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, OrderingBody)
    show = await service(request).set_ordering(request.path_params["id"], body.open)
    return await _host_show(request, show.id)


async def set_on_sale(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, OnSaleBody)
    show = await service(request).set_on_sale(
        request.path_params["id"], body.product_id, body.on_sale
    )
    return await _host_show(request, show.id)


async def set_deal(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, DealBody)
    show = await service(request).set_deal(request.path_params["id"], body)
    return await _host_show(request, show.id)


async def set_lineup(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, LineupBody)
    show = await service(request).set_lineup(request.path_params["id"], body)
    return await _host_show(request, show.id)


async def set_toasts(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, ToastsBody)
    show = await service(request).set_toasts(request.path_params["id"], body.on)
    return await _host_show(request, show.id)


async def end_show(request: Request) -> Response:
    await require_admin(request)
    show = await service(request).end_show(request.path_params["id"])
    return await _host_show(request, show.id)


async def stats(request: Request) -> Response:
    """This process's realtime figures, for operators and `live bench`."""
    await require_admin(request)
    hub = request.app.state.hub
    return JSON(
        {
            "pid": os.getpid(),
            "connections": hub.connections,
            "shows": len(hub.channels),
            "deliveries": hub.deliveries,
            "rss_bytes": rss_bytes(),
            "tasks": len(asyncio.all_tasks()),
        }
    )


def rss_bytes() -> int:
    """Resident memory of this process (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


async def rotate_overlay_key(request: Request) -> Response:
    await require_admin(request)
    show = await service(request).rotate_overlay_key(request.path_params["id"])
    return await _host_show(request, show.id)


async def list_orders(request: Request) -> Response:
    await require_admin(request)
    svc = service(request)
    show_id = request.path_params["id"]
    orders, profiles = await svc.list_orders_for_host(show_id)
    # Filters: ?status=paid&product_id=…&buyer=…
    query = request.query_params
    orders = [
        o
        for o in orders
        if query.get("status", o.status.value) == o.status.value
        and query.get("product_id", o.product_id) == o.product_id
        and query.get("buyer", o.buyer) == o.buyer
    ]
    if query.get("format") == "csv":
        # Every product, not just the lineup: an order keeps its product when the product
        # leaves the lineup or is archived.
        names = {p.id: p.name for p in await svc.list_products()}
        rows = order_rows(orders, names, profiles, svc.settings.timezone)
        return csv_response(rows, f"orders-{show_id}.csv")
    return JSON({"orders": [host_order_json(o, profiles.get(o.buyer)) for o in orders]})


# --- buyers (X-Buyer) --------------------------------------------------------------------


async def put_profile(request: Request) -> Response:
    """A buyer's delivery details. The answer echoes them as kept (the phone normalized) to the
    buyer who just sent them; after that nobody but the host reads them back."""
    body = await body_as(request, ProfileBody)
    profile = await service(request).set_profile(
        request.headers.get("x-buyer"), body, address=client_address(request)
    )
    return JSON({"saved": True, "profile": profile_json(profile)})


async def my_orders(request: Request) -> Response:
    orders = await service(request).my_orders(
        request.path_params["id"], request.headers.get("x-buyer")
    )
    return JSON({"orders": [buyer_order_json(o) for o in orders]})


async def show_qr(request: Request) -> Response:
    """The buy page's short link as a QR code (SVG), for the overlay and printed cards."""
    svc = service(request)
    show = await svc.get_show(request.path_params["id"])
    # Scanned from a stream or a printed card: the public address (LIVE_PUBLIC_URL), never the
    # one this request reached the server by.
    path = (
        request.app.url_path_for("short_link", code=show.short_code)
        if show.short_code
        else request.app.url_path_for("buy", id=show.id)  # a show from before short codes
    )
    target = str(path.make_absolute_url(svc.settings.base_url))
    return Response(
        qr_svg(target), media_type="image/svg+xml", headers={"Cache-Control": "max-age=300"}
    )


def qr_svg(text: str) -> str:
    """A QR code on its own white ground with the standard quiet zone (4 modules): it has to
    scan from a stream screenshot, whatever video is behind it, and from a printed card."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    return str(image.to_string(encoding="unicode"))


async def get_order(request: Request) -> Response:
    await require_admin(request)
    return JSON(order_json(await service(request).get_order(request.path_params["id"])))


async def cancel_order(request: Request) -> Response:
    await require_admin(request)
    order, changed = await service(request).cancel_order(request.path_params["id"])
    return JSON({**order_json(order), "changed": changed})


async def set_order_status(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, StatusBody)
    order = await service(request).set_order_status(
        request.path_params["id"], OrderStatus(body.status), unpaid=body.unpaid
    )
    return JSON(order_json(order))


# --- public ------------------------------------------------------------------------------


async def show_public_state(request: Request) -> Response:
    svc = service(request)
    state = await svc.show_state(request.path_params["id"])
    return JSON(snapshot_json(state, svc.clock()))


async def place_order(request: Request) -> Response:
    """The HTTP form of an order: 201 new, 200 a repeat of the same key, 4xx/503 a refusal
    (503 `busy` with `Retry-After` and `retry_after_ms`: nothing applied, try again)."""
    body = await body_as(request, OrderBody)
    order = PlaceOrder(
        show_id=request.path_params["id"],
        buyer=request.headers.get("x-buyer"),
        product_id=body.product_id,
        qty=body.qty,
        key=body.key,
        address=client_address(request),
        retry=body.retry,
        option_id=body.option_id,
    )
    result = await service(request).place_order(order)
    return JSON(
        {**order_json(result.order), "stock": result.stock},
        status_code=201 if result.created else 200,
    )


# Named for url_path_for: a route with one method after its handler, the others as written here.
routes = [
    route("/api/products", "products", GET=list_products, POST=create_product),
    route("/api/products/{id}", "product", GET=get_product, PATCH=patch_product),
    route("/api/products/{id}/options", PUT=set_options),
    route("/api/products/{id}/options/{option_id}", PATCH=patch_option),
    route("/api/products/{id}/harvest", POST=receive_harvest),
    route("/api/products/{id}/parts", PUT=set_parts),  # bundles (issue 13)
    route("/api/shows", "shows", GET=list_shows, POST=create_show),
    route("/api/shows/{id}", GET=get_show),
    route("/api/shows/{id}/featured", POST=set_featured),
    route("/api/shows/{id}/ordering", POST=set_ordering),
    route("/api/shows/{id}/on_sale", POST=set_on_sale),
    route("/api/shows/{id}/deal", POST=set_deal),
    route("/api/shows/{id}/lineup", PUT=set_lineup),
    route("/api/shows/{id}/toasts", POST=set_toasts),
    route("/api/shows/{id}/overlay_key", POST=rotate_overlay_key),
    route("/api/shows/{id}/end", POST=end_show),
    route("/api/stats", GET=stats),
    route("/api/shows/{id}/orders", "show_orders", GET=list_orders, POST=place_order),
    route("/api/shows/{id}/state", GET=show_public_state),
    route("/api/shows/{id}/my-orders", GET=my_orders),
    route("/api/shows/{id}/qr.svg", GET=show_qr),
    route("/api/buyer/profile", PUT=put_profile),
    route("/api/orders/{id}", GET=get_order),
    route("/api/orders/{id}/cancel", POST=cancel_order),
    route("/api/orders/{id}/status", POST=set_order_status),
]
