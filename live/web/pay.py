"""Parcels, shipping and paying (issue 14): the routes. They decode, call the service, encode.

A buyer's transfer screenshot shows the buyer's name and account: it is kept apart from the
public photos (`proofs/` under the upload folder) and only the host can open it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from live import images
from live.config import LANGS
from live.console_i18n import LANG_COOKIE, pick_lang
from live.errors import Conflict, NotFound, RateLimited, UnsupportedMediaType
from live.messages import PaymentMethodsBody, RejectBody, ShippingBody
from live.parcels import Parcel, host_parcel_json, matches, parcel_json
from live.pay_i18n import pay_script_text, pay_translator
from live.payments import PENDING, methods_json, notice_json
from live.ratelimit import address_bucket
from live.shipping import rules_json
from live.web.host import _host_or_login, _image_slot, _page, console_lang, upload_dir
from live.web.http import (
    JSON,
    body_as,
    client_address,
    read_body,
    require_admin,
    route,
    service,
)

_PROOF = re.compile(r"^[A-Za-z0-9_-]{16}\.webp\Z")
PROOF_MAX_BYTES = 8 * 1024 * 1024  # a phone's screenshot, with room


def _proofs(request: Request) -> Path:
    path = upload_dir(request) / "proofs"
    path.mkdir(exist_ok=True)
    return path


async def _buyer_parcel(request: Request, parcel: Parcel) -> Response:
    svc = service(request)
    lang = request.query_params.get("lang", "")
    lang = lang if lang in LANGS else svc.settings.default_lang
    methods = [m.instructions(parcel, lang) for m in await svc.payment_methods()]
    return JSON(
        {
            **parcel_json(parcel),
            "notice": notice_json(await svc.my_notice(parcel.show_id, parcel.buyer)),
            "methods": [dataclasses.asdict(m) for m in methods],
        }
    )


async def my_parcel(request: Request) -> Response:
    """The buyer's parcel in the show: totals, shipping, reference, pay-by time, how to pay,
    and the answer to the buyer's "I have paid"."""
    parcel = await service(request).my_parcel(
        request.path_params["id"], request.headers.get("x-buyer")
    )
    return await _buyer_parcel(request, parcel)


async def say_paid(request: Request) -> Response:
    """The buyer's "I have paid": an empty body, or the transfer's screenshot as the body
    (JPEG, PNG or WebP), re-encoded without its metadata like a product photo."""
    svc = service(request)
    show_id, buyer = request.path_params["id"], request.headers.get("x-buyer")
    address = client_address(request)
    if address and not svc.address_profiles.allow(address_bucket(address)):
        raise RateLimited("too many payment notices from this address; wait a minute")
    # A known show, a buyer token and something to pay, before any decoding.
    if (await svc.my_parcel(show_id, buyer)).status != "unpaid":
        raise Conflict("nothing is waiting for payment in this parcel")
    proof = ""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data = await read_body(request, PROOF_MAX_BYTES)
    if data:
        if kind not in images.TYPES:
            raise UnsupportedMediaType("send the screenshot as a JPEG, PNG or WebP body")
        async with _image_slot(request):
            photo = await asyncio.to_thread(images.process, data)
        proof = f"{secrets.token_urlsafe(12)}.webp"
        await asyncio.to_thread((_proofs(request) / proof).write_bytes, photo.display)
    parcel = await svc.say_paid(show_id, buyer, proof)
    return await _buyer_parcel(request, parcel)


async def get_proof(request: Request) -> Response:
    """A buyer's transfer screenshot: the host's eyes only."""
    await require_admin(request)
    name = request.path_params["name"]
    path = _proofs(request) / name
    if not _PROOF.match(name) or not path.is_file():
        raise NotFound("no such screenshot")
    return FileResponse(path, media_type="image/webp", headers={"Cache-Control": "no-store"})


async def get_shipping(request: Request) -> Response:
    await require_admin(request)
    return JSON(rules_json(await service(request).shipping_rules()))


async def put_shipping(request: Request) -> Response:
    await require_admin(request)
    rules = await service(request).set_shipping_rules(await body_as(request, ShippingBody))
    return JSON(rules_json(rules))


async def get_methods(request: Request) -> Response:
    await require_admin(request)
    return JSON({"methods": methods_json(await service(request).payment_methods())})


