"""The console's sessions against an attacker: fixation, CSRF on forms and the API, a bearer
beside a session, cookie flags, revocation (logout, password reset, a new admin token), the
host socket's origin and session, and no open redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from live.app import create_app
from live.auth import hash_password
from live.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.helpers import (
    csrf_of,
    log_in,
    make_product,
    make_show,
    png,
)

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def session_cookie(c: TestClient) -> str:
    value = c.cookies.get("live_session")
    assert value, "no session cookie"
    return str(value)


def use_cookie(c: TestClient, value: str | None) -> None:
    c.cookies.clear()
    if value is not None:
        c.cookies.set("live_session", value)


def host_socket_closes(c: TestClient, show_id: str, **headers: str) -> int | None:
    """The close code the host socket answers with, or None when it sent a snapshot."""
    try:
        with c.websocket_connect(f"/ws/shows/{show_id}/host", headers=headers) as ws:
            first = ws.receive_json()
            assert first["type"] == "snapshot"
            return None
    except WebSocketDisconnect as exc:
        return int(exc.code)


@pytest.fixture
def show_id(client: TestClient) -> str:
    product = make_product(client)
    return str(make_show(client, product["id"])["id"])


def test_login_issues_a_new_cookie_and_csrf_token_and_the_old_cookie_grants_nothing(
    anon: TestClient,
) -> None:
    page = anon.get("/host")
    planted, planted_csrf = session_cookie(anon), csrf_of(page.text)
    r = anon.post(
        "/host/login", data={"csrf": planted_csrf, "token": ADMIN_TOKEN}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/host"
    fresh = session_cookie(anon)
    assert fresh != planted
    fresh_csrf = csrf_of(anon.get("/host").text)
    assert fresh_csrf != planted_csrf  # the token an attacker saw before login is dead
    body = {"name": "Tea", "price": 100, "stock": 1}
    assert (
        anon.post("/api/products", json=body, headers={"X-CSRF-Token": planted_csrf}).status_code
        == 403
    )
    use_cookie(anon, planted)  # whoever planted the pre-login cookie is still anonymous
    assert anon.get("/api/products").status_code == 401
    assert anon.get("/host/shows/x", follow_redirects=False).status_code == 303


def test_login_and_logout_forms_need_the_sessions_csrf_token(anon: TestClient) -> None:
    # Login CSRF: a cross-site form has no session token to send.
    anon.get("/host")
    for data in ({"token": ADMIN_TOKEN}, {"token": ADMIN_TOKEN, "csrf": "guess"}):
        assert anon.post("/host/login", data=data, follow_redirects=False).status_code == 403
    anon.cookies.clear()  # no cookie at all: no token can match
    assert anon.post("/host/login", data={"token": ADMIN_TOKEN, "csrf": ""}).status_code == 403
    assert anon.get("/api/products").status_code == 401
    # Logout CSRF: without the token the session survives.
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    token = csrf_of(anon.get("/host").text)
    for data in ({}, {"csrf": "forged"}):
        anon.post("/host/logout", data=data, follow_redirects=False)
        assert anon.get("/api/products").status_code == 200
    anon.post("/host/logout", data={"csrf": token}, follow_redirects=False)
    assert anon.get("/api/products").status_code == 401
    # GET/HEAD never log in or out
    assert anon.get("/host/logout", follow_redirects=False).status_code == 405
    assert anon.head("/host/login").status_code == 405


def test_session_writes_need_the_csrf_header_whatever_the_method(
    client: TestClient, show_id: str
) -> None:
    product = make_product(client)
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    token = csrf_of(client.get("/host").text)
    writes: list[tuple[str, str, Any]] = [
        ("POST", "/api/products", {"name": "Tea", "price": 1, "stock": 1}),
        ("PATCH", f"/api/products/{product['id']}", {"stock": 0}),
        ("POST", "/api/shows", {"title": "x", "product_ids": []}),
        ("POST", f"/api/shows/{show_id}/ordering", {"open": False}),
        ("POST", f"/api/shows/{show_id}/overlay_key", None),
        ("POST", f"/api/shows/{show_id}/end", None),
    ]
    for method, path, body in writes:
        # no header, a wrong one, a form field instead of the header, a wrong bearer beside it
        for headers in (
            {},
            {"X-CSRF-Token": "x" + token},
            {"X-CSRF-Token": ""},
            {"Authorization": "Bearer wrong", "X-CSRF-Token": "nope"},
        ):
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (method, path, headers, r.text)
        for trick in ("HEAD", "OPTIONS"):  # a safe method never reaches a write handler
            assert client.request(trick, path).status_code in (200, 405)
    # nothing above changed anything
    assert client.get(f"/api/products/{product['id']}").json()["stock"] == 10
    show = client.get(f"/api/shows/{show_id}").json()
    assert show["ordering_open"] is True
    # uploads too
    r = client.put("/api/uploads", content=png(), headers={"Content-Type": "image/png"})
    assert r.status_code == 403
    r = client.put(
        "/api/uploads", content=png(), headers={"Content-Type": "image/png", "X-CSRF-Token": token}
    )
    assert r.status_code == 201


def test_a_bearer_token_beside_a_session_neither_weakens_nor_lends_anything(
    anon: TestClient,
) -> None:
    body = {"name": "Tea", "price": 1, "stock": 1}
    # a wrong bearer without a session: 401 with WWW-Authenticate
    r = anon.post("/api/products", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    # a wrong (or oddly cased / basic) token beside a session is the session: CSRF still needed
    for value in ("Bearer wrong", f"Basic {ADMIN_TOKEN}", f"Bearer{ADMIN_TOKEN}"):
        assert (
            anon.post("/api/products", json=body, headers={"Authorization": value}).status_code
            == 403
        )
    # the right token works alone, as documented for scripts
    ok = anon.post("/api/products", json=body, headers={"Authorization": f"bearer  {ADMIN_TOKEN}"})
    assert ok.status_code == 201


def test_session_cookie_flags(anon: TestClient, settings: Settings) -> None:
    r = log_in(anon, token=ADMIN_TOKEN)
    flags = [p.strip().lower() for p in r.headers["set-cookie"].split(";")]
    assert flags[0].startswith("live_session=")
    assert {"httponly", "samesite=lax", "path=/", "max-age=43200"} <= set(flags)
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    behind_tls = create_app(settings.with_overrides(public_url="https://live.example.org"))
    with TestClient(behind_tls) as tls:
        cookie = tls.get("/host").headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie


def test_a_cookie_copied_before_logout_is_dead_after_it(anon: TestClient) -> None:
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    stolen = session_cookie(anon)
    token = csrf_of(anon.get("/host").text)
    anon.post("/host/logout", data={"csrf": token}, follow_redirects=False)
    assert anon.get("/api/products").status_code == 401  # the browser is logged out
    use_cookie(anon, stolen)
    assert anon.get("/api/products").status_code == 401
    body = {"name": "Tea", "price": 1, "stock": 1}
    assert anon.post("/api/products", json=body, headers={"X-CSRF-Token": token}).status_code in (
        401,
        403,
    )


def test_the_host_socket_refuses_a_cookie_replayed_after_logout(
    client: TestClient, show_id: str
) -> None:
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    stolen = session_cookie(client)
    assert host_socket_closes(client, show_id) is None  # logged in: the socket opens
    client.post("/host/logout", data={"csrf": csrf_of(client.get("/host").text)})
    assert host_socket_closes(client, show_id) == 4003  # logged out browser: refused
    use_cookie(client, stolen)
    assert host_socket_closes(client, show_id) == 4003


def test_resetting_a_hosts_password_ends_that_hosts_sessions(anon: TestClient) -> None:
    store = anon.app.state.service.store  # type: ignore[attr-defined]
    anon.portal.call(store.set_user, "mei", hash_password("old password 123"))  # type: ignore[union-attr]
    assert log_in(anon, name="mei", password="old password 123").status_code == 303
    assert anon.get("/api/products").status_code == 200
    # mei's laptop is stolen: the operator resets her password
    anon.portal.call(store.set_user, "mei", hash_password("new password 456"))  # type: ignore[union-attr]
    assert anon.get("/api/products").status_code == 401


def test_changing_the_admin_token_ends_sessions_made_with_the_old_one(
    anon: TestClient, settings: Settings
) -> None:
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    stolen = session_cookie(anon)
    rotated = create_app(settings.with_overrides(admin_token="a-brand-new-admin-token-987654"))
    with TestClient(rotated) as after:
        assert after.get("/api/products", headers=BEARER).status_code == 401  # old token dead
        use_cookie(after, stolen)
        assert after.get("/api/products").status_code == 401


def test_the_host_socket_needs_a_same_origin_session(client: TestClient, show_id: str) -> None:
    # the admin token is no key to the console's socket (documented), nor a forged cookie
    assert host_socket_closes(client, show_id) == 4003
    client.cookies.set("live_session", "eyJob3N0IjogImFkbWluIn0=.forged.sig")
    assert host_socket_closes(client, show_id) == 4003
    client.cookies.clear()
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    assert host_socket_closes(client, show_id, Origin="https://evil.example") == 4003
    assert host_socket_closes(client, show_id, Origin="null") == 4003
    assert host_socket_closes(client, show_id, Origin="http://testserver") is None


def test_no_open_redirects(anon: TestClient) -> None:
    token = csrf_of(anon.get("/host").text)
    r = anon.post(
        "/host/login?next=https://evil.example/",
        data={"csrf": token, "token": ADMIN_TOKEN, "next": "//evil.example/"},
        headers={"Referer": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/host"
    for path in (
        "/b/%2F%2Fevil.example",
        "/b/evil.example%2F",
        "/b/%5C%5Cevil.example",
        "/console?next=//evil.example",
        "/host/shows/x/",
        "/%2F%2Fevil.example/",
        "/%5Cevil.example/host/",
    ):
        r = anon.get(path, headers={"Host": "testserver"}, follow_redirects=False)
        where = r.headers.get("location")
        if where is not None:  # a browser resolves it against this page: this service only
            target = urlsplit(urljoin(f"http://testserver{path}", where))
            # relative (same host), or the service's own public URL (trailing-slash redirects)
            own = {("http", "testserver"), ("http", "127.0.0.1:8000")}
            assert (target.scheme, target.netloc) in own, (path, where)
            assert "\\" not in where and not where.startswith("//"), (path, where)
