"""The host console (`/host`): login, catalog, show control, orders, packing lists, statements.

Pages need a session (log in with the admin token or a host account); every state change goes
through the host API with the session's CSRF token. See live/auth.py.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from live import __version__, auth
from live.backoffice import packing_list, producer_statements
from live.domain import Order, Product, Profile, ShowState
from live.errors import NotFound, UnsupportedMediaType
from live.ratelimit import RateLimiter
from live.web.http import JSON, csv_response, read_body, require_admin, route, service
from live.web.pages import templates


def login_limiter() -> RateLimiter:
    """A few tries, then one every ten seconds per address (one limiter per app)."""
    return RateLimiter(rate=0.1, burst=5.0)


IMAGE_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
    "image/webp": (b"RIFF", ".webp"),
}


async def current_host(request: Request) -> str | None:
    svc = service(request)
    return await auth.session_host(request, svc.store, svc.settings)


def _page(request: Request, name: str, user: str | None, **context: object) -> Response:
    context.setdefault("csrf", auth.csrf_token(request))
    context.setdefault("version", __version__)
    return templates(request).TemplateResponse(request, name, {"user": user, **context})


async def console(request: Request) -> Response:
    user = await current_host(request)
    if user is None:
        return _page(request, "host_login.html", None, error=None)
    return _page(request, "host_dashboard.html", user)


def _address_bucket(request: Request) -> str:
    """The limiter's key: the address, or for IPv6 its /64 (one host often holds a whole /64)."""
    address = request.client.host if request.client else "unknown"
    if ":" in address:
        return ":".join(address.split(":")[:4]) + "::/64"
    return address


async def login(request: Request) -> Response:
    form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    field = {k: v[0] for k, v in form.items()}
    if not auth.csrf_ok(request, field.get("csrf")):
        return _login_failed(request, "Your session expired: try again.", 403)
    if not request.app.state.login_limiter.allow(_address_bucket(request)):
        return _login_failed(request, "Too many attempts: wait a minute.", 429)
    svc = service(request)
    name = field.get("name", "").strip()
    if name:
        kind = "account"
        ok = await asyncio.to_thread(
            auth.verify_password, field.get("password", ""), await svc.store.get_user(name)
        )
    else:
        kind, name = "token", "admin"
        ok = auth.token_ok(field.get("token", "").strip(), svc.settings.admin_token)
    if not ok:
        await asyncio.sleep(0.5)  # every failure costs the guesser time
        return _login_failed(request, "Wrong name, password or token.", 401)
    await auth.start_session(request, svc.store, svc.settings, kind=kind, name=name)
    return RedirectResponse("/host", status_code=303)


def _login_failed(request: Request, message: str, status: int) -> Response:
    response = _page(request, "host_login.html", None, error=message)
    response.status_code = status
    return response


async def logout(request: Request) -> Response:
    """Ends every session of this account, on every device: the cookie alone can't be revoked
    (it lives in the browser), so the account moves to a new session generation."""
    form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    if auth.csrf_ok(request, (form.get("csrf") or [""])[0]):
        user = await current_host(request)
        if user is not None:
            kind = str(request.session.get("kind"))
            await service(request).store.end_sessions(auth.epoch_key(kind, user))
        request.session.clear()
    return RedirectResponse("/host", status_code=303)


async def _host_or_login(request: Request) -> tuple[str | None, Response | None]:
    user = await current_host(request)
    if user is not None:
        return user, None
    return None, RedirectResponse("/host", status_code=303)


async def show_page(request: Request) -> Response:
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    show = await service(request).get_show(request.path_params["id"])
    return _page(request, "host_show.html", user, show=show)


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
    return _page(request, "host_packing.html", user, state=books.state, parcels=parcels)


async def producers_page(request: Request) -> Response:
    user, redirect = await _host_or_login(request)
    if redirect is not None:
        return redirect
    books = await _backoffice(request)
    statements = producer_statements(books.orders, books.products)
    return _page(request, "host_producers.html", user, state=books.state, statements=statements)


