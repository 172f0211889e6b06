"""The console login's limits: counted per client address (an IPv6 client by its /64), never by
name or a forged header; uvicorn's proxy address; an unknown name costs and reads like a
wrong password."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

from starlette.testclient import TestClient

from live.app import create_app
from live.auth import hash_password, verify_password
from live.config import Settings
from tests.helpers import (
    csrf_of,
    log_in,
)


def test_the_login_limit_counts_the_address_not_the_name_or_forwarded_headers(
    anon: TestClient,
) -> None:
    codes = []
    for i in range(6):
        token = csrf_of(anon.get("/host").text)
        spoof = f"203.0.113.{i}"
        r = anon.post(
            "/host/login",
            data={"csrf": token, "name": f"user{i}", "password": f"guess {i}"},
            headers={"X-Forwarded-For": spoof, "X-Real-IP": spoof, "Forwarded": f"for={spoof}"},
            follow_redirects=False,
        )
        codes.append(r.status_code)
    assert codes == [401] * 5 + [429]


def test_the_login_limit_counts_an_ipv6_client_by_its_64_however_it_is_written(
    settings: Settings,
) -> None:
    """`2001:db8::1` and `2001:db8:0:0:ffff::2` are one /64 (the old key split the compressed
    form on colons and gave them two buckets); `2001:db8:0:1::1` is another subscriber."""
    app = create_app(settings)

    def attempt(address: str) -> int:
        with TestClient(app, client=(address, 50000)) as c:
            token = csrf_of(c.get("/host").text)
            r = c.post(
                "/host/login",
                data={"csrf": token, "name": "someone", "password": "a guess"},
                follow_redirects=False,
            )
            return r.status_code

    codes = [attempt("2001:db8::1") for _ in range(3)]
    codes += [attempt("2001:db8:0:0:ffff::2") for _ in range(3)]
    assert codes == [401] * 5 + [429]
    assert attempt("2001:db8:0:1::1") == 401


def test_uvicorn_takes_the_address_the_proxy_saw_not_the_one_the_client_wrote() -> None:
    """Behind a proxy on 127.0.0.1 that appends to X-Forwarded-For (nginx's default), a client's
    own X-Forwarded-For must not pick the address the login limit counts."""
    import asyncio

    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    async def call(client_host: str, xff: str) -> None:
        scope = {
            "type": "http",
            "scheme": "http",
            "client": (client_host, 5000),
            "headers": [(b"x-forwarded-for", xff.encode())],
        }
        await ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")(scope, None, None)  # type: ignore[arg-type]

    asyncio.run(call("127.0.0.1", "1.2.3.4, 198.51.100.7"))  # through the proxy
    asyncio.run(call("198.51.100.8", "1.2.3.4"))  # straight at the app (not the proxy)
    assert seen == ["198.51.100.7", "198.51.100.8"]


def test_an_unknown_name_costs_as_much_as_a_wrong_password() -> None:
    stored = hash_password("a long password")

    def cost(stored_hash: str | None) -> float:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            assert not verify_password("guess", stored_hash)
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    known, unknown = cost(stored), cost(None)
    assert known > 0.005  # scrypt really ran
    assert 0.5 < unknown / known < 2.0, (known, unknown)


def test_a_failed_login_reads_the_same_for_unknown_and_known_names(anon: TestClient) -> None:
    store = anon.app.state.service.store  # type: ignore[attr-defined]
    anon.portal.call(store.set_user, "mei", hash_password("a long password"))  # type: ignore[union-attr]
    known = log_in(anon, name="mei", password="wrong")
    unknown = log_in(anon, name="nobody-here", password="wrong")
    assert known.status_code == unknown.status_code == 401

    def page(text: str) -> str:
        return re.sub(r'value="[^"]+"', "", text)  # the CSRF token differs

    assert page(known.text) == page(unknown.text)
