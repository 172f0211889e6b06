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
import base64
import contextlib
import functools
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
from urllib.parse import urlsplit

import msgspec

from live.backends.redis.keys import Keys
from live.config import Settings
from live.tools.bench import quantile
from live.tools.devredis import RedisServer

# --- worker side ----------------------------------------------------------------------------
#
# Each viewer is a minimal websocket client on a plain asyncio protocol: it writes the upgrade
# request, reads whole frames (server frames are unmasked), masks the one frame it sends (its
# order) and answers pings. The `websockets` client costs tens of microseconds per frame and a
# few hundred per handshake; on a machine the server shares, a heavy load generator would
# measure itself.


class RawViewer(asyncio.Protocol):
    """One viewer's socket and what it saw."""

    def __init__(self, index: int, host: str, path: str, ready: asyncio.Future[None]) -> None:
        self.index = index
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.decode = True  # False while only counting (the fan-out phase)
        self.stock: int | None = None
        self.stock_at = 0.0
        self.frames = 0
        self.messages = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.sent_at = 0.0
        self.result: dict[str, Any] | None = None
        self.result_at = 0.0
        self.answered: Callable[[], None] | None = None
        self.closed: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transport is not an asyncio.Transport subclass, but has the same methods
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed is None:
            self.closed = 1006
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the snapshot"))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(buffer[:80].decode(errors="replace")))
                self.buffer = b""
                return
            self.upgraded = True
            buffer = buffer[end + 4 :]
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, length = buffer[at], buffer[at + 1] & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 10], "big"), 10
            if size - at < head + length:
                break
            payload = buffer[at + head : at + head + length]
            at += head + length
            opcode = first & 0x0F
            if opcode == 1:
                self._text(payload)
            elif opcode == 9:
                self._send(0xA, payload)  # pong
            elif opcode == 8:
                self.closed = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
        self.buffer = buffer[at:]

    def _text(self, payload: bytes) -> None:
        now = time.time()
        self.frames += 1
        if not self.first_at:
            self.first_at = now
        self.last_at = now
        if not self.decode:
            self.messages += payload.count(b'"type":')
            return
        data = _decode(payload)
        for message in data if isinstance(data, list) else (data,):
            self.messages += 1
            kind = message.get("type")
            if kind == "stock":
                self._stock(message["stock"], now)
            elif kind == "snapshot":
                products = message.get("products")
                if products:
                    self._stock(products[0]["stock"], now)
                if not self.ready.done():
                    self.ready.set_result(None)
            elif kind == "order_result" and self.result is None:
                self.result, self.result_at = message, now
                if self.answered is not None:
                    self.answered()

    def _stock(self, stock: int, now: float) -> None:
        if stock != self.stock:
            self.stock, self.stock_at = stock, now

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: always masked (RFC 6455), here with a random key."""
        mask = os.urandom(4)
        n = len(payload)
        head = bytes((0x80 | opcode, 0x80 | n)) if n < 126 else bytes((0x80 | opcode, 0xFE))
        if n >= 126:
            head += n.to_bytes(2, "big")
        repeated = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
            n, "big"
        )
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


_decoder = msgspec.json.Decoder()


def _same(viewer: RawViewer) -> RawViewer:
    return viewer


def _decode(payload: bytes) -> Any:
    return _decoder.decode(payload)


async def _connect_all(
    url: str, paths: list[str], parallel: int = 256
) -> tuple[list[RawViewer], float]:
    """Open every viewer's socket, at most `parallel` handshakes at a time; return when each
    holds its snapshot, with the time that took."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(parallel)
    started = time.perf_counter()

    async def one(i: int, path: str) -> RawViewer:
        async with gate:
            for attempt in range(5):
                ready: asyncio.Future[None] = loop.create_future()
                viewer = RawViewer(i, f"{host}:{port}", path, ready)
                try:
                    await loop.create_connection(functools.partial(_same, viewer), host, port)
                    await asyncio.wait_for(ready, 60)
                    return viewer
                except (OSError, ConnectionError, TimeoutError):
                    viewer.close()
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")

    viewers = await asyncio.gather(*(one(i, p) for i, p in enumerate(paths)))
    return list(viewers), time.perf_counter() - started


def _say(kind: str, payload: Any) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


async def _command() -> list[str]:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.split()


