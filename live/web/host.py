"""The host console (`/host`): login, catalog, show control, orders, packing lists, statements.

Pages need a session (log in with the admin token or a host account); every state change goes
through the host API with the session's CSRF token. See live/auth.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from live import __version__, auth, images
from live.backoffice import packing_list, producer_statements, shipped_orders
from live.config import LANGS
from live.console_i18n import LANG_COOKIE, LANG_NAMES, pick_lang, script_text, translator
from live.domain import Order, OrderStatus, Product, Profile, ShowState
from live.errors import Forbidden, NotFound, Unavailable, UnsupportedMediaType
from live.exports import courier_rows, packing_rows, statement_rows
from live.messages import host_show_json
from live.money import SYMBOLS, money
from live.ratelimit import RateLimiter, address_bucket
from live.web.http import (
    JSON,
    csv_response,
    read_body,
    require_admin,
    route,
    service,
    session_host,
    show_links,
)
from live.web.pages import templates

# The currencies offered in the product form (any ISO code works through the API); the first
# is the form's default.
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "HKD", "TWD", "JPY", "SGD", "AUD", "CAD")


# holds (issue 14): what the new-show form offers (seconds, its text's key); 0: never expire.
HOLD_CHOICES = ((0, "hold_none"), (900, "hold_15m"), (3600, "hold_1h"), (86400, "hold_24h"))


def login_limiter() -> RateLimiter:
    """A few tries, then one every ten seconds per address (one limiter per app)."""
    return RateLimiter(rate=0.1, burst=5.0)


async def console_lang(request: Request) -> str:
    """The console's default language: the co-op's (`Service.coop_lang`)."""
    svc = service(request)
    try:
        return await svc.coop_lang()
    except Unavailable:
        return svc.settings.default_lang  # the login page still shows while Redis is away


async def _page(request: Request, name: str, user: str | None, **context: object) -> Response:
    """A console page in the viewer's language: `?lang=` (then remembered in a cookie), the
    remembered choice, else the co-op's."""
    asked = request.query_params.get("lang")
    lang = pick_lang(asked, request.cookies.get(LANG_COOKIE), await console_lang(request))
    context.setdefault("csrf", auth.csrf_token(request))
    context.setdefault("version", __version__)
    response = templates(request).TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": lang,
            "lang_names": LANG_NAMES,
            "here": request.url.path,
            "t": translator(lang),
            "money": money,
            "script_text": script_text(lang),
            **context,
        },
    )
    if asked in LANGS:
        remember_lang(request, response, lang)
    return response


def remember_lang(request: Request, response: Response, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=service(request).settings.base_url.startswith("https://"),
    )


def to_console(request: Request, query: str = "") -> Response:
    """See Other: the console's page (a path, so a proxy in front keeps it right)."""
    return RedirectResponse(request.app.url_path_for("console") + query, status_code=303)


async def console(request: Request) -> Response:
    user = await session_host(request)
    if user is None:
        return await _page(request, "host_login.html", None, error=None)
    return await _page(
        request,
        "host_dashboard.html",
        user,
        coop_lang=await console_lang(request),
        timezone=service(request).settings.timezone,
        currencies=CURRENCIES,
        price_symbol=SYMBOLS.get(CURRENCIES[0], CURRENCIES[0]),
        saved=request.query_params.get("saved") == "1",
        # holds (issue 14): the new-show form's hold choices, LIVE_HOLD_SECONDS chosen
        hold_default=service(request).settings.hold_seconds,
        hold_choices=HOLD_CHOICES,
    )


async def save_settings(request: Request) -> Response:
    """The co-op's settings form (the console's default language), CSRF-checked like login."""
    form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    field = {k: v[0] for k, v in form.items()}
    if await session_host(request) is None:
        return to_console(request)
    if not auth.csrf_ok(request, field.get("csrf")):
        raise Forbidden("your session's form token is missing or wrong: reload the page")
    lang = field.get("lang", "")
    await service(request).set_coop_lang(lang)
    response = to_console(request, "?saved=1")
    remember_lang(request, response, lang)  # whoever sets it sees it at once
    return response


