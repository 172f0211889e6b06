"""Real `live` processes (`Server`, `Live` on Redis, `serve` with settings) and raw HTTP over
TCP from a chosen loopback address (127.0.0.2, 127.0.0.3…: Linux answers all of 127/8, so one
test can be several clients)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx

from live.tools.devredis import RedisServer, free_port

LIVE = str(Path(sys.executable).with_name("live"))
TOKEN = "cli-test-token-abcdef0123456789"


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    # Every stop drains first (live/web/drain.py): a short window keeps the suite's stops quick.
    e["LIVE_DRAIN_SECONDS"] = "1"
    e.update(extra)
    return e


class Server:
    """A `live` process. Its output goes to a file (a pipe nobody reads would fill up with
    uvicorn's log lines and freeze the server), or to a pipe with `pipe=True` for tests that
    read it while it runs."""

    def __init__(
        self, args: list[str], environ: dict[str, str], port: int | None = None, pipe: bool = False
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = None if pipe else tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [LIVE, *args, "--port", str(self.port)],
            env=environ,
            stdout=subprocess.PIPE if pipe else self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.stop()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready:\n{self.stop()}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=15)
        self.output += out or ""
        if self.log is not None and not self.log.closed:
            self.log.seek(0)
            self.output += self.log.read()
            self.log.close()
        return self.output


class Live:
    """`live serve` on a given Redis, restartable on its port (kill -9 included)."""

    server: Server

    def __init__(
        self, redis: RedisServer, prefix: str | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.environ = env(
            LIVE_REDIS_URL=redis.unix_url,
            LIVE_ADMIN_TOKEN=TOKEN,
            LIVE_REDIS_PREFIX=prefix or f"p{self.port}",
            # Its crowds of phones all come from 127.0.0.1 (see tests/web/test_buyer_limits.py).
            LIVE_ORDER_RATE_PER_IP="1000000",
            LIVE_ORDER_BURST_PER_IP="1000000",
        )
        self.start()

    def start(self) -> None:
        self.server = Server(["serve"], self.environ, port=self.port)
        self.server.wait_ready()

    def kill(self) -> None:
        self.server.proc.kill()  # SIGKILL: no shutdown, no flushing, nothing
        self.server.proc.wait(timeout=10)
        self.server.stop()  # collects its output, closes its file

    def stop(self) -> None:
        self.server.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, show_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/shows/{show_id}"


@contextlib.contextmanager
def serve(*args: str, **settings: str) -> Iterator[Server]:
    """`live serve` with these LIVE_* settings (and the test admin token). Its clients all come
    from loopback addresses, so the per-address order and delivery-details limits are lifted
    unless a test sets them (see tests/web/test_buyer_limits.py for those limits)."""
    lifted = {
        name: "1000000"
        for name in (
            "LIVE_ORDER_RATE_PER_IP",
            "LIVE_ORDER_BURST_PER_IP",
            "LIVE_PROFILE_RATE_PER_IP",
            "LIVE_PROFILE_BURST_PER_IP",
        )
    }
    server = Server(["serve", *args], env(LIVE_ADMIN_TOKEN=TOKEN, **{**lifted, **settings}))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def open_from(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def read_all(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """Everything until the server closes (or b"" on a reset)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except (ConnectionResetError, BrokenPipeError):
        return b""


async def exchange(port: int, raw: bytes, source: str = "127.0.0.1", timeout: float = 5.0) -> bytes:
    """Send raw bytes, read the whole answer (the request should say Connection: close)."""
    reader, writer = await open_from(port, source)
    try:
        writer.write(raw)
        await writer.drain()
        return await read_all(reader, timeout)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


async def healthz(port: int, source: str = "127.0.0.1") -> int:
    raw = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    return status_of(await exchange(port, raw, source))
