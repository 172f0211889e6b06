"""A real `live serve` process for transport tests, and raw HTTP over TCP from a chosen
loopback address (127.0.0.2, 127.0.0.3…: Linux answers all of 127/8, so one test can be
several clients)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.test_cli import Server, env

TOKEN = "transport-test-token-0123456789"


@contextlib.contextmanager
def serve(*args: str, **settings: str) -> Iterator[Server]:
    """`live serve` with these LIVE_* settings (and the test admin token). Its clients all come
    from loopback addresses, so the per-address order and delivery-details limits are lifted
    unless a test sets them (see tests/test_buyer_limits.py for those limits)."""
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
