"""Liveness and readiness for operators and orchestrators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.errors import Unavailable
from live.web.http import JSON, error_response, service


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = service(request)
    try:
        await svc.ping_store()
    except Unavailable as exc:
        return error_response(503, exc.code, exc.detail, store=svc.store_kind)
    return JSON({"status": "ready", "store": svc.store_kind})


async def openapi(request: Request) -> Response:
    from live.openapi import document

    return JSON(document())


routes = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