async def _sale(viewers: list[RawViewer], product_id: str, tag: str, limit: float) -> None:
    """Every viewer taps buy at once (qty 1, its own key); report every answer, or none."""
    left = len(viewers)
    done = asyncio.get_running_loop().create_future()

    def answered() -> None:
        nonlocal left
        left -= 1
        if left == 0 and not done.done():
            done.set_result(None)

    for v in viewers:
        v.answered = answered
    for v in viewers:
        key = f"k{tag}x{v.index:09d}{secrets.token_hex(3)}"
        v.sent_at = time.time()
        v.send_text(json.dumps({"type": "order", "product_id": product_id, "qty": 1, "key": key}))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, limit)
    _say(
        "SALE",
        [
            {
                "ok": bool(v.result and v.result.get("ok")),
                "error": (v.result.get("error") if v.result else None) or "",
                "order": ((v.result or {}).get("order") or {}).get("id"),
                "answered": v.result is not None,
                "sent": v.sent_at,
                "at": v.result_at,
            }
            for v in viewers
        ],
    )


async def worker_main(config: dict[str, Any]) -> None:
    tag = config["tag"]
    base = urlsplit(config["ws"])
    paths = [f"{base.path}?buyer=bench{tag}x{i:09d}" for i in range(config["count"])]
    _say("UP", {})
    viewers: list[RawViewer] = []
    while True:
        command = await _command()
        if not command or command[0] == "BYE":
            break
        if command[0] == "CONNECT":
            viewers, connect_s = await _connect_all(config["ws"], paths)
            _say("READY", {"connect_s": connect_s, "at": time.time()})
        elif command[0] == "SALE":
            await _sale(viewers, config["product_id"], tag, float(command[1]))
        elif command[0] == "SETTLE":
            final, limit = int(command[1]), float(command[2])
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline and any(v.stock != final for v in viewers):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            _say("SETTLE", [{"stock": v.stock, "at": v.stock_at} for v in viewers])
        elif command[0] == "COUNT":
            for v in viewers:
                v.frames = v.messages = 0
                v.first_at = v.last_at = 0.0
                v.decode = False
            _say("COUNTING", {})
        elif command[0] == "REPORT":
            firsts = [v.first_at for v in viewers if v.first_at]
            _say(
                "REPORT",
                {
                    "frames": sum(v.frames for v in viewers),
                    "messages": sum(v.messages for v in viewers),
                    "first": min(firsts) if firsts else 0.0,
                    "last": max((v.last_at for v in viewers), default=0.0),
                    "closed": sum(1 for v in viewers if v.closed is not None),
                },
            )
    for v in viewers:
        v.close()


# --- the websockets.broadcast() baseline ------------------------------------------------------


