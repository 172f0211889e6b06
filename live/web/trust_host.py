"""The host's side of authenticity (issue 15): lots, labels, quality and recall lists.

Host API routes need the admin token or a console session (with its CSRF header); console pages
need a session, and their forms carry the session's CSRF token, as the console's settings form
does (live/web/host.py). Buyers' details appear only in the recall list (host only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from live import auth
from live import authenticity as au
from live.authenticity import Label, Lot, LotChoices
from live.console_i18n import LANG_COOKIE, LANG_NAMES, pick_lang, script_text
from live.domain import Order
from live.errors import Forbidden
from live.messages import decode
from live.trust import LotBody, LotPatch, OrderLotBody, ShowLotBody, TraceRow
from live.trust_i18n import translator
from live.web.api import qr_svg
from live.web.host import console_lang, remember_lang
from live.web.http import (
    JSON,
    csv_response,
    read_body,
    require_admin,
    route,
    service,
    session_host,
)
from live.web.pages import templates

# --- JSON ------------------------------------------------------------------------------------


def verify_url(request: Request, serial: str) -> str:
    """A serial's public page on LIVE_PUBLIC_URL: printed on labels, so never this request's
    own Host."""
    path = request.app.url_path_for("verify_page", serial=serial)
    return str(path.make_absolute_url(service(request).settings.base_url))


def label_json(request: Request, label: Label, *, stats: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "serial": label.serial,
        "pin": label.pin,
        "url": verify_url(request, label.serial),
        "order_id": label.order_id,
        "product_id": label.product_id,
        "option_id": label.option_id,
        "unit": label.unit,
    }
    if stats:
        out |= {
            "scans": label.scans,
            "first_scan_at": label.first_scan_at,
            "devices": label.devices,
            "flagged": label.flagged,
            "verified_at": label.verified_at,
            "rating": label.feedback.rating if label.feedback else None,
        }
    return out


def lot_json(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "product_id": lot.product_id,
        "name": lot.name,
        "producer": lot.producer,
        "date": lot.date,
        "place": lot.place,
        "notes": lot.notes,
        "image_url": lot.image_url,
        "created_at": lot.created_at,
    }


def choices_json(choices: LotChoices) -> dict[str, Any]:
    return {"defaults": dict(choices.defaults), "orders": dict(choices.orders)}


# --- host API --------------------------------------------------------------------------------


async def issue_labels(request: Request) -> Response:
    await require_admin(request)
    labels = await service(request).trust.issue_labels(request.path_params["id"])
    return JSON({"labels": [label_json(request, x) for x in labels]})


async def list_labels(request: Request) -> Response:
    await require_admin(request)
    labels = await service(request).trust.labels(request.path_params["id"])
    return JSON({"labels": [label_json(request, x, stats=True) for x in labels]})


async def create_lot(request: Request) -> Response:
    await require_admin(request)
    body = decode(await read_body(request), LotBody)
    lot = await service(request).trust.create_lot(request.path_params["id"], body)
    return JSON(lot_json(lot), status_code=201)


async def product_lots(request: Request) -> Response:
    await require_admin(request)
    lots = await service(request).trust.lots(request.path_params["id"])
    return JSON({"lots": [lot_json(lot) for lot in lots]})


async def get_lot(request: Request) -> Response:
    await require_admin(request)
    return JSON(lot_json(await service(request).trust.get_lot(request.path_params["id"])))


async def patch_lot(request: Request) -> Response:
    await require_admin(request)
    patch = decode(await read_body(request), LotPatch)
    return JSON(lot_json(await service(request).trust.update_lot(request.path_params["id"], patch)))


async def set_show_lot(request: Request) -> Response:
    await require_admin(request)
    body = decode(await read_body(request), ShowLotBody)
    choices = await service(request).trust.set_show_lot(request.path_params["id"], body)
    return JSON(choices_json(choices))


async def set_order_lot(request: Request) -> Response:
    await require_admin(request)
    body = decode(await read_body(request), OrderLotBody)
    choices = await service(request).trust.set_order_lot(request.path_params["id"], body)
    return JSON(choices_json(choices))


def trace_rows(rows: list[TraceRow]) -> list[list[object]]:
    header: list[object] = [
        "show",
        "order",
        "order_id",
        "status",
        "qty",
        "serials",
        "name",
        "phone",
        "address",
    ]
    return [header] + [
        [
            row.show.title,
            row.order.number,
            row.order.id,
            row.order.status.value,
            row.order.qty,
            " ".join(row.serials),
            row.profile.name if row.profile else "",
            row.profile.phone if row.profile else "",
            row.profile.full_address if row.profile else "",
        ]
        for row in rows
    ]


async def trace(request: Request) -> Response:
    """Which parcels got the lot, with their buyers (host only): JSON, or `?format=csv`."""
    await require_admin(request)
    lot, rows = await service(request).trust.trace(request.path_params["id"])
    table = trace_rows(rows)
    if request.query_params.get("format") == "csv":
        return csv_response(table, f"lot-{lot.id}.csv")
    names = [str(x) for x in table[0]]
    objects = [dict(zip(names, r, strict=True)) for r in table[1:]]
    return JSON({"lot": lot_json(lot), "rows": objects})


async def quality(request: Request) -> Response:
    await require_admin(request)
    report = await service(request).trust.quality()

    def q(item: au.Quality) -> dict[str, Any]:
        low = [{"rating": f.rating, "note": f.note, "at": f.at} for f in item.low]
        return {"count": item.count, "average": item.average, "low": low}

    return JSON(
        {
            "by_lot": [
                {"lot_id": item.key, "name": lot.name if lot else "", **q(item)}
                for lot, item in report.by_lot
            ],
            "by_producer": [{"producer": item.key, **q(item)} for item in report.by_producer],
        }
    )


# --- console pages ---------------------------------------------------------------------------


async def _console_page(request: Request, name: str, **context: object) -> Response:
    """A console page in the console's language, with this module's words (falling back to
    the console's)."""
    user = await session_host(request)
    if user is None:
        return RedirectResponse(request.app.url_path_for("console"), status_code=303)
    asked = request.query_params.get("lang")
    lang = pick_lang(asked, request.cookies.get(LANG_COOKIE), await console_lang(request))
    coop_name, coop_story = await service(request).trust.coop()
    t = translator(lang)
    response = templates(request).TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": lang,
            "lang_names": LANG_NAMES,
            "here": request.url.path,
            "t": t,
            "script_text": script_text(lang),
            "csrf": auth.csrf_token(request),
            "coop": coop_name or t("coop_default"),
            "coop_name": coop_name,
            "coop_story": coop_story,
            **context,
        },
    )
    if asked in LANG_NAMES:
        remember_lang(request, response, lang)
    return response


