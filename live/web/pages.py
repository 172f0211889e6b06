"""HTML pages for viewers and the stream: the buy page, its short link and the overlay.

Every page is rendered by Jinja2 with autoescape on, so names typed by a host show as text.
Links and redirects are built from route names (`url_path_for`) as paths: the Host header never
goes into them (a forged one would send a browser, or a cache, to another site), and a reverse
proxy in front keeps them right. The one absolute URL, the overlay's short link, is built on
LIVE_PUBLIC_URL.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from live import __version__
from live.errors import LiveError
from live.messages import snapshot_json
from live.web.buy_view import buy_context
from live.web.errors import http_status
from live.web.http import service


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


async def index(request: Request) -> Response:
    return templates(request).TemplateResponse(request, "index.html", {})


async def buy_page(request: Request) -> Response:
    """The buy page, with the featured product and its button already in the HTML and the
    snapshot it was drawn from, so a phone on a weak network can buy before its socket is up."""
    svc = service(request)
    state = await svc.show_state(request.path_params["id"])
    now = svc.clock()
    context = buy_context(request, state, snapshot_json(state, now), await svc.coop_lang(), now)
    context["assets"] = request.app.state.asset_version
    return templates(request).TemplateResponse(
        request,
        "buy.html",
        context,
        # the stock in it is of this moment: never shown again from a cache without asking
        headers={"Cache-Control": "no-cache"},
    )


async def short_link(request: Request) -> Response:
    """`/b/CODE`: the short link on the overlay's QR code and read aloud by the host."""
    show_id = await service(request).show_by_code(request.path_params["code"])
    return RedirectResponse(request.app.url_path_for("buy", id=show_id), status_code=302)


async def overlay_page(request: Request) -> Response:
    """The OBS browser source. Anything wrong (no such show, a wrong key) answers a blank,
    transparent page that says nothing about any show: it sits on top of the stream."""
    svc = service(request)
    key = request.query_params.get("key", "")
    try:
        show = await svc.get_show(request.path_params["id"])
    except LiveError as exc:
        return _blank_overlay(request, http_status(exc))
    if not hmac.compare_digest(key.encode(), show.overlay_key.encode()):
        return _blank_overlay(request, 403)
    # Scanned from the stream and typed from it: the public address, whatever the OBS machine
    # reached the server by.
    short_path = request.app.url_path_for("short_link", code=show.short_code)
    short_url = str(short_path.make_absolute_url(svc.settings.base_url))
    asked = request.query_params.get("lang", "").lower()
    lang = "zh-CN" if asked.startswith("zh") else "en" if asked.startswith("en") else ""
    context = {
        "show_id": show.id,
        "key": key,
        "short_url": short_url,
        # Printed under the QR code for viewers who watch on the phone they would scan with:
        # domain and path, no scheme, so it can be typed.
        "short_text": short_url.split("://", 1)[-1],
        # OBS reports English whatever the co-op speaks: the co-op's language, unless ?lang=.
        "lang": lang or await svc.coop_lang(),
        "version": __version__,
    }
    return templates(request).TemplateResponse(request, "overlay.html", context)


def _blank_overlay(request: Request, status: int) -> Response:
    return templates(request).TemplateResponse(
        request, "overlay_blank.html", {"version": __version__}, status_code=status
    )


async def console_page(request: Request) -> Response:
    """The console moved to /host (kept so printed links and the demo's line still work)."""
    return RedirectResponse(request.app.url_path_for("console"), status_code=302)


async def on_page_error(request: Request, exc: LiveError) -> Response:
    status = http_status(exc)
    error = {"status": status, "code": exc.code, "detail": exc.detail}
    return templates(request).TemplateResponse(
        request, "error.html", {"error": error}, status_code=status
    )


# Named for url_path_for; "console" (the console's own page) is named in live/web/host.py.
routes = [
    Route("/", index, methods=["GET"], name="index"),
    Route("/s/{id}", buy_page, methods=["GET"], name="buy"),
    Route("/b/{code}", short_link, methods=["GET"], name="short_link"),
    Route("/overlay/{id}", overlay_page, methods=["GET"], name="overlay"),
    Route("/console", console_page, methods=["GET"], name="old_console"),
]
