"""`/host/` -> `/host`: the trailing-slash redirect, built from LIVE_PUBLIC_URL.

Starlette's own redirect builds its Location from the request's Host header, so a forged Host
sends the browser (or a cache that keeps the answer) to another site. This one names only the
service's own base URL; a path that matches nothing either way is a plain 404.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from live.config import Settings


class SlashRedirect:
    def __init__(self, router: Router, base_url: str, fallback: ASGIApp) -> None:
        self.router = router
        self.base_url = base_url
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            moved = {**scope, "path": other}
            if other and any(
                route.matches(moved)[0] is not Match.NONE for route in self.router.routes
            ):
                query = scope.get("query_string", b"").decode("latin-1")
                location = self.base_url + quote(other) + (f"?{query}" if query else "")
                await RedirectResponse(location, status_code=307)(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def install(app: Starlette, settings: Settings) -> None:
    router = app.router
    router.redirect_slashes = False
    router.default = SlashRedirect(router, settings.base_url, router.default)
