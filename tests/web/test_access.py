"""Who may call what: near-miss admin tokens, wrong overlay keys, and every host route without
a token or a session."""

from __future__ import annotations

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.helpers import (
    NO_AUTH,
    assert_error,
    make_product,
    make_show,
)


def test_overlay_refuses_wrong_keys_of_any_shape(client: TestClient) -> None:
    show = make_show(client, make_product(client)["id"])
    good = show["overlay_key"]
    for key in (
        "",
        good[:-1],
        good + "x",
        good.upper() if good.upper() != good else good + "A",
        "%00",
        "\u00e9" * 10,
    ):
        r = client.get(f"/overlay/{show['id']}", params={"key": key}, headers=NO_AUTH)
        assert r.status_code == 403, key


@pytest.mark.parametrize(
    "auth",
    [
        f"bearer {'test-admin-token-0123456789'}x",
        "Bearer test-admin-token-012345678",
        "Bearer\ttest-admin-token-0123456789",
        "Token test-admin-token-0123456789",
        "Bearer test-admin-token-0123456789\u00e9".encode(),
        b"Bearer \xfftest-admin-token-0123456789",
    ],
)
def test_near_miss_admin_tokens_are_401(client: TestClient, auth: str | bytes) -> None:
    raw = auth if isinstance(auth, bytes) else auth.encode()
    r = client.get("/api/products", headers=[(b"authorization", raw)])
    assert_error(r, 401, "unauthorized")


PUBLIC = {
    ("/api/shows/{id}/orders", "POST"),
    ("/api/shows/{id}/state", "GET"),
    ("/api/shows/{id}/my-orders", "GET"),
    ("/api/shows/{id}/qr.svg", "GET"),
    ("/api/buyer/profile", "PUT"),
    # authenticity (issue 15): a buyer's PIN check and rating of a unit
    ("/api/verify/{serial}", "POST"),
    ("/api/verify/{serial}/feedback", "POST"),
    # holds (issue 14): a buyer's parcel and "I have paid"
    ("/api/shows/{id}/my-parcel", "GET"),
    ("/api/shows/{id}/my-parcel/paid", "POST"),
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
