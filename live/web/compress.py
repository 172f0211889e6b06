"""gzip for text answers, for phones on weak networks (websockets pass through untouched).

Starlette's GZipMiddleware does the work; this only says where it must not: answers to requests
that carry the console's session cookie (static files aside) and the console's pages. A cookie is
sent by the browser whatever page asked, so a hostile page could make a logged-in host's browser
fetch answers mixing a secret (a CSRF token, an overlay key) with text it chose, and read the
secret from the compressed sizes (BREACH). Buyer and bearer requests carry no cookie: their
credentials are headers that other sites can't make a browser send.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# Below about one TCP packet, compressing saves no round trip, only CPU.
MINIMUM_SIZE = 1024
SESSION_COOKIE = "live_session"


class Compress:
    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _holds_console_secrets(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _holds_console_secrets(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if path.startswith(("/static/", "/assets/")):
        return False
    if path == "/host" or path.startswith("/host/"):
        return True
    return f"{SESSION_COOKIE}=" in Headers(scope=scope).get("cookie", "")