async def _checked_form(request: Request) -> dict[str, str] | None:
    """The console form's fields, or None without a session; a wrong CSRF token is refused."""
    form = parse_qs((await read_body(request, 32_768)).decode("utf-8", "replace"))
    field = {k: v[0] for k, v in form.items()}
    if await session_host(request) is None:
        return None
    if not auth.csrf_ok(request, field.get("csrf")):
        raise Forbidden("your session's form token is missing or wrong: reload the page")
    return field


async def _login_first(request: Request) -> Response | None:
    """The console's login page for a request without a session (before reading anything)."""
    if await session_host(request) is None:
        return _back(request, "console")
    return None


def _back(request: Request, name: str, **params: str) -> Response:
    return RedirectResponse(request.app.url_path_for(name, **params), status_code=303)


async def lots_page(request: Request) -> Response:
    if (login := await _login_first(request)) is not None:
        return login
    trust = service(request).trust
    product = await service(request).get_product(request.path_params["id"])
    lots = await trust.lots(product.id)
    return await _console_page(request, "host_lots.html", product=product, lots=lots)


async def lots_form(request: Request) -> Response:
    """Create a lot, or edit one (`lot_id`), from the lots page."""
    field = await _checked_form(request)
    if field is None:
        return _back(request, "console")
    trust = service(request).trust
    values = {name: field.get(name, "") for name in au.LOT_FIELDS}
    if field.get("lot_id"):
        await trust.update_lot(field["lot_id"], LotPatch(**values))
    else:
        await trust.create_lot(request.path_params["id"], LotBody(**values))
    return _back(request, "lots_page", id=request.path_params["id"])


def _live_orders(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o.status in au.LABELLED_STATUSES]


async def labels_page(request: Request) -> Response:
    if (login := await _login_first(request)) is not None:
        return login
    svc = service(request)
    state = await svc.show_state(request.path_params["id"])
    show_id = state.show.id
    labels = await svc.trust.labels(show_id)
    labelled = {au.unit_key(x.order_id, x.unit) for x in labels}
    orders = _live_orders(await svc.list_orders(show_id))
    all_lots = await svc.trust.lots()
    lots: dict[str, list[Lot]] = {}
    for lot in all_lots:
        lots.setdefault(lot.product_id, []).append(lot)
    names = {p.id: p.name for p in await svc.list_products()}
    return await _console_page(
        request,
        "host_labels.html",
        state=state,
        labels=labels,
        flagged=[x for x in labels if x.flagged],
        orders=orders,
        numbers={o.id: o.number for o in orders},
        lots=lots,
        lot_names={lot.id: lot.name for lot in all_lots},
        names=names,
        choices=await svc.trust.lot_choices(show_id),
        unlabelled=len(au.units_to_label(orders, labelled)),
        flag_devices=au.FLAG_DEVICES,
        format_serial=au.format_serial,
    )


