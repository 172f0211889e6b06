"""The application: routes, lifespan (store, demo seed, bots), templates and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from live.backends import Backend, open_backend
from live.bots import run_bots
from live.config import Settings, settings_from_env
from live.errors import LiveError
from live.forget import sweep_forever
from live.holds import run_sweeper  # holds (issue 14)
from live.hub import Hub
from live.metrics import Metrics
from live.seed import seed_demo
from live.server import tune_gc
from live.service import Service
from live.web import abuse, api, health, host, pages, slashes, sockets
from live.web.assets import VersionedStatic, content_version
from live.web.compress import Compress
from live.web.drain import Drain, on_sigterm
from live.web.headers import SecurityHeaders
from live.web.http import on_http_exception, on_live_error, on_unexpected, show_links
from live.web.pay import routes as pay_routes  # holds (issue 14)
from live.web.transport import ServerHandles
from live.web.trust_host import routes as trust_host_routes  # authenticity (issue 15)
from live.web.verify import routes as verify_routes

log = logging.getLogger("live")

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


async def _on_live_error(request: Request, exc: Exception) -> Response:
    if _wants_json(request) or not isinstance(exc, LiveError):
        return await on_live_error(request, exc)
    return await pages.on_page_error(request, exc)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    if _wants_json(request) or not isinstance(exc, HTTPException):
        return await on_http_exception(request, exc)
    from live.errors import MethodNotAllowed, NotFound

    error: LiveError = NotFound("no such page") if exc.status_code == 404 else MethodNotAllowed()
    return await pages.on_page_error(request, error)


def describe_store(settings: Settings) -> str:
    if not settings.redis_url:
        return "memory (one process; nothing is kept after it stops)"
    from urllib.parse import urlsplit

    parts = urlsplit(settings.redis_url)
    if "+" in parts.scheme:  # redis+sentinel://, redis+cluster:// (issue 16): several hosts
        hosts = parts.netloc.rpartition("@")[2]
        return f"redis {parts.scheme}://{hosts}{parts.path} (prefix {settings.redis_prefix!r})"
    where = (
        parts.path
        if parts.scheme == "unix"
        else f"{parts.hostname}:{parts.port or 6379}{parts.path}"
    )
    return f"redis {parts.scheme}://{where} (prefix {settings.redis_prefix!r})"


def create_app(settings: Settings, *, backend: Backend | None = None, bots: int = 0) -> Starlette:
    """Build the app. Nothing connects here: the lifespan opens (and closes) the backend named
    by the settings, or uses `backend` (left open: its owner closes it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_backend = backend is None
        active = backend or open_backend(
            settings.redis_url,
            prefix=settings.redis_prefix,
            timeout=settings.store_timeout,
            pool_size=settings.redis_pool_size,
            profile_ttl=settings.profile_ttl,
            wait_replicas=settings.redis_wait_replicas,
            wait_ms=settings.redis_wait_ms,
        )
        hub = Hub(
            active.store,
            active.feed,
            mailbox_limit=settings.mailbox_limit,
            stock_interval=settings.stock_interval,
            toast_interval=settings.toast_interval,
            event_backlog=settings.event_backlog,
            unsubscribe_grace=settings.unsubscribe_grace,
        )
        # The service may refuse a first attempt from the hub's view of the show without a
        # store round trip (`Hub.known_refusal`), and parks first attempts while the units the
        # view knows are left are spoken for (live/claims.py); a retry always goes to the store.
        svc = Service(
            active.store,
            settings,
            refusal_hint=hub.known_refusal,
            room_hint=hub.known_room,
            on_answered=hub.answered,
        )
        if svc.claims is not None:
            hub.on_view_change = svc.claims.changed
        await hub.start()
        app.state.service = svc
        app.state.hub = hub
        app.state.socket_counts = Counter()
        # operating (issue 16): what /metrics reads, and the SIGTERM drain
        metrics: Metrics = app.state.metrics
        metrics.hub, metrics.store, metrics.feed = hub, active.store, active.feed
        hub.on_lag = metrics.event_lag.observe
        metrics.watch_orders(svc)
        background: list[asyncio.Task[None]] = []
        # holds (issue 14): every process sweeps claims whose hold ran out
        sweeping = asyncio.Event()
        sweep = run_sweeper(svc, settings.hold_sweep_interval, sweeping)
        background.append(asyncio.create_task(sweep))
        log.info("process %d opening the store: %s", os.getpid(), describe_store(settings))
        try:
            if settings.demo:
                demo = await seed_demo(svc)
                base = settings.base_url
                show = demo.show
                token = (
                    settings.admin_token
                    if settings.admin_token_generated
                    else "(your LIVE_ADMIN_TOKEN)"
                )
                lang = await svc.coop_lang()  # OBS reports English: the links say it
                links = show_links(app, base, show, lang)
                console = app.url_path_for("console").make_absolute_url(base)
                api = app.url_path_for("get_show", id=show.id).make_absolute_url(base)
                print(
                    f"\nSunlit Live demo is ready (pid {os.getpid()})\n"
                    f"  host console : {console}?lang={lang}\n"
                    f"  buy page     : {links.viewer_url}\n"
                    f"  short link   : {links.short_url}\n"
                    f"  overlay (OBS): {links.overlay_url}\n"
                    f"  host API     : {api}\n"
                    f"  admin token  : {token}\n",
                    flush=True,
                )
                if bots:
                    background.append(asyncio.create_task(run_bots(svc, show.id, bots)))
            # Data lifecycle (issue 16): buyers' details go LIVE_FORGET_AFTER_DAYS after shipping.
            if settings.forget_after_days > 0:
                forgetting = sweep_forever(
                    active.store,
                    after_days=settings.forget_after_days,
                    proofs=Path(settings.upload_dir) / "proofs",
                )
                background.append(asyncio.create_task(forgetting))
            with on_sigterm(app.state.drain):
                yield
        finally:
            sweeping.set()  # holds (issue 14): the sweeper ends even if a cancel is swallowed
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await hub.close()  # and with it the feed
            if own_backend:
                await active.close()

    assets = content_version(STATIC)
    app = Starlette(
        routes=[
            *health.routes,
            *host.routes,
            *api.routes,
            *abuse.routes,
            *sockets.routes,
            *pages.routes,
            *verify_routes,  # authenticity (issue 15)
            *trust_host_routes,
            *pay_routes,  # holds (issue 14): parcels, shipping, paying
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
            Mount("/assets/{version}", app=VersionedStatic(STATIC, assets), name="assets"),
        ],
        middleware=[
            Middleware(ServerHandles),  # outermost: sockets keep the server's own send
            Middleware(sockets.CrowdSockets),  # viewers' and overlays' sockets, past the rest
            Middleware(SecurityHeaders, settings=settings),
            # gzip for text answers over 1 KiB (not console pages: see live/web/compress.py)
            Middleware(Compress),
            # Console sessions: signed with LIVE_SECRET_KEY, HttpOnly, SameSite=Lax, 12 hours.
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="live_session",
                max_age=12 * 3600,
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            ),
        ],
        exception_handlers={
            LiveError: _on_live_error,
            HTTPException: _on_http_exception,
            Exception: on_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.asset_version = assets
    slashes.install(app, settings)  # trailing-slash redirects name LIVE_PUBLIC_URL, not Host
    app.state.login_limiter = host.login_limiter()
    # operating (issue 16)
    app.state.metrics = Metrics()
    app.state.drain = app.state.metrics.drain = Drain(settings.drain_seconds)
    # autoescape=True for every template, whatever its extension: names come from hosts.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    app.state.templates = Jinja2Templates(env=env)
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and for each worker process of `live serve --workers N`."""
    tune_gc()
    host = os.environ.get("LIVE_BIND_HOST", "127.0.0.1")
    port = int(os.environ.get("LIVE_BIND_PORT", "8000"))
    return create_app(settings_from_env(host=host, port=port))
