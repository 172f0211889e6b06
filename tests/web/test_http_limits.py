"""The HTTP transport's limits, against real `live serve` processes over real TCP.

Issue 10, findings 1 and 2: headers that never end must not grow the process (431), a client
that drips its request must be cut (408) while /healthz keeps answering, one address holds only
so many HTTP connections, and the process's open-file limit is raised for its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml
from websockets.asyncio.client import connect

from live.config import Settings, settings_from_env
from live.server import HttpLimits, OpenConnections
from tests.helpers import make_show_with_products
from tests.support.live_process import (
    LIVE,
    TOKEN,
    env,
    exchange,
    healthz,
    open_from,
    read_all,
    rss_bytes,
    serve,
    status_of,
)

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


async def still_open(reader: asyncio.StreamReader) -> bool:
    """Nothing came back and the server has not closed: the connection waits for a request."""
    try:
        await asyncio.wait_for(reader.read(1), 0.1)
    except TimeoutError:
        return True
    return False


def get(path: str, headers: bytes = b"") -> bytes:
    return (
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        + headers
        + b"\r\n"
    )


def upgrade(path: str, headers: bytes = b"") -> bytes:
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n" + headers + b"\r\n"
    )


async def test_headers_over_the_cap_get_431_and_below_it_pass() -> None:
    with serve() as server:
        port = server.port
        assert (
            status_of(await exchange(port, get("/healthz", b"X-A: " + b"a" * 20_000 + b"\r\n")))
            == 200
        )
        one_long = get("/healthz", b"X-Long: " + b"a" * 40_000 + b"\r\n")
        many = get("/healthz", b"X-Many: b\r\n" * 4_000)
        long_url = get("/healthz?q=" + "u" * 40_000)
        for raw in (one_long, many, long_url):
            answer = await exchange(port, raw)
            assert status_of(answer) == 431, answer[:200]
            assert b"connection: close" in answer.lower()
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "headers_too_large"
        # A websocket upgrade request is headers too.
        answer = await exchange(
            port, upgrade("/ws/shows/s1", b"X-Long: " + b"a" * 40_000 + b"\r\n")
        )
        assert status_of(answer) == 431
        assert await healthz(port) == 200
    assert "Traceback" not in server.output and "Fatal error" not in server.output, server.output


async def test_an_endless_header_stream_does_not_grow_the_process() -> None:
    """Before: every byte sent was kept (256 MiB sent -> 255 MiB RSS)."""
    with serve() as server:
        port, pid = server.port, server.proc.pid
        before = rss_bytes(pid)
        reader, writer = await open_from(port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        chunk = b"X-Endless-Header-Line: " + b"z" * 1000 + b"\r\n"
        chunk *= 64  # ~64 KiB of header lines per write
        sent = 0
        deadline = time.monotonic() + 20
        with contextlib.suppress(ConnectionResetError, BrokenPipeError, TimeoutError):
            while sent < 64 * MiB and time.monotonic() < deadline:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 5)
                sent += len(chunk)
        try:
            answer: bytes | None = await read_all(reader, 5)
        except TimeoutError:
            answer = None  # never answered
        writer.close()
        grown = rss_bytes(pid) - before
        assert sent < 16 * MiB, f"the server kept reading: {sent / MiB:.0f} MiB"
        assert grown < 16 * MiB, f"the process grew by {grown / MiB:.0f} MiB"
        assert answer is not None and (answer == b"" or status_of(answer) == 431)
        assert await healthz(port) == 200


async def test_dripping_and_idle_connections_are_cut_and_healthz_keeps_answering() -> None:
    timeout = 1.5
    with serve(LIVE_HEADER_TIMEOUT=str(timeout), LIVE_MAX_HTTP_CONNECTIONS_PER_IP="1000") as server:
        port = server.port
        drippers = [await open_from(port, "127.0.0.2") for _ in range(150)]
        idle = [await open_from(port, "127.0.0.2") for _ in range(150)]
        started = time.monotonic()
        for _, writer in drippers:
            writer.write(b"GET /healthz HTTP/1.1\r\n")

        async def drip() -> None:
            while True:
                for _, writer in drippers:
                    if not writer.is_closing():
                        writer.write(b"X")
                await asyncio.sleep(0.25)

        dripping = asyncio.create_task(drip())
        try:
            # Meanwhile, from another address, the service answers.
            for _ in range(5):
                assert await healthz(port) == 200
                await asyncio.sleep(0.1)
            answers = await asyncio.gather(
                *(read_all(reader, timeout + 5) for reader, _ in drippers + idle)
            )
        finally:
            dripping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dripping
        elapsed = time.monotonic() - started
        assert elapsed < timeout + 4, elapsed
        statuses = {status_of(a) if a else "reset" for a in answers}
        assert statuses <= {408, "reset"}, statuses
        assert sum(1 for a in answers if a and status_of(a) == 408) >= 250
        for _, writer in drippers + idle:
            writer.close()
        assert await healthz(port) == 200


async def test_a_dripped_body_is_cut_but_a_slow_upload_at_a_fair_rate_passes() -> None:
    with serve(LIVE_BODY_TIMEOUT="1") as server:
        port = server.port
        product = json.dumps({"name": "Wild honey", "price": 8800, "stock": 40})
        body = (product + " " * 6000).encode()  # ~6 KiB: allowed 1 s + ~6 s at 1 KiB/s
        head = (
            b"POST /api/products HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )

        # A drip: 1 byte every 0.3 s.
        reader, writer = await open_from(port)
        writer.write(head)
        started = time.monotonic()

        async def drip() -> None:
            with contextlib.suppress(ConnectionError):
                for i in range(len(body)):
                    writer.write(body[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.3)

        dripping = asyncio.create_task(drip())
        answer = await read_all(reader, 10)
        dripping.cancel()
        writer.close()
        assert status_of(answer) == 408 and time.monotonic() - started < 4

        # 2 KiB every 0.5 s: longer than the 1 s timeout, faster than 1 KiB/s.
        reader, writer = await open_from(port)
        writer.write(head)
        for i in range(0, len(body), 2048):
            writer.write(body[i : i + 2048])
            await writer.drain()
            await asyncio.sleep(0.5)
        answer = await read_all(reader, 10)
        writer.close()
        assert status_of(answer) == 201, answer[-300:]


async def test_one_address_holds_a_bounded_number_of_http_connections() -> None:
    cap = 20
    with serve(LIVE_MAX_HTTP_CONNECTIONS_PER_IP=str(cap), LIVE_HEADER_TIMEOUT="30") as server:
        port = server.port
        held = [await open_from(port, "127.0.0.3") for _ in range(cap)]
        await asyncio.sleep(0.3)
        assert all([await still_open(r) for r, _ in held])
        refused = await exchange(port, get("/healthz"), "127.0.0.3")
        assert status_of(refused) == 429
        # Other addresses are not affected; one slot freed is one connection more.
        assert await healthz(port) == 200
        held.pop()[1].close()
        await asyncio.sleep(0.3)
        assert await healthz(port, "127.0.0.3") == 200

        # Websockets leave the HTTP count once upgraded (the socket cap counts them).
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            show_id, _, _ = await make_show_with_products(http)
        url = f"ws://127.0.0.1:{port}/ws/shows/{show_id}"
        sockets = [
            await connect(url, local_addr=("127.0.0.4", 0), open_timeout=5) for _ in range(cap + 10)
        ]
        assert await healthz(port, "127.0.0.4") == 200
        for ws in sockets:
            await ws.close()
        for _, writer in held:
            writer.close()


async def test_a_trusted_proxy_carries_everyone_and_is_not_capped() -> None:
    with serve(
        LIVE_MAX_HTTP_CONNECTIONS_PER_IP="5",
        LIVE_TRUSTED_PROXIES="127.0.0.5",
        LIVE_HEADER_TIMEOUT="30",
    ) as server:
        proxy = [await open_from(server.port, "127.0.0.5") for _ in range(12)]
        other = [await open_from(server.port, "127.0.0.6") for _ in range(6)]
        await asyncio.sleep(0.5)
        assert all([await still_open(reader) for reader, _ in proxy])
        assert [await still_open(reader) for reader, _ in other[:5]] == [True] * 5
        assert status_of(await read_all(other[5][0], 3)) == 429
        assert await healthz(server.port, "127.0.0.5") == 200
        for _, writer in proxy + other:
            writer.close()


def test_the_counter_buckets_ipv6_by_64_and_skips_trusted_proxies() -> None:
    connections = OpenConnections(
        HttpLimits(max_connections_per_ip=2, trusted_proxies=("10.0.0.0/8",))
    )
    assert (
        connections.bucket("2001:db8::1") == connections.bucket("2001:db8::ffff") == "2001:db8::/64"
    )
    assert connections.bucket("10.1.2.3") is None and connections.bucket("192.0.2.1") == "192.0.2.1"
    assert connections.open("a") and connections.open("a") and not connections.open("a")
    connections.close("a")
    assert connections.open("a")


def test_the_open_file_limit_is_raised_to_the_hard_limit_at_start() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, soft)

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    log = Path(subprocess.check_output(["mktemp"], text=True).strip())
    with log.open("w") as out:
        proc = subprocess.Popen(
            [LIVE, "serve", "--port", "0"],
            env=env(LIVE_ADMIN_TOKEN=TOKEN),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lower,  # a lower open-file limit for the child only
        )
    try:
        deadline = time.monotonic() + 20
        while "Application startup complete" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        match = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits)
        assert match and int(match.group(1)) == int(match.group(2)) == hard, limits
        assert f"open-file limit raised from {low} to {hard}" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.unlink()


def test_compose_runs_with_the_limits_on_and_files_for_its_sockets() -> None:
    """docker-compose.yml: the app's limits are the safe defaults, whatever sits in front."""
    root = Path(__file__).resolve().parents[2]
    app = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["app"]
    environ = {}
    for name, value in app["environment"].items():
        # ${NAME:-default} -> default; ${NAME:?message} -> a value the operator must give.
        given = re.fullmatch(r"\$\{\w+:(-|\?)(.*)\}", str(value))
        environ[name] = (given.group(2) if given.group(1) == "-" else "x" * 32) if given else value
    settings = settings_from_env(environ)
    defaults = Settings()
    # Behind Caddy (issue 16): only its fixed address is trusted, and the app has no port of
    # its own on the host (tests/ops/test_deploy.py checks the rest).
    caddy = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["caddy"]
    assert settings.trusted_proxies == (caddy["networks"]["live"]["ipv4_address"],)
    assert "ports" not in app
    assert settings.max_header_bytes == defaults.max_header_bytes <= 64 * 1024
    assert settings.header_timeout == defaults.header_timeout <= 30
    assert settings.body_timeout == defaults.body_timeout <= 60
    assert settings.max_http_connections_per_ip == defaults.max_http_connections_per_ip <= 1000
    assert app["ulimits"]["nofile"]["soft"] >= 65536 <= app["ulimits"]["nofile"]["hard"]
    assert "LIVE_TRUSTED_PROXIES" in (root / "Dockerfile").read_text()  # said, and not set
    assert "ENV LIVE_TRUSTED_PROXIES" not in (root / "Dockerfile").read_text()