async def labels_form(request: Request) -> Response:
    """The labels page's forms: `action` issue (make the labels), defaults (a lot per product
    for the show), orders (a lot per order)."""
    field = await _checked_form(request)
    if field is None:
        return _back(request, "console")
    trust = service(request).trust
    show_id = request.path_params["id"]
    action = field.get("action")
    if action == "issue":
        await trust.issue_labels(show_id)
    elif action == "defaults":
        for name, value in _prefixed(field, "lot_").items():
            await trust.set_show_lot(show_id, ShowLotBody(product_id=name, lot_id=value or None))
    elif action == "orders":
        chosen = (await trust.lot_choices(show_id)).orders
        for name, value in _prefixed(field, "order_").items():
            if value != chosen.get(name, ""):
                await trust.set_order_lot(name, OrderLotBody(lot_id=value or None))
    return _back(request, "labels_page", id=show_id)


def _prefixed(field: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix) :]: v for k, v in field.items() if k.startswith(prefix)}


async def labels_print(request: Request) -> Response:
    """The show's labels to print: `?layout=a4` (a sheet of 3×7 labels of 70×42.3 mm) or
    `thermal` (one 100×150 mm label per page). Each: a QR of the serial's public URL, the
    serial, product, lot and co-op, and the PIN under a marked scratch or fold area."""
    if (login := await _login_first(request)) is not None:
        return login
    svc = service(request)
    state = await svc.show_state(request.path_params["id"])
    labels = await svc.trust.labels(state.show.id)
    products = {p.id: p for p in await svc.list_products()}
    choices = await svc.trust.lot_choices(state.show.id)
    lots = {lot.id: lot for lot in await svc.trust.lots()}
    layout = "thermal" if request.query_params.get("layout") == "thermal" else "a4"
    cards = []
    for label in labels:
        lot = lots.get(choices.lot_of(label.order_id, label.product_id) or "")
        product = products[label.product_id]
        url = verify_url(request, label.serial)
        cards.append(
            {
                "label": label,
                "serial": au.format_serial(label.serial),
                "product": product.name,
                "option": label.option_name or "",
                "lot": lot,
                "producer": (lot.producer if lot else "") or product.producer,
                "url_text": url.split("://", 1)[-1],
                # Our own SVG, drawn from our own URL: nothing a host or buyer typed.
                "qr": Markup(qr_svg(url)),  # noqa: S704
                "pin": f"{label.pin[:4]} {label.pin[4:]}",
            }
        )
    return await _console_page(
        request, "host_labels_print.html", state=state, cards=cards, layout=layout
    )


async def quality_page(request: Request) -> Response:
    if (login := await _login_first(request)) is not None:
        return login
    svc = service(request)
    report = await svc.trust.quality()
    products = await svc.list_products(include_archived=False)
    return await _console_page(
        request,
        "host_quality.html",
        report=report,
        products=products,
        names={p.id: p.name for p in products},
    )


async def coop_form(request: Request) -> Response:
    field = await _checked_form(request)
    if field is None:
        return _back(request, "console")
    await service(request).trust.set_coop(field.get("coop_name", ""), field.get("coop_story", ""))
    return _back(request, "quality_page")


routes = [
    route("/api/shows/{id}/labels", "show_labels", GET=list_labels, POST=issue_labels),
    route("/api/products/{id}/lots", "product_lots", GET=product_lots, POST=create_lot),
    route("/api/lots/{id}", "lot", GET=get_lot, PATCH=patch_lot),
    route("/api/lots/{id}/trace", GET=trace),
    route("/api/shows/{id}/lots", POST=set_show_lot),
    route("/api/orders/{id}/lot", POST=set_order_lot),
    route("/api/quality", GET=quality),
    route("/host/products/{id}/lots", "lots_page", GET=lots_page, POST=lots_form),
    route("/host/shows/{id}/labels", "labels_page", GET=labels_page, POST=labels_form),
    route("/host/shows/{id}/labels/print", GET=labels_print),
    route("/host/quality", "quality_page", GET=quality_page, POST=coop_form),
]
