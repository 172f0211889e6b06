"""Review of the host console and its authentication, played as an attacker.

Sessions, CSRF (methods, bearer beside a session, uploads, logout, login), cookie flags,
revocation, redirects, /media, upload type confusion, HTML in console pages, delivery details on
public routes, the login limit and timing. The bugs it found are fixed; their tests stay.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from live.app import create_app
from live.auth import hash_password, verify_password
from live.config import Settings
from tests.api_helpers import buyer, make_product, make_show, order
from tests.conftest import ADMIN_TOKEN

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NO_BEARER = {"Authorization": ""}


# --- helpers ------------------------------------------------------------------------------


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def log_in(c: TestClient, **form: str) -> Any:
    token = csrf_of(c.get("/host", headers=NO_BEARER).text)
    return c.post(
        "/host/login", data={"csrf": token, **form}, headers=NO_BEARER, follow_redirects=False
    )


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


def png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def anon(client: TestClient) -> Iterator[TestClient]:
    """The same app, without the admin token in every request: a browser."""
    client.headers.pop("Authorization", None)
    yield client


@pytest.fixture
def show_id(client: TestClient) -> str:
    product = make_product(client)
    return str(make_show(client, product["id"])["id"])


# --- session fixation, login and logout CSRF ------------------------------------------------


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


# --- CSRF on the API --------------------------------------------------------------------------


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


# --- cookies -------------------------------------------------------------------------------


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


# --- revocation: what logout, a password reset and a new token can end --------------------------


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


# --- redirects, /media, uploads -----------------------------------------------------------------


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


def test_media_serves_only_uploaded_images(client: TestClient, settings: Settings) -> None:
    uploads = Path(settings.upload_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    # files that reached the upload dir by other means are never served
    (uploads / "page.html").write_text("<script>alert(1)</script>")
    (uploads / "pic.svg").write_text("<svg onload=alert(1)/>")
    (uploads / ".secret.png").write_bytes(png())
    (uploads.parent / "outside.png").write_bytes(png())
    for path in (
        "/media/page.html",
        "/media/pic.svg",
        "/media/.secret.png",
        "/media/..%2Foutside.png",
        "/media/%2E%2E%2Foutside.png",
        "/media/..%5Coutside.png",
        "/media/%2e%2e",
        "/media/outside.png%00.png",
        "/media/..%252Foutside.png",
        "/media/",
    ):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert b"<script" not in r.content and b"<svg" not in r.content


def test_uploads_are_served_under_a_fixed_image_type_whatever_they_hide(
    client: TestClient,
) -> None:
    html = b"<html><script>alert(document.cookie)</script></html>"
    for kind in ("image/svg+xml", "text/html", "image/gif", "application/octet-stream", ""):
        r = client.put("/api/uploads", content=png(), headers={"Content-Type": kind})
        assert r.status_code == 415, kind
    # containers that pass a byte check but carry HTML inside (polyglots): never decoded, so
    # never stored
    webp_body = b"WEBP" + html
    webp = b"RIFF" + len(webp_body).to_bytes(4, "little") + webp_body
    jpeg = b"\xff\xd8\xff\xe0" + html + b"\xff\xd9"
    for kind, body in (("image/webp", webp), ("IMAGE/JPEG; x=1", jpeg)):
        r = client.put("/api/uploads", content=body, headers={"Content-Type": kind})
        assert r.status_code == 415, r.text
    # what is stored is re-encoded pixels, served as WebP with nosniff and the strict CSP
    r = client.put("/api/uploads", content=png(), headers={"Content-Type": "Image/PNG; q=1"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert re.fullmatch(r"/media/[A-Za-z0-9_-]{16}\.webp", url)
    got = client.get(url, headers={"Accept": "text/html"})
    assert got.headers["content-type"] == "image/webp"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in got.headers["content-security-policy"]
    assert "attachment" not in got.headers.get("content-disposition", "")
    assert b"<script" not in got.content


# --- HTML in console pages ------------------------------------------------------------------------

XSS = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"


def test_console_pages_show_hostile_text_as_text(client: TestClient) -> None:
    product = make_product(client, name=XSS, producer=IMG, unit="<svg/onload=alert(2)>")
    r = client.post(
        "/api/shows", json={"title": f'"><i id=pwned>{IMG}', "product_ids": [product["id"]]}
    )
    sid = r.json()["id"]
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    client.post(f"/api/shows/{sid}/on_sale", json={"product_id": product["id"], "on_sale": True})
    me = buyer()
    r = client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": me, **NO_BEARER},
        json={"name": XSS, "phone": "13800000000", "address": IMG, "city": "</p><b>city"},
    )
    assert r.status_code == 200
    assert order(client, sid, product["id"], buyer_token=me).status_code == 201
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    pages = {
        path: client.get(path)
        for path in (
            "/host",
            f"/host/shows/{sid}",
            f"/host/shows/{sid}/packing",
            f"/host/shows/{sid}/producers",
            "/host/shows/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "/host/shows/nope%22%3E%3Cimg%20src%3Dx%3E/packing",
        )
    }
    for path, page in pages.items():
        text = page.text
        for raw in ("<script>alert", "<img src=x", "<svg/onload", "<b>city", "<i id=pwned>"):
            assert raw not in text, (path, raw)
    packing = pages[f"/host/shows/{sid}/packing"].text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in packing  # the buyer's name
    assert "&lt;img src=x onerror=alert(1)&gt;" in packing  # the address
    assert "&lt;/p&gt;&lt;b&gt;city" in packing
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[f"/host/shows/{sid}/producers"].text


# --- delivery details stay on host routes -----------------------------------------------------------


def test_delivery_details_never_reach_public_answers(client: TestClient) -> None:
    product = make_product(client)
    show = make_show(client, product["id"])
    sid = show["id"]
    parts = urlsplit(show["overlay_url"])
    overlay_path = f"{parts.path}?{parts.query}"
    me = buyer()
    secret_name, phone, address = "Wang Xiaoming", "13912345678", "88 Hidden Lane, flat 7"
    r = client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": me, **NO_BEARER},
        json={
            "name": secret_name,
            "phone": phone,
            "address": address,
            "city": "Hangzhou",
            "toasts": True,
        },
    )
    assert r.status_code == 200 and r.json()["saved"] is True
    with client.websocket_connect(f"/ws/shows/{sid}", headers=NO_BEARER) as viewer:
        snapshot = viewer.receive_text()
        placed = order(client, sid, product["id"], buyer_token=me)
        assert placed.status_code == 201
        seen = [viewer.receive_text()]
        while '"sale"' not in seen[-1]:
            seen.append(viewer.receive_text())
    public = {
        "order answer": placed.text,
        "snapshot": snapshot,
        "socket": "".join(seen),
        "state": client.get(f"/api/shows/{sid}/state", headers=NO_BEARER).text,
        "my-orders": client.get(
            f"/api/shows/{sid}/my-orders", headers={"X-Buyer": me, **NO_BEARER}
        ).text,
        "buy page": client.get(f"/s/{sid}", headers=NO_BEARER).text,
        "overlay": client.get(overlay_path, headers=NO_BEARER).text,
        # the answer echoes only what that request sent (normalized), never what was kept
        "profile again": client.put(
            "/api/buyer/profile",
            headers={"X-Buyer": me, **NO_BEARER},
            json={"name": "Li", "phone": "13800138000", "address": "1 Road", "city": "Hangzhou"},
        ).text,
    }
    for where, text in public.items():
        for secret in (secret_name, "Xiaoming", phone, address, "Hidden Lane"):
            assert secret not in text, (where, secret)
    assert '"name":"W"' in public["socket"]  # the documented toast: first character and city
    # and every host route holding them refuses without credentials
    for path in (
        f"/api/shows/{sid}/orders",
        f"/api/shows/{sid}/orders?format=csv",
        f"/api/shows/{sid}/packing.csv",
    ):
        r = client.get(path, headers=NO_BEARER)
        assert r.status_code == 401 and address not in r.text
    r = client.get(f"/host/shows/{sid}/packing", headers=NO_BEARER, follow_redirects=False)
    assert r.status_code == 303 and address not in r.text
    host_view = client.get(f"/api/shows/{sid}/orders").json()["orders"][0]["delivery"]
    assert host_view["address"] == "1 Road"  # the host does see them (the latest)


def test_answers_with_delivery_details_are_not_stored_by_the_browser(client: TestClient) -> None:
    product = make_product(client)
    sid = make_show(client, product["id"])["id"]
    me = buyer()
    client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": me, **NO_BEARER},
        json={"name": "Mei", "phone": "13800000000", "address": "1 Road", "city": "Hangzhou"},
    )
    assert order(client, sid, product["id"], buyer_token=me).status_code == 201
    answers = [
        client.get(f"/api/shows/{sid}/orders"),
        client.get(f"/api/shows/{sid}/orders?format=csv"),
        client.get(f"/api/shows/{sid}/packing.csv"),
    ]
    client.headers.pop("Authorization")
    assert log_in(client, token=ADMIN_TOKEN).status_code == 303
    answers.append(client.get(f"/host/shows/{sid}/packing"))
    for r in answers:
        assert r.status_code == 200 and "1 Road" in r.text
        assert "no-store" in r.headers.get("cache-control", ""), r.url


PUBLIC = {
    ("/api/shows/{id}/orders", "POST"),
    ("/api/shows/{id}/state", "GET"),
    ("/api/shows/{id}/my-orders", "GET"),
    ("/api/shows/{id}/qr.svg", "GET"),
    ("/api/buyer/profile", "PUT"),
}


def test_every_host_route_refuses_without_token_or_session(anon: TestClient) -> None:
    checked = 0
    for r in anon.app.routes:  # type: ignore[attr-defined]
        if not isinstance(r, Route) or not r.path.startswith(("/api/", "/host/")):
            continue
        for method in sorted((r.methods or set()) - {"HEAD"}):
            if (r.path, method) in PUBLIC or r.path in ("/host/login", "/host/logout"):
                continue
            path = r.path.replace("{id}", "s1")
            answer = anon.request(method, path, json={}, follow_redirects=False)
            expected = 303 if path.startswith("/host/") else 401
            assert answer.status_code == expected, (method, path, answer.status_code)
            checked += 1
    assert checked >= 20


# --- login limits and timing ---------------------------------------------------------------------


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