async def put_methods(request: Request) -> Response:
    await require_admin(request)
    body = await body_as(request, PaymentMethodsBody)
    return JSON({"methods": methods_json(await service(request).set_payment_methods(body))})


async def list_parcels(request: Request) -> Response:
    """Every buyer's parcel in the show, with the buyer's payment notice. `?q=` a reference or
    an amount in yuan, `?status=` unpaid or paid, `?notice=pending` the reconciling queue.
    `counts`, `takings` and `to_collect` are over the whole show."""
    await require_admin(request)
    svc = service(request)
    show_id = request.path_params["id"]
    parcels, notices, expired = await svc.parcel_board(show_id)
    query = request.query_params
    counts = {"unpaid": 0, "paid": 0, "expired": expired}
    for parcel in parcels:
        counts[parcel.status] += 1

    def row(parcel: Parcel) -> dict[str, object]:
        notice = notices.get(parcel.buyer)
        out = {**host_parcel_json(parcel), "notice": notice_json(notice)}
        if notice and notice.get("proof"):
            path = request.app.url_path_for("get_proof", name=notice["proof"])
            out["proof_url"] = str(path)
        return out

    shown = [
        p
        for p in parcels
        if matches(p, query.get("q", ""))
        and query.get("status", p.status) == p.status
        and (
            query.get("notice") != PENDING
            or (notices.get(p.buyer, {}).get("state") == PENDING and p.status == "unpaid")
        )
    ]
    return JSON(
        {
            "parcels": [row(p) for p in shown],
            "counts": counts,
            "takings": sum(p.total - p.to_pay for p in parcels),
            "to_collect": sum(p.to_pay for p in parcels),
        }
    )


async def parcel_paid(request: Request) -> Response:
    """Mark the whole parcel paid: every claim at once, or none if one has expired (409)."""
    await require_admin(request)
    parcel = await service(request).mark_parcel_paid(
        request.path_params["id"], request.path_params["ref"]
    )
    return JSON(host_parcel_json(parcel))


async def parcel_reject(request: Request) -> Response:
    """The money is not there: the buyer's page shows the reason."""
    await require_admin(request)
    body = await body_as(request, RejectBody)
    parcel = await service(request).reject_payment(
        request.path_params["id"], request.path_params["ref"], body.reason
    )
    return JSON(host_parcel_json(parcel))


# --- the console's pages -------------------------------------------------------------------


async def _pay_page(
    request: Request, name: str, load: Callable[[], Awaitable[dict[str, object]]]
) -> Response:
    """A console page in the console's language, with these pages' words; `load` gives the
    page's data once the host is known to be logged in."""
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    asked = request.query_params.get("lang")
    lang = pick_lang(asked, request.cookies.get(LANG_COOKIE), await console_lang(request))
    words = {"pt": pay_translator(lang), "pay_text": pay_script_text(lang)}
    return await _page(request, name, user, **words, **await load())


async def payments_page(request: Request) -> Response:
    """A show's payments: counts and takings, the queue to check, parcels about to expire."""

    async def load() -> dict[str, object]:
        return {"show": await service(request).get_show(request.path_params["id"])}

    return await _pay_page(request, "host_payments.html", load)


async def pay_settings_page(request: Request) -> Response:
    """The co-op's payment methods and shipping fees."""
    svc = service(request)

    async def load() -> dict[str, object]:
        methods = methods_json(await svc.payment_methods())
        return {"setup": {"methods": methods, "shipping": rules_json(await svc.shipping_rules())}}

    return await _pay_page(request, "host_pay_settings.html", load)


routes = [
    Route("/host/shows/{id}/payments", payments_page, methods=["GET"], name="payments_page"),
    Route("/host/payments", pay_settings_page, methods=["GET"], name="pay_settings_page"),
    route("/api/shows/{id}/my-parcel", GET=my_parcel),
    route("/api/shows/{id}/my-parcel/paid", POST=say_paid),
    route("/api/proofs/{name}", GET=get_proof),
    route("/api/shipping", "shipping", GET=get_shipping, PUT=put_shipping),
    route("/api/payment-methods", "payment_methods", GET=get_methods, PUT=put_methods),
    route("/api/shows/{id}/parcels", GET=list_parcels),
    route("/api/shows/{id}/parcels/{ref}/paid", POST=parcel_paid),
    route("/api/shows/{id}/parcels/{ref}/reject", POST=parcel_reject),
]