async def login(request: Request) -> Response:
    form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    field = {k: v[0] for k, v in form.items()}
    if not auth.csrf_ok(request, field.get("csrf")):
        return await _login_failed(request, "err_session", 403)
    if not request.app.state.login_limiter.allow(
        address_bucket(request.client.host if request.client else "unknown")
    ):
        return await _login_failed(request, "err_too_many", 429)
    accounts = service(request).accounts
    login = await accounts.check_login(
        name=field.get("name", "").strip(),
        password=field.get("password", ""),
        token=field.get("token", "").strip(),
    )
    if login is None:
        await asyncio.sleep(0.5)  # every failure costs the guesser time
        return await _login_failed(request, "err_wrong", 401)
    await accounts.start_session(request.session, login)
    return to_console(request)


async def _login_failed(request: Request, message: str, status: int) -> Response:
    if status in (401, 429):  # operating (issue 16): a refused login is logged and counted
        request.app.state.metrics.logins_refused.inc()
        where = request.client.host if request.client else "unknown"
        logging.getLogger("live.host").warning("console login refused (%s) from %s", message, where)
    response = await _page(request, "host_login.html", None, error=message)
    response.status_code = status
    return response


async def logout(request: Request) -> Response:
    """Ends every session of this account, on every device: the cookie alone can't be revoked
    (it lives in the browser), so the account moves to a new session generation."""
    form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    if auth.csrf_ok(request, (form.get("csrf") or [""])[0]):
        await service(request).accounts.log_out(request.session)
    return to_console(request)


async def _host_or_login(request: Request) -> tuple[str | None, Response | None]:
    user = await session_host(request)
    if user is not None:
        return user, None
    return None, to_console(request)


async def show_page(request: Request) -> Response:
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    svc = service(request)
    state = await svc.show_state(request.path_params["id"])
    # The links as the host API gives them: the buy page and the overlay carry the co-op's
    # language; the short link stays bare (it is read aloud and typed).
    lang = await console_lang(request)
    links = host_show_json(
        state, svc.clock(), show_links(request.app, svc.settings.base_url, state.show, lang)
    )
    share_links = [
        ("short_link", links["short_url"] or links["viewer_url"]),
        ("buy_page", links["viewer_url"]),
        ("overlay", links["overlay_url"]),
    ]
    statuses = [s.value for s in OrderStatus]
    return await _page(
        request,
        "host_show.html",
        user,
        show=state.show,
        share_links=share_links,
        statuses=statuses,
    )


@dataclass
class _Books:
    state: ShowState
    orders: list[Order]
    profiles: dict[str, Profile]
    products: dict[str, Product]


async def _backoffice(request: Request) -> _Books:
    svc = service(request)
    show_id = request.path_params["id"]
    state = await svc.show_state(show_id)
    orders, profiles = await svc.list_orders_for_host(show_id)
    products = {p.id: p for p in await svc.list_products()}
    return _Books(state, orders, profiles, products)


async def packing_page(request: Request) -> Response:
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    books = await _backoffice(request)
    parcels = packing_list(books.orders, books.products, books.profiles)
    await service(request).price_packing(books.state.show.id, parcels)  # holds (issue 14)
    return await _page(
        request,
        "host_packing.html",
        user,
        state=books.state,
        parcels=parcels,
        shipped=shipped_orders(books.orders),
        # pre-orders waiting for their harvest, listed apart (issue 13)
        preorders=packing_list(books.orders, books.products, books.profiles, preorders=True),
    )


async def producers_page(request: Request) -> Response:
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    books = await _backoffice(request)
    statements = producer_statements(books.orders, books.products)
    # Authenticity (issue 15): each producer's rating by buyers, from every unit rated so far.
    ratings = {q.key: q for q in (await service(request).trust.quality()).by_producer}
    return await _page(
        request,
        "host_producers.html",
        user,
        state=books.state,
        statements=statements,
        ratings=ratings,
        # holds (issue 14): shipping is the co-op's, apart from producers' amounts
        shipping=await service(request).shipping_collected(books.state.show.id),
    )


