"""Helpers shared by the HTTP handlers: JSON answers, bounded bodies, auth, error mapping."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from live import auth
from live.domain import Show
from live.errors import Forbidden, Invalid, LiveError, OrderRefused, TooLarge, Unauthorized
from live.exports import csv_text
from live.messages import ShowLinks, decode, encode
from live.service import Service
from live.web.errors import STATUS_CODE, http_status, retry_after_header, retry_after_ms

log = logging.getLogger("live.web")

T = TypeVar("T")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSON:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSON({"error": code, "detail": detail, **extra}, status_code=status, headers=headers)


def service(conn: HTTPConnection) -> Service:
    svc: Service = conn.app.state.service
    return svc


async def session_host(conn: HTTPConnection) -> str | None:
    """The logged-in host of this request's or socket's console session, if it is still valid
    (`Accounts.host_of`); `None` without one."""
    session = conn.session if "session" in conn.scope else None
    return await service(conn).accounts.host_of(session)


def client_address(request: Request) -> str:
    """The client's address as the server sees it (the proxy's, unless it is trusted to tell)."""
    return request.client.host if request.client else "unknown"


Endpoint = Callable[[Request], Awaitable[Response]]


def show_links(app: Starlette, base_url: str, show: Show, lang: str) -> ShowLinks:
    """A show's public addresses on `base_url` (LIVE_PUBLIC_URL), from the pages' route names.
    The buy page and overlay links carry the co-op's language (`lang`): OBS reports English
    whatever the co-op speaks. The short link stays bare: it is read aloud, typed and put in
    the QR code."""

    def url(name: str, query: dict[str, str] | None = None, **params: str) -> str:
        address = str(app.url_path_for(name, **params).make_absolute_url(base_url))
        return f"{address}?{urlencode(query)}" if query else address

    return ShowLinks(
        viewer_url=url("buy", {"lang": lang}, id=show.id),
        short_url=url("short_link", code=show.short_code) if show.short_code else None,
        overlay_url=url("overlay", {"key": show.overlay_key, "lang": lang}, id=show.id),
    )


def route(path: str, name: str | None = None, **handlers: Endpoint) -> Route:
    """One route per path, whatever its methods, so a 405 lists every allowed method. Its name
    (for `url_path_for`) is `name`, or its handler's when it has one, as Starlette names a
    plain `Route`."""
    if name is None:
        if len(handlers) != 1:
            raise TypeError(f"route {path} has several methods: name it")
        name = next(iter(handlers.values())).__name__

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, endpoint, methods=list(handlers), name=name)


def csv_response(rows: list[list[object]], filename: str) -> Response:
    """A CSV download, written as every export is (live/exports.py: formulas defused, numbers
    that are text kept as text, UTF-8 with a BOM)."""
    return Response(
        csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The request body, refused with 413 `too_large` past the limit (streamed)."""
    limit = limit or service(request).settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def body_as(request: Request, kind: type[T]) -> T:
    return decode(await read_body(request), kind)


async def require_admin(request: Request) -> None:
    """Host actions need `Authorization: Bearer <LIVE_ADMIN_TOKEN>`, or a console session; a
    session request that changes anything must carry its CSRF token (`X-CSRF-Token`)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and auth.token_ok(
        token.strip(), service(request).settings.admin_token
    ):
        return
    if await session_host(request):
        if request.method not in auth.SAFE_METHODS and not auth.csrf_ok(
            request, request.headers.get("x-csrf-token")
        ):
            raise Forbidden("missing or wrong CSRF token (X-CSRF-Token)")
        return
    raise Unauthorized("send Authorization: Bearer <admin token>, or log in at /host")


async def on_live_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    status = http_status(exc)
    retry_ms = retry_after_ms(exc)
    if retry_ms is not None:  # busy: nothing applied, try again after the hint
        headers = {"Retry-After": retry_after_header(retry_ms)}
        return error_response(status, exc.code, exc.detail, headers, retry_after_ms=retry_ms)
    if isinstance(exc, OrderRefused) and exc.stock is not None:
        return error_response(status, exc.code, exc.detail, stock=exc.stock)
    if isinstance(exc, Invalid) and exc.field:
        return error_response(status, exc.code, exc.detail, field=exc.field)
    if status >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.code, exc.detail)
    return error_response(status, exc.code, exc.detail)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = STATUS_CODE.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "an unexpected error; it has been logged")
