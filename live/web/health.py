"""Liveness, readiness and metrics for operators and orchestrators."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live import auth
from live.errors import Unavailable
from live.metrics import CONTENT_TYPE, Metrics
from live.web.http import JSON, client_address, error_response, service


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = service(request)
    if request.app.state.drain.draining:
        # First thing on SIGTERM (live/web/drain.py): the proxy stops sending sockets here.
        return error_response(503, "draining", "this process is stopping", store=svc.store_kind)
    try:
        await svc.ping_store()
    except Unavailable as exc:
        return error_response(503, exc.code, exc.detail, store=svc.store_kind)
    return JSON({"status": "ready", "store": svc.store_kind})


def metrics_allowed(request: Request) -> bool:
    """The admin token (Bearer), or a client address in LIVE_METRICS_ALLOW. Behind a trusted
    proxy the address is the forwarded one, so the proxy's own address is never enough."""
    settings = service(request).settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and auth.token_ok(token.strip(), settings.admin_token):
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False  # a unix socket peer, or unknown
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.metrics_allow)


async def metrics(request: Request) -> Response:
    if not metrics_allowed(request):
        return error_response(
            401,
            "unauthorized",
            "send Authorization: Bearer <admin token>, or allow the "
            "scraper's address in LIVE_METRICS_ALLOW",
        )
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    from live.openapi import document

    return JSON(document())


routes = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
