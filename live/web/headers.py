"""Safe default headers on every HTTP answer (pure ASGI, so it never buffers bodies)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live.config import Settings

# A year: browsers then refuse plain http for this host (sent only when the public URL is https).
HSTS = b"max-age=31536000"


def content_security_policy(settings: Settings) -> str:
    """Pages load only this origin's scripts and styles; sockets and fetches go back to this
    origin only (its ws:/wss: form named too, for browsers whose 'self' leaves sockets out);
    images come from here, data: (the favicon) and the photo hosts the operator named."""
    origin = settings.own_origin
    socket_origin = ("wss" if origin.startswith("https:") else "ws") + origin[origin.index(":") :]
    images = " ".join(["'self'", "data:", *settings.photo_hosts])
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; "
        f"connect-src 'self' {socket_origin}; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Adds the headers above to every HTTP answer that does not set them itself, and
    `Cache-Control: no-store` to API answers and console pages; sockets pass through."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        settings = settings or Settings()
        self.common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", content_security_policy(settings).encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if settings.https:
            self.common.append((b"strict-transport-security", HSTS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = str(scope.get("path", ""))
        private = path.startswith("/api/") or path == "/host" or path.startswith("/host/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.common if n not in present]
                if private and b"cache-control" not in present:
                    # API answers and console pages (orders, addresses) are never kept by
                    # browsers or proxies, unless a route says otherwise (the QR code).
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