async def packing_csv(request: Request) -> Response:
    """The packing list as CSV; `?format=courier`: the courier's list (addresses and contents,
    no tokens or money)."""
    await require_admin(request)
    books = await _backoffice(request)
    show_id = request.path_params["id"]
    # ?format=preorders: the pre-orders still waiting for their harvest (kept apart)
    waiting = request.query_params.get("format") == "preorders"
    parcels = packing_list(books.orders, books.products, books.profiles, preorders=waiting)
    await service(request).price_packing(show_id, parcels)  # holds (issue 14)
    if waiting:
        return csv_response(packing_rows(parcels), f"preorders-{show_id}.csv")
    if request.query_params.get("format") == "courier":
        return csv_response(courier_rows(parcels), f"courier-{show_id}.csv")
    return csv_response(packing_rows(parcels), f"packing-{show_id}.csv")


async def producers_csv(request: Request) -> Response:
    await require_admin(request)
    books = await _backoffice(request)
    statements = producer_statements(books.orders, books.products)
    return csv_response(statement_rows(statements), f"producers-{request.path_params['id']}.csv")


async def show_live(request: Request) -> Response:
    """Viewers connected to this process now (each process counts its own): phones on the buy
    page; not the overlay nor the console itself."""
    await require_admin(request)
    hub = request.app.state.hub
    channel = hub.channels.get(request.path_params["id"])
    viewers = sum(1 for c in channel.clients if c.viewer) if channel else 0
    return JSON({"viewers": viewers})


def upload_dir(request: Request) -> Path:
    path = Path(service(request).settings.upload_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def upload(request: Request) -> Response:
    """A product photo: the body is the image itself (JPEG, PNG or WebP, up to 20 MB, the size
    of a phone's photo). It is decoded, turned upright and written again without its metadata
    (no GPS) as WebP at two sizes; the original is not kept (live/images.py)."""
    await require_admin(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in images.TYPES:
        raise UnsupportedMediaType("send a JPEG, PNG or WebP image as the body")
    # The one route whose body may pass the 64 KiB limit of everything else.
    data = await read_body(request, images.MAX_BYTES)
    async with _image_slot(request):
        photo = await asyncio.to_thread(images.process, data)
    del data
    name = secrets.token_urlsafe(12)
    folder = upload_dir(request)
    await asyncio.to_thread((folder / f"{name}-thumb.webp").write_bytes, photo.thumb)
    await asyncio.to_thread((folder / f"{name}.webp").write_bytes, photo.display)
    path_for = request.app.url_path_for
    return JSON(
        {
            "url": str(path_for("media", name=f"{name}.webp")),
            "thumb_url": str(path_for("media", name=f"{name}-thumb.webp")),
            "width": photo.width,
            "height": photo.height,
        },
        status_code=201,
    )


def _image_slot(request: Request) -> asyncio.Semaphore:
    """One photo decoded at a time per process: decoding takes a core for a moment, and the
    other core belongs to the sale."""
    state = request.app.state
    slot: asyncio.Semaphore | None = getattr(state, "image_slot", None)
    if slot is None:
        slot = state.image_slot = asyncio.Semaphore(1)
    return slot


async def media(request: Request) -> Response:
    name = request.path_params["name"]
    path = upload_dir(request) / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound("no such file")
    kind = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}.get(path.suffix)
    if kind is None:
        raise NotFound("no such file")
    return FileResponse(
        path, media_type=kind, headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )


# Named for url_path_for (the console's templates use these names).
routes = [
    Route("/host", console, methods=["GET"], name="console"),
    Route("/host/login", login, methods=["POST"], name="login"),
    Route("/host/logout", logout, methods=["POST"], name="logout"),
    Route("/host/settings", save_settings, methods=["POST"], name="save_settings"),
    Route("/host/shows/{id}", show_page, methods=["GET"], name="show_page"),
    Route("/host/shows/{id}/packing", packing_page, methods=["GET"], name="packing_page"),
    Route("/host/shows/{id}/producers", producers_page, methods=["GET"], name="producers_page"),
    route("/api/shows/{id}/packing.csv", GET=packing_csv),
    route("/api/shows/{id}/producers.csv", GET=producers_csv),
    route("/api/shows/{id}/live", GET=show_live),
    route("/api/uploads", PUT=upload),
    Route("/media/{name}", media, methods=["GET"], name="media"),
]