async def baseline_main(viewers: int, frames: int, frame: str) -> None:
    """`websockets.broadcast()` on its own server, in this process: `viewers` raw clients
    connect to it, then it broadcasts `frames` copies of `frame`, letting the clients read
    between rounds. Says the CPU time the broadcast calls took per delivery (only those
    calls are timed: the clients' reading is not)."""
    from websockets.asyncio.server import broadcast, serve

    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        await ws.send('{"type": "snapshot", "products": []}')
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        held, _ = await _connect_all(f"ws://127.0.0.1:{port}/", ["/"] * viewers)
        for v in held:
            v.decode = False
        spent = 0.0
        for _ in range(frames):
            started = time.thread_time()
            broadcast(clients, frame)
            spent += time.thread_time() - started
            await asyncio.sleep(0.002)  # the clients read
        await asyncio.sleep(0.5)
        received = sum(v.frames for v in held)
        deliveries = len(clients) * frames
        for v in held:
            v.close()
    _say(
        "BASELINE",
        {"us_per_delivery": spent / max(1, deliveries) * 1e6, "received": received},
    )


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
    fanout_rate: float = 60_000.0  # deliveries per second asked in the fan-out phase
    answer_limit: float = 60.0  # seconds a tap may wait for its answer before it counts as none
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

    def figures(self, prefix: str) -> dict[str, float]:
        """The server's /metrics samples whose name starts with `prefix` (one process's)."""
        request = urllib.request.Request(  # noqa: S310 - our own server, http(s) only
            self.base + "/metrics", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
        return {
            name: float(value)
            for line in text.splitlines()
            if line.startswith(prefix)
            for name, value in [line.rsplit(" ", 1)]
        }


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
    env["LIVE_MAX_CONNECTIONS_PER_IP"] = str(max(opts.viewers + 100, 5000))
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
    """Run the phases (see the module's docstring), print their figures; 1 if oversold or if
    the store's orders differ from the accepted answers."""
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
        await _connect_phase(api, procs, opts, idle, target)
        redis_before = _redis_work(target)
        sale = await _sale_phase(procs, opts)
        wrong = await _settle_phase(api, procs, show, opts, sale)
        _print_redis_work(redis_before, _redis_work(target))
        if opts.fanout_seconds > 0:
            ours = await _fanout_phase(api, procs, show, opts, target)
            if opts.baseline and ours:
                await _baseline_phase(opts, ours)
        return 1 if wrong else 0
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
    await asyncio.gather(*(p.expect("UP") for p in procs))
    return procs


async def _connect_phase(
    api: Api, procs: list[Proc], opts: SaleOptions, idle: dict[str, Any], target: Target
) -> None:
    """Every viewer connects at once; print when all hold their snapshot, the server's CPU per
    connection, and the memory per idle connection."""
    pid = target.server.pid if target.server is not None else None
    cpu_before = _cpu_seconds(pid) if pid else 0.0
    started = time.time()
    for p in procs:
        await p.send("CONNECT")
    connect = await asyncio.gather(*(p.expect("READY") for p in procs))
    connect_s = max(c["at"] for c in connect) - started
    cpu = (_cpu_seconds(pid) - cpu_before) if pid else 0.0
    await asyncio.sleep(1.0)  # let the handshakes' garbage go
    loaded = await api.acall("GET", "/api/stats")
    rss_per_conn = (loaded["rss_bytes"] - idle["rss_bytes"]) / max(1, loaded["connections"])
    mib = (idle["rss_bytes"] / 2**20, loaded["rss_bytes"] / 2**20)
    print(
        f"connect     {opts.viewers} viewers connected and holding their snapshot in "
        f"{connect_s:.2f} s (target ≤ 5 s at 10,000)"
        + (f"; server CPU {cpu / opts.viewers * 1e6:,.0f} µs per connection" if pid else ""),
        flush=True,
    )
    print(
        f"memory      server RSS {mib[0]:.0f} → {mib[1]:.0f} MiB: "
        f"{rss_per_conn / 1024:.1f} KiB per idle connection (target ≤ 20 KiB)"
        + ("" if opts.workers == 1 else " (one worker's view)"),
        flush=True,
    )


@dataclass
class Sale:
    answers: list[dict[str, Any]]
    last_accepted: float

    @property
    def accepted_ids(self) -> set[str]:
        return {a["order"] for a in self.answers if a["ok"] and a["order"]}


async def _sale_phase(procs: list[Proc], opts: SaleOptions) -> Sale:
    """Every viewer taps buy at once; print the answers by kind and the ack latencies."""
    for p in procs:
        await p.send(f"SALE {opts.answer_limit}")
    sale = [r for p in procs for r in await p.expect("SALE")]
    answered = [r for r in sale if r["answered"]]
    first_sent = min(r["sent"] for r in sale)
    last_ack = max((r["at"] for r in answered), default=first_sent)
    latencies = [(r["at"] - r["sent"]) * 1000 for r in answered]
    accepted = [r for r in answered if r["ok"]]
    kinds: dict[str, int] = {}
    for r in answered:
        if not r["ok"]:
            kinds[r["error"]] = kinds.get(r["error"], 0) + 1
    sold_out, busy, unavailable = (kinds.pop(k, 0) for k in ("sold_out", "busy", "unavailable"))
    span = max(1e-9, last_ack - first_sent)
    print(
        f"sale        {len(sale)} taps: accepted {len(accepted)}, sold_out {sold_out}, "
        f"busy {busy}, unavailable {unavailable}, other {sum(kinds.values())}"
        + (f" {kinds}" if kinds else "")
        + f", unanswered {len(sale) - len(answered)} (after {opts.answer_limit:.0f} s); "
        f"answered in {span:.2f} s = {len(answered) / span:,.0f} orders/s",
        flush=True,
    )
    print(
        "ack latency "
        + "  ".join(f"p{q} {quantile(latencies, q / 100):.0f} ms" for q in (50, 95, 99))
        + f"  max {max(latencies, default=0):.0f} ms",
        flush=True,
    )
    last_accepted: float = max((r["at"] for r in accepted), default=last_ack)
    return Sale(sale, last_accepted)


async def _settle_phase(
    api: Api, procs: list[Proc], show: SaleShow, opts: SaleOptions, sale: Sale
) -> bool:
    """Read the store; wait until every viewer holds its final stock; print when they did, and
    the store's orders against the accepted answers. True when something is wrong (oversold,
    or orders that differ from the answers)."""
    final = await api.acall("GET", f"/api/products/{show.product_id}")
    for p in procs:
        await p.send(f"SETTLE {final['stock']} 10")
    settle = [r for p in procs for r in await p.expect("SETTLE")]
    holding = [r for r in settle if r["stock"] == final["stock"]]
    spread = max(0.0, max((r["at"] for r in holding), default=0.0) - sale.last_accepted)
    oversold: int = max(0, final["sold"] - opts.stock) + max(0, -final["stock"])
    orders = (await api.acall("GET", f"/api/shows/{show.id}/orders"))["orders"]
    stored = {o["id"] for o in orders}
    accepted = sale.accepted_ids
    print(
        f"final stock {final['stock']} (sold {final['sold']}); {len(holding)}/{len(settle)} "
        f"viewers hold it, the last {spread * 1000:.0f} ms after the last accepted order "
        f"(target ≤ 1,000 ms); oversold {oversold}",
        flush=True,
    )
    print(
        f"truth       orders in the store {len(stored)}, accepted answers {len(accepted)}: "
        f"{len(stored - accepted)} stored but not answered accepted, "
        f"{len(accepted - stored)} answered accepted but not stored",
        flush=True,
    )
    gate = await asyncio.to_thread(api.figures, "live_admission")

    def outcome(name: str) -> float:
        return gate.get('live_admission_total{outcome="' + name + '"}', 0.0)

    print(
        f"gate        admitted {outcome('admitted'):.0f}, refused busy at once "
        f"{outcome('refused'):.0f}, withdrawn busy unsent {outcome('withdrawn'):.0f}; capacity "
        f"now {gate.get('live_admission_capacity', 0):.0f} (one server process's /metrics)",
        flush=True,
    )
    claims = await asyncio.to_thread(api.figures, "live_claims")

    def parked(name: str) -> float:
        return claims.get('live_claims_total{outcome="' + name + '"}', 0.0)

    print(
        f"claims      parked while the stock was spoken for {parked('parked'):.0f}: sold out "
        f"there {parked('sold_out'):.0f}, went on after their patience {parked('gave_up'):.0f}",
        flush=True,
    )
    return bool(oversold or stored != accepted)


def _redis_work(target: Target) -> dict[str, float] | None:
    """What the Redis this run started has done so far: CPU seconds, order scripts run (every
    EVALSHA: orders and boxes; the server loads its scripts at start), PUBLISHes (events, from
    inside the scripts too). None when the run uses someone else's server or no Redis."""
    if target.redis is None:
        return None
    import redis as syncredis

    client = syncredis.Redis.from_url(target.redis.unix_url)
    try:
        cpu = client.info("cpu")
        stats = client.info("commandstats")
    finally:
        client.close()

    def calls(command: str) -> float:
        return float(stats.get(f"cmdstat_{command}", {}).get("calls", 0))

    return {
        "cpu": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        "scripts": calls("evalsha"),
        "publish": calls("publish") + calls("spublish"),
    }


def _print_redis_work(before: dict[str, float] | None, after: dict[str, float] | None) -> None:
    """Redis's share of the sale (for the capacity model in docs/performance.md): the scripts
    the server processes sent between them, and the CPU they cost the one Redis."""
    if before is None or after is None:
        return
    scripts = after["scripts"] - before["scripts"]
    cpu = after["cpu"] - before["cpu"]
    per = f" = {cpu / scripts * 1e6:,.0f} µs per script" if scripts else ""
    print(
        f"redis       over the sale: {scripts:,.0f} order scripts, "
        f"{after['publish'] - before['publish']:,.0f} events published, "
        f"{cpu:.2f} s of Redis CPU{per} (the settle's reads included)",
        flush=True,
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (a server's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _fanout_phase(
    api: Api, procs: list[Proc], show: SaleShow, opts: SaleOptions, target: Target
) -> float:
    """Events for `--fanout-seconds`, paced so that viewers × events/s is `--fanout-rate`; print
    the deliveries the viewers received and the server's CPU per delivered frame. Returns that
    CPU in microseconds (0 when the server is not ours to measure)."""
    before = await api.acall("GET", "/api/stats")
    for p in procs:
        await p.send("COUNT")
    await asyncio.gather(*(p.expect("COUNTING") for p in procs))
    pid = target.server.pid if target.server is not None else None
    cpu_before = _cpu_seconds(pid) if pid else 0.0
    stop_at = time.monotonic() + opts.fanout_seconds
    per_second = max(1.0, opts.fanout_rate / max(1, opts.viewers))
    if target.redis is not None:
        # Our own Redis: publish the events straight onto the show's channel, as the
        # store's scripts do, so the figure is the fan-out's, not the host API's.
        how = "published events"
        seq = (await api.acall("GET", f"/api/shows/{show.id}"))["seq"] + 1000
        events = await _publish_events(
            target.redis.unix_url, target.channel(show.id), show.spare_id, seq, stop_at, per_second
        )
    else:
        how = "host API events"
        events = await _toggle_on_sale(api, show, stop_at, per_second)
    reports = await _drained(procs, events * opts.viewers)
    cpu: float = (_cpu_seconds(pid) if pid else 0.0) - cpu_before
    after = await api.acall("GET", "/api/stats")
    frames: int = sum(r["frames"] for r in reports)
    messages = sum(r["messages"] for r in reports)
    firsts = [r["first"] for r in reports if r["first"]]
    span = (max(r["last"] for r in reports) - min(firsts)) if firsts else 0.0
    print(
        f"fan-out     {events} {how} ({per_second:.0f}/s) × {opts.viewers} viewers: "
        f"{messages:,} of {events * opts.viewers:,} messages received in {frames:,} frames, "
        f"{messages / span if span > 0 else 0:,.0f}/s; {after['connections']} connections left"
        + ("" if opts.workers == 1 else " (one worker's view)"),
        flush=True,
    )
    if not pid or not frames:
        return 0.0
    us = cpu / frames * 1e6
    print(
        f"server CPU  {cpu:.2f} s over the phase = {us:.1f} µs per delivered frame, "
        f"{cpu / max(1, messages) * 1e6:.1f} µs per message (target ≤ 10 µs per frame; "
        f"{after['deliveries'] - before['deliveries']:,} messages handed out)",
        flush=True,
    )
    return us


async def _toggle_on_sale(api: Api, show: SaleShow, stop_at: float, per_second: float) -> int:
    """Toggle the spare product on and off sale over the host API until `stop_at`."""
    toggles = 0
    on = False
    while time.monotonic() < stop_at:
        started = time.monotonic()
        await api.acall(
            "POST",
            f"/api/shows/{show.id}/on_sale",
            {"product_id": show.spare_id, "on_sale": on},
        )
        on = not on
        toggles += 1
        await asyncio.sleep(max(0.0, 1 / per_second - (time.monotonic() - started)))
    return toggles


async def _baseline_phase(opts: SaleOptions, ours_us: float) -> None:
    """`websockets.broadcast()` in its own process, same frame size, same machine; print the
    ratio of our CPU per delivered frame to its."""
    frame = json.dumps(
        {
            "type": "on_sale",
            "seq": 123456,
            "prev": 123455,
            "product_id": "pXXXXXXXXXXXX",
            "on_sale": True,
        }
    )
    viewers = min(opts.viewers, 2000)
    proc = await _spawn("baseline", str(viewers), "200", frame)
    try:
        result = await proc.expect("BASELINE")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.process.wait(), 30)
    theirs = result["us_per_delivery"]
    print(
        f"baseline    websockets.broadcast(), {viewers} connections × 200 frames in one "
        f"process: {theirs:.1f} µs CPU per delivery; ours/theirs = {ours_us / theirs:.2f}",
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


async def _publish_events(
    url: str, channel: str, product_id: str, seq: int, stop_at: float, per_second: float
) -> int:
    """Publish discrete events onto the show's channel until `stop_at`, `per_second` of them,
    one at a time (so each is a frame of its own, as in the baseline)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() < stop_at:
            event = {
                "type": "on_sale",
                "seq": seq + sent,
                "prev": seq + sent - 1,
                "product_id": product_id,
                "on_sale": sent % 2 == 0,
            }
            await client.publish(channel, json.dumps(event))
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / per_second - time.monotonic()))
    finally:
        await client.aclose()
    return sent


async def _drained(
    procs: list[Proc], expected: int, limit: float = 20.0, quiet: float = 2.0
) -> list[dict[str, Any]]:
    """Counts once the viewers have received `expected` messages, or have received nothing
    for `quiet` seconds (the rest is not coming), or after `limit` s."""
    previous, since = -1, time.monotonic()
    deadline = time.monotonic() + limit
    while True:
        await asyncio.sleep(0.25)
        for p in procs:
            await p.send("REPORT")
        reports = list(await asyncio.gather(*(p.expect("REPORT") for p in procs)))
        received = sum(r["messages"] for r in reports)
        now = time.monotonic()
        if received != previous:
            previous, since = received, now
        if received >= expected or now - since > quiet or now > deadline:
            return reports


def main() -> None:
    mode = sys.argv[1]
    # The same event loop as the server (uvicorn picks uvloop when installed): a fair race.
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):  # uvicorn[standard] brings uvloop
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        if mode == "worker":
            runner.run(worker_main(json.loads(sys.argv[2])))
        elif mode == "baseline":
            runner.run(baseline_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        else:
            raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
