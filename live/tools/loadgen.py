"""`live bench sale`: a flash sale over real sockets, driven from separate processes.

The coordinator (this module, in the `live` process) starts the server unless given `--url`,
sets up a show over the host API, and spawns loader processes
(`python -m live.tools.loadgen worker`), each holding its share of the viewers' sockets.
Phases, coordinated over the workers' stdin/stdout:

1. connect: every viewer opens its socket and waits for the snapshot;
2. sale: every viewer taps buy at once (qty 1, its own key) — ack latencies, orders/s;
3. settle: until the stock stops moving — when each viewer held the final stock;
4. fan-out: the host toggles a product on and off sale as fast as it can for a few seconds;
   every viewer counts what it receives — deliveries/s;
5. baseline: the same viewers connect to a bare `websockets` server that sends similar frames
   with `websockets.broadcast()` — the same count, for a ratio measured in the same run.

Nothing here is a test: it prints figures (and exits 1 if anything was oversold).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from live.backends.redis.keys import Keys
from live.config import Settings
from live.tools.bench import quantile
from live.tools.devredis import RedisServer

# --- worker side ----------------------------------------------------------------------------


@dataclass
class Viewer:
    ws: Any
    index: int
    stock: int | None = None
    stock_at: float = 0.0
    received: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    sent_at: float = 0.0
    result: dict[str, Any] | None = None
    result_at: float = 0.0
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None


async def _read(viewer: Viewer) -> None:
    with contextlib.suppress(Exception):
        async for raw in viewer.ws:
            now = time.time()
            viewer.received += 1
            if not viewer.first_at:
                viewer.first_at = now
            viewer.last_at = now
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "stock" or (kind == "snapshot" and message.get("products")):
                stock = message["stock"] if kind == "stock" else message["products"][0]["stock"]
                if stock != viewer.stock:
                    viewer.stock, viewer.stock_at = stock, now
            elif kind == "order_result" and viewer.result is None:
                viewer.result, viewer.result_at = message, now
                viewer.answered.set()


async def _connect_all(urls: list[str], parallel: int = 200) -> tuple[list[Viewer], float]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(parallel)
    started = time.perf_counter()

    async def one(i: int, url: str) -> Viewer:
        async with gate:
            ws = await connect(
                url, max_size=2**20, compression=None, open_timeout=60, ping_interval=None
            )
            viewer = Viewer(ws=ws, index=i)
            first = json.loads(await asyncio.wait_for(ws.recv(), 60))
            viewer.received = 1
            if first.get("type") == "snapshot" and first.get("products"):
                viewer.stock = first["products"][0]["stock"]
            viewer.reader = asyncio.create_task(_read(viewer))
            return viewer

    viewers = await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    return list(viewers), time.perf_counter() - started


async def _close_all(viewers: list[Viewer]) -> None:
    for v in viewers:
        if v.reader is not None:
            v.reader.cancel()
    await asyncio.gather(*(v.ws.close() for v in viewers), return_exceptions=True)


def _say(kind: str, payload: Any) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


async def _command() -> list[str]:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.split()


async def worker_main(config: dict[str, Any]) -> None:
    base = config["ws"]
    tag = config["tag"]
    urls = [f"{base}?buyer=bench{tag}x{i:09d}" for i in range(config["count"])]
    viewers, connect_s = await _connect_all(urls)
    _say("READY", {"connect_s": connect_s})
    while True:
        command = await _command()
        if not command or command[0] == "BYE":
            break
        if command[0] == "SALE":

            async def tap(v: Viewer) -> None:
                key = f"k{tag}x{v.index:09d}{secrets.token_hex(3)}"
                frame = {"type": "order", "product_id": config["product_id"], "qty": 1, "key": key}
                v.sent_at = time.time()
                await v.ws.send(json.dumps(frame))

            await asyncio.gather(*(tap(v) for v in viewers))
            await asyncio.gather(*(asyncio.wait_for(v.answered.wait(), 120) for v in viewers))
            _say(
                "SALE",
                [
                    {
                        "ok": bool(v.result and v.result.get("ok")),
                        "error": v.result.get("error") if v.result else "no answer",
                        "sent": v.sent_at,
                        "at": v.result_at,
                    }
                    for v in viewers
                ],
            )
        elif command[0] == "SETTLE":
            quiet = float(command[1])
            while time.time() - max(v.stock_at for v in viewers) < quiet:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            _say("SETTLE", [{"stock": v.stock, "at": v.stock_at} for v in viewers])
        elif command[0] == "COUNT":
            for v in viewers:
                v.received, v.first_at, v.last_at = 0, 0.0, 0.0
            _say("COUNTING", {})
        elif command[0] == "REPORT":
            firsts = [v.first_at for v in viewers if v.first_at]
            _say(
                "REPORT",
                {
                    "received": sum(v.received for v in viewers),
                    "first": min(firsts) if firsts else 0.0,
                    "last": max((v.last_at for v in viewers), default=0.0),
                },
            )
        elif command[0] == "SWITCH":
            await _close_all(viewers)
            viewers, connect_s = await _connect_all([command[1]] * config["count"])
            for v in viewers:
                v.received, v.first_at, v.last_at = 0, 0.0, 0.0
            _say("READY", {"connect_s": connect_s})
    await _close_all(viewers)


# --- the bare websockets baseline -------------------------------------------------------------


async def baseline_main(port: int, frame: str) -> None:
    """A bare websockets server: on `BROADCAST n` it sends n frames to everyone with
    websockets.broadcast(), yielding to the loop every 20 frames so sends can drain."""
    from websockets.asyncio.server import broadcast, serve

    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        await ws.send('{"type": "snapshot", "products": []}')
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        _say("LISTENING", {"port": port})
        while True:
            command = await _command()
            if not command or command[0] == "BYE":
                return
            if command[0] == "BROADCAST":
                for i in range(int(command[1])):
                    broadcast(clients, frame)
                    if i % 20 == 19:
                        await asyncio.sleep(0)
                _say("SENT", {"clients": len(clients)})


# --- coordinator ------------------------------------------------------------------------------


@dataclass
class SaleOptions:
    viewers: int = 2000
    stock: int = 500
    procs: int = 2
    url: str | None = None
    token: str | None = None
    backend: str = "memory"
    workers: int = 1
    fanout_seconds: float = 3.0
    baseline: bool = True


@dataclass
class Api:
    base: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - our own server, http(s) only
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    async def acall(self, method: str, path: str, body: Any = None) -> Any:
        return await asyncio.to_thread(self.call, method, path, body)


@dataclass
class Proc:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def expect(self, kind: str) -> Any:
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), 300)
            if not raw:
                raise RuntimeError(f"a loader process exited while waiting for {kind}")
            word, _, rest = raw.decode().partition(" ")
            if word == kind:
                return json.loads(rest)


async def _spawn(*args: str) -> Proc:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "live.tools.loadgen",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,  # result lines hold one entry per viewer
    )
    return Proc(process)


@dataclass
class Target:
    """The server under load: its address and admin token, and what this run started for it
    (none of it when `--url` names a server someone else runs)."""

    base: str
    token: str
    server: subprocess.Popen[bytes] | None = None
    redis: RedisServer | None = None
    # The key prefix of the server this run started (its LIVE_REDIS_PREFIX): it names the
    # show's events channel.
    redis_prefix: str = field(default_factory=lambda: Settings().redis_prefix)

    def channel(self, show_id: str) -> str:
        """The show's Redis events channel, named as the server's store names it."""
        return Keys(self.redis_prefix).channel(show_id)

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
        if self.redis is not None:
            self.redis.discard()


@dataclass(frozen=True)
class SaleShow:
    id: str
    product_id: str  # featured, stock `--stock`: what every viewer taps buy on
    spare_id: str  # in the lineup, toggled on and off sale in the fan-out phase


def _start_server(opts: SaleOptions) -> Target:
    from live.tools.devredis import free_port, start_redis

    port = free_port()
    token = secrets.token_urlsafe(24)  # live serve refuses admin tokens under 24 characters
    prefix = Settings().redis_prefix
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    env.update(
        LIVE_ADMIN_TOKEN=token,
        LIVE_SECRET_KEY=secrets.token_urlsafe(16),
        LIVE_LOG_LEVEL="warning",
        LIVE_REDIS_PREFIX=prefix,
    )
    # Every simulated viewer comes from 127.0.0.1: lift the per-address HTTP cap (the
    # handshakes of thousands of sockets are HTTP connections for a moment) and the
    # per-address order limits (every simulated phone orders from this one address).
    env["LIVE_MAX_HTTP_CONNECTIONS_PER_IP"] = "1000000"
    env.update(LIVE_ORDER_RATE_PER_IP="1000000", LIVE_ORDER_BURST_PER_IP="1000000")
    redis = None
    if opts.backend == "redis":
        redis = start_redis()
        env["LIVE_REDIS_URL"] = redis.unix_url
    command = [
        sys.executable,
        "-m",
        "live.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(opts.workers),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1):  # noqa: S310
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        raise RuntimeError("the server did not start")
    return Target(base, token, server=server, redis=redis, redis_prefix=prefix)


def _target(opts: SaleOptions) -> Target:
    if not opts.url:
        return _start_server(opts)
    if not opts.token:
        raise SystemExit("--url needs --token (the admin token)")
    return Target(opts.url.rstrip("/"), opts.token)


async def bench_sale_main(opts: SaleOptions) -> int:
    """Run the phases (see the module's docstring), print their figures; 1 if oversold."""
    target = _target(opts)
    api = Api(target.base, target.token)
    where = opts.url or f"{opts.backend} store, {opts.workers} worker(s)"
    print(
        f"# live bench sale — {platform.node()} · {os.cpu_count()} cores · Python "
        f"{platform.python_version()} · server: {where} · {opts.viewers} viewers from "
        f"{opts.procs} loader processes · stock {opts.stock}",
        flush=True,
    )
    procs: list[Proc] = []
    try:
        show = await _set_up_show(api, opts.stock)
        idle = await api.acall("GET", "/api/stats")
        ws_base = target.base.replace("http", "ws", 1) + f"/ws/shows/{show.id}"
        procs.extend(await _spawn_loaders(opts, ws_base, show.product_id))
        await _connect_phase(api, procs, opts, idle)
        last_accepted = await _sale_phase(procs)
        oversold = await _settle_phase(api, procs, show, opts.stock, last_accepted)
        if opts.fanout_seconds > 0:
            ours = await _fanout_phase(api, procs, show, opts, target)
            if opts.baseline:
                await _baseline_phase(procs, ours)
        return 1 if oversold else 0
    finally:
        await _stop_loaders(procs)
        target.stop()


async def _set_up_show(api: Api, stock: int) -> SaleShow:
    """An open show over the host API: the product on sale featured, a spare in the lineup."""
    product = await api.acall(
        "POST", "/api/products", {"name": "Bench honey", "price": 100, "stock": stock}
    )
    spare = await api.acall(
        "POST", "/api/products", {"name": "Bench tea", "price": 100, "stock": 1}
    )
    show = await api.acall(
        "POST",
        "/api/shows",
        {"title": "Bench sale", "product_ids": [product["id"], spare["id"]]},
    )
    sid = show["id"]
    await api.acall("POST", f"/api/shows/{sid}/ordering", {"open": True})
    await api.acall("POST", f"/api/shows/{sid}/featured", {"product_id": product["id"]})
    return SaleShow(id=sid, product_id=product["id"], spare_id=spare["id"])


async def _spawn_loaders(opts: SaleOptions, ws_base: str, product_id: str) -> list[Proc]:
    """`--procs` loader processes, sharing the viewers out as evenly as they divide."""
    shares = [
        opts.viewers // opts.procs + (1 if i < opts.viewers % opts.procs else 0)
        for i in range(opts.procs)
    ]
    procs = []
    for i, count in enumerate(shares):
        config = {
            "ws": ws_base,
            "count": count,
            "tag": f"{i}{secrets.token_hex(2)}",
            "product_id": product_id,
        }
        procs.append(await _spawn("worker", json.dumps(config)))
    return procs


async def _connect_phase(
    api: Api, procs: list[Proc], opts: SaleOptions, idle: dict[str, Any]
) -> None:
    """Wait until every viewer holds its snapshot; print the time and the memory per socket."""
    connect = await asyncio.gather(*(p.expect("READY") for p in procs))
    loaded = await api.acall("GET", "/api/stats")
    rss_per_conn = (loaded["rss_bytes"] - idle["rss_bytes"]) / max(1, loaded["connections"])
    connect_s = max(c["connect_s"] for c in connect)
    mib = (idle["rss_bytes"] / 2**20, loaded["rss_bytes"] / 2**20)
    print(
        f"connect     {opts.viewers} sockets in {connect_s:.2f} s; server RSS "
        f"{mib[0]:.0f} → {mib[1]:.0f} MiB, {rss_per_conn / 1024:.1f} KiB per connection"
        + ("" if opts.workers == 1 else " (one worker's view)"),
        flush=True,
    )


async def _sale_phase(procs: list[Proc]) -> float:
    """Every viewer taps buy at once; print orders/s and ack latencies. Returns the time of
    the last accepted order (of the last answer when none was accepted)."""
    for p in procs:
        await p.send("SALE")
    sale = [r for p in procs for r in await p.expect("SALE")]
    first_sent = min(r["sent"] for r in sale)
    last_ack = max(r["at"] for r in sale)
    latencies = [(r["at"] - r["sent"]) * 1000 for r in sale]
    accepted = [r for r in sale if r["ok"]]
    errors: dict[str, int] = {}
    for r in sale:
        if not r["ok"]:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    print(
        f"sale        {len(sale)} taps answered in {last_ack - first_sent:.2f} s = "
        f"{len(sale) / (last_ack - first_sent):,.0f} orders/s; accepted {len(accepted)}, "
        f"refused {errors}",
        flush=True,
    )
    print(
        "ack latency "
        + "  ".join(f"p{q} {quantile(latencies, q / 100):.0f} ms" for q in (50, 95, 99))
        + f"  max {max(latencies):.0f} ms",
        flush=True,
    )
    last_accepted: float = max((r["at"] for r in accepted), default=last_ack)
    return last_accepted


async def _settle_phase(
    api: Api, procs: list[Proc], show: SaleShow, stock: int, last_accepted: float
) -> int:
    """Wait until the stock stops moving; print who holds the final stock and when. Returns
    the units oversold (0 unless the store broke its promise)."""
    for p in procs:
        await p.send("SETTLE 1.5")
    settle = [r for p in procs for r in await p.expect("SETTLE")]
    final = await api.acall("GET", f"/api/products/{show.product_id}")
    holding = [r for r in settle if r["stock"] == final["stock"]]
    spread = max(0.0, max(r["at"] for r in settle) - last_accepted)
    oversold: int = max(0, final["sold"] - stock) + max(0, -final["stock"])
    orders = (await api.acall("GET", f"/api/shows/{show.id}/orders"))["orders"]
    print(
        f"final stock {final['stock']} (sold {final['sold']}, {len(orders)} orders); "
        f"{len(holding)}/{len(settle)} viewers hold it, the last {spread * 1000:.0f} ms "
        f"after the last accepted order; oversold {oversold}",
        flush=True,
    )
    return oversold


async def _fanout_phase(
    api: Api, procs: list[Proc], show: SaleShow, opts: SaleOptions, target: Target
) -> tuple[float, int]:
    """Events as fast as the host can make them for `--fanout-seconds`; print the deliveries
    per second the viewers received. Returns that rate and the number of events."""
    before = await api.acall("GET", "/api/stats")
    for p in procs:
        await p.send("COUNT")
    await asyncio.gather(*(p.expect("COUNTING") for p in procs))
    stop_at = time.monotonic() + opts.fanout_seconds
    if target.redis is not None:
        # Our own Redis: publish the events straight onto the show's channel, as the
        # store's scripts do, so the figure is the fan-out's, not the host API's.
        how = "published events"
        seq = (await api.acall("GET", f"/api/shows/{show.id}"))["seq"] + 1000
        toggles = await _publish_events(
            target.redis.unix_url, target.channel(show.id), show.spare_id, seq, stop_at
        )
    else:
        how = "host API events"
        toggles = await _toggle_on_sale(api, show, stop_at)
    reports = await _drained(procs)
    after = await api.acall("GET", "/api/stats")
    ours = _rate(reports)
    received = sum(r["received"] for r in reports)
    print(
        f"fan-out     {toggles} {how} × {opts.viewers} viewers: "
        f"{ours:,.0f} deliveries/s received ({received:,} of "
        f"{toggles * opts.viewers:,}; server queued "
        f"{after['deliveries'] - before['deliveries']:,}; "
        f"{after['connections']} connections left"
        + (")" if opts.workers == 1 else " — one worker's view)"),
        flush=True,
    )
    return ours, toggles


async def _toggle_on_sale(api: Api, show: SaleShow, stop_at: float, callers: int = 4) -> int:
    """Toggle the spare product on and off sale over the host API until `stop_at`."""
    toggles = 0

    async def toggler() -> None:
        nonlocal toggles
        on = False
        while time.monotonic() < stop_at:
            await api.acall(
                "POST",
                f"/api/shows/{show.id}/on_sale",
                {"product_id": show.spare_id, "on_sale": on},
            )
            on = not on
            toggles += 1

    await asyncio.gather(*(toggler() for _ in range(callers)))
    return toggles


async def _baseline_phase(procs: list[Proc], fanout: tuple[float, int]) -> None:
    """The same viewers and count on a bare websockets server; print the ratio."""
    ours, toggles = fanout
    theirs = await _baseline(procs, toggles)
    if theirs:
        print(
            f"baseline    websockets.broadcast() on a bare server, same "
            f"viewers, same count: {theirs:,.0f} deliveries/s; "
            f"ratio {ours / theirs:.2f}",
            flush=True,
        )


async def _stop_loaders(procs: list[Proc]) -> None:
    for p in procs:
        with contextlib.suppress(Exception):
            await p.send("BYE")
    for p in procs:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(p.process.wait(), 30)
        if p.process.returncode is None:
            p.process.kill()


async def _publish_events(url: str, channel: str, product_id: str, seq: int, stop_at: float) -> int:
    """Publish discrete events onto the show's channel until `stop_at`, 80 a second: with 2,000
    viewers that asks for 160,000 deliveries/s, more than one process can send, while keeping
    each mailbox's backlog under its limit over a few seconds (so nobody is dropped and the
    figure is the server's delivery rate, not its slow-consumer policy)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    sent = 0
    try:
        while time.monotonic() < stop_at:
            async with client.pipeline(transaction=False) as pipe:
                for _ in range(4):
                    event = {
                        "type": "on_sale",
                        "seq": seq + sent,
                        "prev": seq + sent - 1,
                        "product_id": product_id,
                        "on_sale": sent % 2 == 0,
                    }
                    pipe.publish(channel, json.dumps(event))
                    sent += 1
                await pipe.execute()
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    return sent


async def _drained(procs: list[Proc], limit: float = 15.0) -> list[dict[str, Any]]:
    """Counts once the viewers stop receiving (the backlog has drained), or after `limit` s."""
    previous = -1
    deadline = time.monotonic() + limit
    while True:
        await asyncio.sleep(0.5)
        for p in procs:
            await p.send("REPORT")
        reports = list(await asyncio.gather(*(p.expect("REPORT") for p in procs)))
        received = sum(r["received"] for r in reports)
        if received == previous or time.monotonic() > deadline:
            return reports
        previous = received


def _rate(reports: list[dict[str, Any]]) -> float:
    received = sum(r["received"] for r in reports)
    firsts = [r["first"] for r in reports if r["first"]]
    if not firsts:
        return 0.0
    span = max(r["last"] for r in reports) - min(firsts)
    return received / span if span > 0 else 0.0


async def _baseline(procs: list[Proc], frames: int) -> float:
    from live.tools.devredis import free_port

    port = free_port()
    frame = json.dumps(
        {
            "type": "on_sale",
            "seq": 123456,
            "prev": 123455,
            "product_id": "pXXXXXXXXXXXX",
            "on_sale": True,
        }
    )
    server = await _spawn("baseline", str(port), frame)
    try:
        await server.expect("LISTENING")
        for p in procs:
            await p.send(f"SWITCH ws://127.0.0.1:{port}/")
        await asyncio.gather(*(p.expect("READY") for p in procs))
        await server.send(f"BROADCAST {frames}")
        await server.expect("SENT")
        return _rate(await _drained(procs))
    finally:
        with contextlib.suppress(Exception):
            await server.send("BYE")
            await asyncio.wait_for(server.process.wait(), 10)


def main() -> None:
    mode = sys.argv[1]
    if mode == "worker":
        asyncio.run(worker_main(json.loads(sys.argv[2])))
    elif mode == "baseline":
        # The same event loop as the server (uvicorn picks uvloop when installed): a fair race.
        factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
        with contextlib.suppress(ImportError):  # uvicorn[standard] brings uvloop
            import uvloop

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(baseline_main(int(sys.argv[2]), sys.argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
