"""The `live` command: serve, demo and bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from live import __version__
from live.config import Settings, settings_from_env

if TYPE_CHECKING:
    from live.backends import Store
    from live.backends.base import DataSet

log = logging.getLogger("live")


def _setup_logging() -> None:
    from live.server import LOG_FORMAT, add_redaction

    logging.basicConfig(level=os.environ.get("LIVE_LOG_LEVEL", "INFO").upper(), format=LOG_FORMAT)
    add_redaction(logging.getLogger())
    if os.environ.get("LIVE_LOG_FORMAT", "").lower() == "json":  # operating (issue 16)
        from live.logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())


def _prepare(settings: Settings, workers: int) -> None:
    """Say what was made up at start, and share it with worker processes through the env."""
    from live.app import describe_store

    if settings.admin_token_generated:
        os.environ["LIVE_ADMIN_TOKEN"] = settings.admin_token
        print(
            "Admin token (made for this run; set LIVE_ADMIN_TOKEN to keep one): "
            + settings.admin_token,
            flush=True,
        )
    if settings.secret_key_generated:
        os.environ["LIVE_SECRET_KEY"] = settings.secret_key
        log.warning(
            "LIVE_SECRET_KEY is not set: a random key was made, console sessions end at restart"
        )
    log.info(
        "Sunlit Live %s on %s:%d, %d worker%s, public URL %s, store: %s",
        __version__,
        settings.host,
        settings.port,
        workers,
        "" if workers == 1 else "s",
        settings.base_url,
        describe_store(settings),
    )


def _run(settings: Settings, workers: int, bots: int = 0) -> int:
    import uvicorn

    from live.app import create_app

    if workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not settings.redis_url:
        print(
            f"refusing --workers {workers}: the in-memory store lives inside one process, so "
            "several workers would each sell the same stock. Set LIVE_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0) to run several workers, or use --workers 1.",
            file=sys.stderr,
        )
        return 2
    _prepare(settings, workers)
    from live.server import raise_file_limit, tune_gc, uvicorn_options

    raise_file_limit()  # before the workers start: they inherit it
    tune_gc()  # worker processes start afresh: app_from_env tunes theirs
    common = uvicorn_options(settings, os.environ.get("LIVE_LOG_LEVEL", "info").lower())
    if workers == 1:
        uvicorn.run(create_app(settings, bots=bots), **common)
    else:
        os.environ["LIVE_BIND_HOST"] = settings.host
        os.environ["LIVE_BIND_PORT"] = str(settings.port)
        uvicorn.run("live.app:app_from_env", factory=True, workers=workers, **common)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_env(host=args.host, port=args.port)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return _run(settings, args.workers)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.bots < 0:
        print("--bots must be 0 or more", file=sys.stderr)
        return 2
    host = args.host or ("0.0.0.0" if args.lan else "127.0.0.1")  # noqa: S104 - --lan asks for it
    settings = settings_from_env(host=host, port=args.port).with_overrides(demo=True)
    if args.lan:
        lan = _lan_settings(settings)
        if lan is None:
            return 2
        settings = lan
    return _run(settings, 1, bots=args.bots)


def _lan_settings(settings: Settings) -> Settings | None:
    """`live demo --lan`: links and QR codes on this machine's LAN address, so a phone on the
    same Wi-Fi can open them. An explicit LIVE_PUBLIC_URL wins."""
    from live.lan import lan_address

    if not settings.public_url:
        address = lan_address()
        if address is None:
            print(
                "--lan: this machine has no address on a local network (only 127.0.0.1). "
                "Join the Wi-Fi, or set LIVE_PUBLIC_URL=http://<its address>:"
                f"{settings.port} yourself.",
                file=sys.stderr,
            )
            return None
        settings = settings.with_overrides(public_url=f"http://{address}:{settings.port}")
    everywhere = settings.host in ("0.0.0.0", "::", "")  # noqa: S104 - describing the bind
    where = (
        "every network interface"
        if everywhere
        else "this address only (--host): phones reach it only if it is on their network"
    )
    print(
        f"WARNING --lan: listening on {settings.host}:{settings.port}, {where}; "
        f"phones on this network open {settings.base_url}\n"
        "  This is plain HTTP on the local network, for rehearsals and demos: anyone on the "
        "network can reach it and nothing is encrypted.\n"
        "  Not for a public sale: run `live serve` behind an HTTPS proxy with LIVE_PUBLIC_URL "
        "(see README.md).",
        flush=True,
    )
    return settings


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "sale":
        from live.tools.loadgen import SaleOptions, bench_sale_main

        options = SaleOptions(
            viewers=args.viewers,
            stock=args.stock if args.stock is not None else 500,
            procs=args.procs,
            url=args.url,
            token=args.token or os.environ.get("LIVE_ADMIN_TOKEN"),
            backend=args.backend if args.backend in ("memory", "redis") else "memory",
            workers=args.workers,
            fanout_seconds=args.fanout_seconds,
            fanout_rate=args.fanout_rate,
            answer_limit=args.answer_limit,
            baseline=not args.no_baseline,
        )
        return asyncio.run(bench_sale_main(options))

    from live.tools.bench import bench_store_main

    backend = args.backend or "both"
    backends = ["memory", "redis"] if backend == "both" else [backend]
    results = asyncio.run(
        bench_store_main(
            backends,
            orders=args.orders,
            concurrency=args.concurrency,
            stock=args.stock,
            redis_url=args.redis_url or os.environ.get("LIVE_REDIS_URL"),
            wait_replicas=args.wait_replicas,
            wait_ms=args.wait_ms,
        )
    )
    return 1 if any(r.oversold for r in results) else 0


def cmd_users(args: argparse.Namespace) -> int:
    """`live users add NAME`: a named host account (password hashed with scrypt)."""
    import getpass

    from live.auth import hash_password
    from live.backends import open_store

    settings = settings_from_env()
    if not settings.redis_url:
        print(
            "host accounts are kept in Redis: set LIVE_REDIS_URL (on the in-memory store, "
            "log in to the console with the admin token instead)",
            file=sys.stderr,
        )
        return 2
    name = args.name.strip()
    if not name or len(name) > 64:
        print("a name of 1-64 characters, please", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    if len(password) < 10:
        print("use at least 10 characters", file=sys.stderr)
        return 2

    async def save() -> None:
        store = open_store(settings.redis_url, prefix=settings.redis_prefix)
        try:
            await store.set_user(name, hash_password(password))  # also ends its sessions
        finally:
            await store.close()

    asyncio.run(save())
    print(f"host account {name!r} saved; log in at {settings.base_url}/host")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="live", description="Sunlit Live: sell during a livestream."
    )
    parser.add_argument("--version", action="version", version=f"live {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (LIVE_REDIS_URL picks Redis)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes on one port (Redis only)")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser(
        "demo", help="run the server with a seeded co-op catalog and an open show"
    )
    demo.add_argument("--host", default=None, help="default 127.0.0.1; with --lan 0.0.0.0")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--bots", type=int, default=0, help="simulated buyers")
    demo.add_argument(
        "--lan",
        action="store_true",
        help="reachable from phones on this Wi-Fi: listen on every interface and put this "
        "machine's LAN address in links and QR codes (plain HTTP: not for a public sale)",
    )
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench.add_argument(
        "what",
        nargs="?",
        default="sale",
        choices=["sale", "store"],
        help="sale: a flash sale over sockets (default); store: orders/s through the store alone",
    )
    bench.add_argument(
        "--backend",
        choices=["memory", "redis", "both"],
        default=None,
        help="store: default both; sale: the server's store, default memory",
    )
    bench.add_argument("--viewers", type=int, default=2000, help="sale: sockets")
    bench.add_argument("--procs", type=int, default=2, help="sale: loader processes")
    bench.add_argument("--workers", type=int, default=1, help="sale: server processes (Redis)")
    bench.add_argument("--url", default=None, help="sale: target this server instead")
    bench.add_argument("--token", default=None, help="sale: its admin token (or LIVE_ADMIN_TOKEN)")
    bench.add_argument("--fanout-seconds", type=float, default=3.0, help="sale: fan-out phase")
    bench.add_argument(
        "--fanout-rate",
        type=float,
        default=60_000,
        help="sale: deliveries/s asked in the fan-out phase (events/s = rate / viewers)",
    )
    bench.add_argument(
        "--answer-limit", type=float, default=60.0, help="sale: seconds a tap waits for its answer"
    )
    bench.add_argument("--no-baseline", action="store_true", help="sale: skip the baseline")
    bench.add_argument("--orders", type=int, default=20_000, help="store: orders")
    bench.add_argument("--concurrency", type=int, default=200, help="store: concurrent callers")
    bench.add_argument(
        "--stock", type=int, default=None, help="store: default one per order; sale: default 500"
    )
    bench.add_argument(
        "--redis-url", default=None, help="default: LIVE_REDIS_URL, else a throwaway redis-server"
    )
    # Redis failover (issue 16): what waiting for replicas costs
    bench.add_argument(
        "--wait-replicas",
        type=int,
        default=0,
        help="store: each order waits for N replicas (WAIT); starts N throwaway replicas",
    )
    bench.add_argument("--wait-ms", type=int, default=500, help="store: WAIT's timeout")
    bench.set_defaults(func=cmd_bench)

    users = sub.add_parser("users", help="host accounts for the console (Redis store)")
    users_sub = users.add_subparsers(dest="action", required=True)
    add = users_sub.add_parser("add", help="create or reset a host account")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    users.set_defaults(func=cmd_users)

    # --- data lifecycle (issue 16) ----------------------------------------------------------
    export = sub.add_parser("export", help="write the deployment's data to a file (Redis store)")
    export.add_argument("file", help="the JSON-lines file to write; - for stdout")
    export.set_defaults(func=cmd_export)
    load = sub.add_parser("import", help="load an export into an empty store (Redis store)")
    load.add_argument("file", help="a file written by `live export`; - for stdin")
    load.add_argument(
        "--replace", action="store_true", help="delete what the store holds under the prefix first"
    )
    load.set_defaults(func=cmd_import)
    forget = sub.add_parser("forget", help="delete buyers' delivery details (Redis store)")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--buyer", help="a buyer token")
    who.add_argument("--phone", help="every buyer token tied to this phone number")
    who.add_argument(
        "--sweep", action="store_true", help="those settled LIVE_FORGET_AFTER_DAYS days ago, now"
    )
    forget.set_defaults(func=cmd_forget)
    return parser


def _lifecycle_store() -> tuple[Settings, Store] | None:
    """The store of `live export | import | forget`: Redis only (the memory store lives and
    dies with its server process, which no other command can reach)."""
    from live.backends import open_store

    settings = settings_from_env()
    if not settings.redis_url:
        print(
            "this needs the Redis store: set LIVE_REDIS_URL (and LIVE_REDIS_PREFIX)",
            file=sys.stderr,
        )
        return None
    return settings, open_store(settings.redis_url, prefix=settings.redis_prefix)


def cmd_export(args: argparse.Namespace) -> int:
    import time

    from live import datafile

    opened = _lifecycle_store()
    if opened is None:
        return 2
    _, store = opened

    async def run() -> DataSet:
        try:
            return await store.export_data()
        finally:
            await store.close()

    data = asyncio.run(run())
    if args.file == "-":
        datafile.write(data, sys.stdout.buffer, store=store.kind, now=time.time())
    else:
        with open(args.file, "wb") as out:
            datafile.write(data, out, store=store.kind, now=time.time())
    print(
        f"exported {len(data.products)} products, {len(data.shows)} shows, "
        f"{len(data.orders)} orders, {len(data.buyers)} buyers' details",
        file=sys.stderr,
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from live import datafile
    from live.errors import Conflict

    opened = _lifecycle_store()
    if opened is None:
        return 2
    _, store = opened
    try:
        if args.file == "-":
            data = datafile.read(sys.stdin.buffer)
        else:
            with open(args.file, "rb") as src:
                data = datafile.read(src)
    except (OSError, datafile.DataFileError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        try:
            await store.import_data(data, replace=args.replace)
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except Conflict as exc:
        print(f"{exc.detail}; nothing was imported", file=sys.stderr)
        return 1
    counts = f"{len(data.products)} products, {len(data.shows)} shows, {len(data.orders)} orders"
    print(f"imported {counts}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from live import forget

    opened = _lifecycle_store()
    if opened is None:
        return 2
    settings, store = opened

    proofs = Path(settings.upload_dir) / "proofs"  # payment screenshots (live/payments.py)

    async def run() -> list[str]:
        try:
            if args.sweep:
                after = settings.forget_after_days
                return await forget.sweep(store, after_days=after, proofs=proofs)
            if args.phone:
                return await forget.forget_phone(store, args.phone, proofs=proofs)
            gone = await forget.forget_buyer(store, args.buyer, proofs=proofs)
            return [args.buyer] if gone else []
        finally:
            await store.close()

    forgotten = asyncio.run(run())
    print(f"forgot the delivery details of {len(forgotten)} buyer token(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    _setup_logging()
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