PACKING_COLUMNS: list[object] = [
    "parcel",
    "buyer",
    "name",
    "phone",
    "city",
    "address",
    "items",
    "units",
    "total",
    "currency",
    "orders",
    "all_paid",
]


async def packing_csv(request: Request) -> Response:
    await require_admin(request)
    books = await _backoffice(request)
    rows: list[list[object]] = [list(PACKING_COLUMNS)]
    parcels = packing_list(books.orders, books.products, books.profiles)
    for n, p in enumerate(parcels, start=1):
        d = p.delivery
        where = (d.name, d.phone, d.city, d.street) if d else ("", "", "", "")
        items = "; ".join(f"{x.name} × {x.qty}" for x in p.lines)
        rows.append(
            [
                n,
                p.buyer,
                *where,
                items,
                p.units,
                f"{p.total / 100:.2f}",
                p.currency,
                " ".join(p.order_ids),
                "yes" if p.all_paid else "no",
            ]
        )
    return csv_response(rows, f"packing-{request.path_params['id']}.csv")


async def producers_csv(request: Request) -> Response:
    await require_admin(request)
    books = await _backoffice(request)
    rows: list[list[object]] = [
        ["producer", "product_id", "product", "unit", "to_bring", "paid_units", "owed", "currency"]
    ]
    for s in producer_statements(books.orders, books.products):
        for line in s.lines:
            rows.append(
                [
                    s.producer,
                    line.product_id,
                    line.name,
                    line.unit,
                    line.to_bring,
                    line.paid_units,
                    f"{line.paid_total / 100:.2f}",
                    s.currency,
                ]
            )
    return csv_response(rows, f"producers-{request.path_params['id']}.csv")


async def show_live(request: Request) -> Response:
    """Viewers connected to this process now (each process counts its own)."""
    await require_admin(request)
    hub = request.app.state.hub
    channel = hub.channels.get(request.path_params["id"])
    return JSON({"viewers": len(channel.clients) if channel else 0})


def upload_dir(request: Request) -> Path:
    path = Path(service(request).settings.upload_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def upload(request: Request) -> Response:
    """A product photo: the body is the image itself (JPEG, PNG or WebP, at most 5 MiB);
    its type is checked against its first bytes, not trusted from the header."""
    await require_admin(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        raise UnsupportedMediaType("send a JPEG, PNG or WebP image as the body")
    data = await read_body(request, 5 * 1024 * 1024)
    if not looks_complete(kind, data):
        raise UnsupportedMediaType("the body is not a whole image of the type it claims to be")
    suffix = IMAGE_TYPES[kind][1]
    name = secrets.token_urlsafe(12) + suffix
    await asyncio.to_thread((upload_dir(request) / name).write_bytes, data)
    return JSON({"url": f"/media/{name}"}, status_code=201)


def looks_complete(kind: str, data: bytes) -> bool:
    """The container of each format, checked end to end (no decoder needed): the signature, the
    first chunk and the end marker, so a renamed HTML file or a truncated upload is refused."""
    magic = IMAGE_TYPES[kind][0]
    if len(data) < 32 or not data.startswith(magic):
        return False
    if kind == "image/png":
        return data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    if kind == "image/jpeg":
        return data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
    # WebP: RIFF size field = file size - 8
    return data[8:12] == b"WEBP" and int.from_bytes(data[4:8], "little") + 8 == len(data)


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


routes = [
    Route("/host", console, methods=["GET"]),
    Route("/host/login", login, methods=["POST"]),
    Route("/host/logout", logout, methods=["POST"]),
    Route("/host/shows/{id}", show_page, methods=["GET"]),
    Route("/host/shows/{id}/packing", packing_page, methods=["GET"]),
    Route("/host/shows/{id}/producers", producers_page, methods=["GET"]),
    route("/api/shows/{id}/packing.csv", GET=packing_csv),
    route("/api/shows/{id}/producers.csv", GET=producers_csv),
    route("/api/shows/{id}/live", GET=show_live),
    route("/api/uploads", PUT=upload),
    Route("/media/{name}", media, methods=["GET"]),
]
