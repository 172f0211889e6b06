"""X-Forwarded-For is believed only from the proxies in LIVE_TRUSTED_PROXIES (none by default).

Issue 10, finding 5: uvicorn trusts 127.0.0.1 by default, so from loopback (or through any
local proxy that passes the header on) a new X-Forwarded-For per try dodged the login limit and
the per-address socket cap. Real `live serve` processes over real TCP.
"""

from __future__ import annotations

import itertools
import re

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from live.config import settings_from_env
from live.errors import CloseCode
from tests.helpers import make_show_with_products
from tests.support.live_process import TOKEN, serve
from tests.support.live_server import receive

pytestmark = pytest.mark.slow

_addresses = (f"203.0.113.{i}" for i in itertools.count(1))


async def login_codes(base: str, tries: int, forwarded: list[str | None]) -> list[int]:
    """`tries` wrong logins, the i-th with X-Forwarded-For forwarded[i] (None: no header)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        page = (await client.get("/host")).text
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match, page[:300]
        codes = []
        for i in range(tries):
            headers = {"X-Forwarded-For": forwarded[i]} if forwarded[i] else {}
            r = await client.post(
                "/host/login",
                data={"csrf": match.group(1), "token": f"guess-{i}"},
                headers=headers,
            )
            codes.append(r.status_code)
        return codes


async def open_viewers(port: int, show_id: str, forwarded: list[str]) -> list[int | None]:
    """One viewer socket per X-Forwarded-For value: None if it got its snapshot, else the
    close code it got instead."""
    url = f"ws://127.0.0.1:{port}/ws/shows/{show_id}"
    sockets: list[ClientConnection] = []
    results: list[int | None] = []
    try:
        for address in forwarded:
            ws = await connect(url, additional_headers={"X-Forwarded-For": address})
            sockets.append(ws)
            try:
                message = await receive(ws)
                assert message["type"] == "snapshot", message
                results.append(None)
            except ConnectionClosed:  # refused: the close code is the answer
                results.append(ws.close_code)
    finally:
        for ws in sockets:
            await ws.close()
    return results


async def new_show(base: str) -> str:
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as http:
        show_id, _, _ = await make_show_with_products(http)
    return show_id


async def test_a_spoofed_forwarded_for_dodges_neither_the_login_limit_nor_the_socket_cap() -> None:
    with serve(LIVE_MAX_CONNECTIONS_PER_IP="3") as server:
        codes = await login_codes(server.base, 7, [next(_addresses) for _ in range(7)])
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes

        show_id = await new_show(server.base)
        results = await open_viewers(server.port, show_id, [next(_addresses) for _ in range(4)])
        assert results == [None, None, None, CloseCode.TOO_MANY], results


async def test_a_named_proxy_is_believed() -> None:
    with serve(LIVE_TRUSTED_PROXIES="127.0.0.0/8", LIVE_MAX_CONNECTIONS_PER_IP="3") as server:
        # Each client behind the proxy has its own login budget...
        codes = await login_codes(server.base, 7, [next(_addresses) for _ in range(7)])
        assert codes == [401] * 7, codes
        # ...and one client is still limited, whatever the proxy's address.
        one = next(_addresses)
        codes = await login_codes(server.base, 7, [one] * 7)
        assert codes[5:] == [429, 429], codes

        show_id = await new_show(server.base)
        distinct = await open_viewers(server.port, show_id, [next(_addresses) for _ in range(5)])
        assert distinct == [None] * 5, distinct
        one = next(_addresses)
        same = await open_viewers(server.port, show_id, [one] * 4)
        assert same == [None, None, None, CloseCode.TOO_MANY], same


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert settings_from_env({}).trusted_proxies == ()
    got = settings_from_env({"LIVE_TRUSTED_PROXIES": "10.0.0.2, 10.1.0.0/16,::1"})
    assert got.trusted_proxies == ("10.0.0.2", "10.1.0.0/16", "::1")
    for bad in ("*", "proxy.example.org", "10.0.0.0/99"):
        with pytest.raises(SystemExit, match="LIVE_TRUSTED_PROXIES"):
            settings_from_env({"LIVE_TRUSTED_PROXIES": bad})
