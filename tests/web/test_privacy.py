"""What public answers never carry: buyer tokens, order keys, the overlay key, delivery details;
and answers holding delivery details are never stored by the browser."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.helpers import (
    NO_AUTH,
    assert_error,
    buyer,
    log_in,
    make_product,
    make_show,
    post_order,
)


def test_public_routes_never_show_buyer_tokens_keys_or_the_overlay_key(client: TestClient) -> None:
    p = make_product(client, stock=10)
    show = make_show(client, p["id"])
    token, key = "secretbuyer" + secrets.token_hex(8), "secretkey" + secrets.token_hex(4)
    assert post_order(client, show["id"], p["id"], key=key, buyer_token=token).status_code == 201
    # an invalid key reuse is refused without echoing the first order
    reuse = post_order(client, show["id"], p["id"], qty=2, key=key, buyer_token=token)
    assert_error(reuse, 400, "invalid")
    for path in (f"/api/shows/{show['id']}/state", f"/s/{show['id']}"):
        r = client.get(path, headers=NO_AUTH)
        assert r.status_code == 200
        assert token not in r.text and key not in r.text
        assert show["overlay_key"] not in r.text
    r = client.get(f"/overlay/{show['id']}?key={show['overlay_key']}", headers=NO_AUTH)
    assert r.status_code == 200 and token not in r.text
    # Another buyer reusing the key is a new order and learns nothing of the first buyer.
    other = post_order(client, show["id"], p["id"], key=key)
    assert other.status_code == 201 and token not in other.text


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
        headers={"X-Buyer": me, **NO_AUTH},
        json={
            "name": secret_name,
            "phone": phone,
            "address": address,
            "city": "Hangzhou",
            "toasts": True,
        },
    )
    assert r.status_code == 200 and r.json()["saved"] is True
    with client.websocket_connect(f"/ws/shows/{sid}", headers=NO_AUTH) as viewer:
        snapshot = viewer.receive_text()
        placed = post_order(client, sid, product["id"], buyer_token=me)
        assert placed.status_code == 201
        seen = [viewer.receive_text()]
        while '"sale"' not in seen[-1]:
            seen.append(viewer.receive_text())
    public = {
        "order answer": placed.text,
        "snapshot": snapshot,
        "socket": "".join(seen),
        "state": client.get(f"/api/shows/{sid}/state", headers=NO_AUTH).text,
        "my-orders": client.get(
            f"/api/shows/{sid}/my-orders", headers={"X-Buyer": me, **NO_AUTH}
        ).text,
        "buy page": client.get(f"/s/{sid}", headers=NO_AUTH).text,
        "overlay": client.get(overlay_path, headers=NO_AUTH).text,
        # the answer echoes only what that request sent (normalized), never what was kept
        "profile again": client.put(
            "/api/buyer/profile",
            headers={"X-Buyer": me, **NO_AUTH},
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
        r = client.get(path, headers=NO_AUTH)
        assert r.status_code == 401 and address not in r.text
    r = client.get(f"/host/shows/{sid}/packing", headers=NO_AUTH, follow_redirects=False)
    assert r.status_code == 303 and address not in r.text
    host_view = client.get(f"/api/shows/{sid}/orders").json()["orders"][0]["delivery"]
    assert host_view["address"] == "1 Road"  # the host does see them (the latest)


def test_answers_with_delivery_details_are_not_stored_by_the_browser(client: TestClient) -> None:
    product = make_product(client)
    sid = make_show(client, product["id"])["id"]
    me = buyer()
    client.put(
        "/api/buyer/profile",
        headers={"X-Buyer": me, **NO_AUTH},
        json={"name": "Mei", "phone": "13800000000", "address": "1 Road", "city": "Hangzhou"},
    )
    assert post_order(client, sid, product["id"], buyer_token=me).status_code == 201
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
