"""Console sessions against a store that forgets, and what a session cookie gives away.

Issue 10, findings 7 and 9: a missing session generation must mean "no valid session" (a Redis
restart without persistence must not revive a logged-out cookie), generations start at a random
value, the cookie carries no plain hash of the admin token, and a short admin token is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
from typing import Any

import pytest
import redis.asyncio as aioredis
from starlette.testclient import TestClient

from live.app import create_app
from live.auth import hash_password, token_tag
from live.backends import Store
from live.config import MIN_ADMIN_TOKEN, Settings, settings_from_env
from tests.conftest import ADMIN_TOKEN
from tests.helpers import log_in
from tests.support.live_process import LIVE, env


def cookie_data(client: TestClient) -> dict[str, Any]:
    """The session cookie's readable part: it is signed, not encrypted."""
    raw = client.cookies["live_session"]
    payload = raw.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(data, dict)
    return data


async def forget_everything(settings: Settings) -> None:
    """What a Redis restart without persistence does to this service's keys."""
    if settings.redis_url is None:
        return  # the memory store: the next app below starts with an empty one
    r = aioredis.from_url(settings.redis_url)
    try:
        keys = [k async for k in r.scan_iter(match=f"{settings.redis_prefix}:*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


def logged_in(settings: Settings, cookie: str) -> bool:
    """A fresh app (a restarted process, same LIVE_SECRET_KEY) given just this cookie."""
    with TestClient(create_app(settings)) as other:
        other.cookies.set("live_session", cookie)
        api = other.get("/api/products")
        page = other.get("/host/shows/s1", follow_redirects=False)
        assert (api.status_code == 200) == (page.status_code != 303), (api.text, page.status_code)
        return api.status_code == 200


async def test_a_missing_generation_is_no_session_and_generations_are_random(
    store: Store,
) -> None:
    assert await store.session_epoch("token:admin") is None
    first = await store.session_epoch("token:admin", start=True)
    assert first is not None and first > 2**32  # not 0, 1, 2… that a store reaches again
    assert await store.session_epoch("token:admin", start=True) == first  # kept, not remade
    assert await store.session_epoch("token:admin") == first
    ended = await store.end_sessions("token:admin")
    assert ended != first and await store.session_epoch("token:admin") == ended
    other = await store.session_epoch("account:mei", start=True)
    assert other not in (first, ended)
    await store.set_user("mei", hash_password("a long password"))
    assert await store.session_epoch("account:mei") not in (None, other)


async def test_logins_at_once_agree_on_one_generation(store: Store) -> None:
    epochs = await asyncio.gather(
        *(store.session_epoch("account:busy", start=True) for _ in range(50))
    )
    assert len(set(epochs)) == 1 and epochs[0] is not None


async def test_a_logged_out_cookie_stays_dead_after_the_store_forgets(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as anon:
        assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
        copied = anon.cookies["live_session"]
        assert anon.get("/api/products").status_code == 200
        csrf = cookie_data(anon)["csrf"]
        assert anon.post("/host/logout", data={"csrf": csrf}).status_code == 200
        assert anon.get("/api/products").status_code == 401
    assert not logged_in(settings, copied)
    await forget_everything(settings)
    # Before: a forgotten generation read as 0, the cookie's own: the session came back.
    assert not logged_in(settings, copied)


async def test_a_live_session_ends_when_the_store_forgets_its_generation(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as anon:
        assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
        cookie = anon.cookies["live_session"]
        epoch = cookie_data(anon)["epoch"]
        assert isinstance(epoch, int) and epoch > 2**32
    if settings.redis_url:
        assert logged_in(settings, cookie)  # Redis kept it: still valid
    await forget_everything(settings)
    assert not logged_in(settings, cookie)
    with TestClient(create_app(settings)) as again:
        assert log_in(again, token=ADMIN_TOKEN).status_code == 303
        assert again.get("/api/products").status_code == 200
        assert cookie_data(again)["epoch"] != epoch


def test_cookies_carry_no_plain_hash_of_the_admin_token(anon_client: TestClient) -> None:
    plain = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    store = anon_client.app.state.service.store  # type: ignore[attr-defined]
    anon_client.portal.call(store.set_user, "mei", hash_password("a long password"))  # type: ignore[union-attr]
    assert log_in(anon_client, name="mei", password="a long password").status_code == 303
    account = cookie_data(anon_client)
    assert account["host"] == "mei" and "tag" not in account
    assert plain[:8] not in json.dumps(account)

    anon_client.cookies.clear()
    assert log_in(anon_client, token=ADMIN_TOKEN).status_code == 303
    token_session = cookie_data(anon_client)
    assert token_session["host"] == "admin" and token_session["tag"]
    assert plain[:8] not in json.dumps(token_session)  # keyed with LIVE_SECRET_KEY instead
    assert anon_client.get("/api/products").status_code == 200


def test_the_fingerprint_moves_with_the_admin_token_and_the_secret_key() -> None:
    base = Settings(admin_token=ADMIN_TOKEN, secret_key="k1")
    tag = token_tag(base)
    assert tag == token_tag(Settings(admin_token=ADMIN_TOKEN, secret_key="k1"))
    assert tag != token_tag(base.with_overrides(admin_token=ADMIN_TOKEN + "x"))
    assert tag != token_tag(base.with_overrides(secret_key="k2"))
    assert tag not in hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()


@pytest.fixture
def anon_client(client: TestClient) -> TestClient:
    client.headers.pop("Authorization", None)
    return client


def test_the_test_token_is_long_enough() -> None:
    assert len(ADMIN_TOKEN) >= MIN_ADMIN_TOKEN


def test_a_short_admin_token_is_refused_with_a_clear_message() -> None:
    with pytest.raises(SystemExit) as refused:
        settings_from_env({"LIVE_ADMIN_TOKEN": "x" * (MIN_ADMIN_TOKEN - 1)})
    assert f"at least {MIN_ADMIN_TOKEN}" in str(refused.value)
    assert settings_from_env({"LIVE_ADMIN_TOKEN": "x" * MIN_ADMIN_TOKEN}).admin_token
    made = settings_from_env({})
    assert made.admin_token_generated and len(made.admin_token) >= MIN_ADMIN_TOKEN

    r = subprocess.run(
        [LIVE, "serve", "--port", "1"],
        env=env(LIVE_ADMIN_TOKEN="hunter2"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert "LIVE_ADMIN_TOKEN is 7 characters: use at least 24" in r.stderr
    assert "hunter2" not in r.stderr + r.stdout
