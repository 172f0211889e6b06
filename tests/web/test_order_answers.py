"""The same order mistake gets the same code over HTTP and on the socket: each bad order is sent
both ways, into the same situation, and the HTTP error code must be the socket's
`order_result` error (the table in docs/protocol.md, "The same mistake, the same answer").
On both backends."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from live.errors import CloseCode, NotFound, Unavailable
from live.ratelimit import RateLimiter
from tests.helpers import buyer, make_product, make_show

NO_AUTH = {"Authorization": ""}


@dataclass
class Attempt:
    """One order as both transports send it: the frame's fields are the HTTP body."""

    show_id: str
    body: dict[str, Any]
    buyer: str | None  # None: no token at all (no X-Buyer; a socket without ?buyer=)


def by_http(client: TestClient, attempt: Attempt) -> tuple[int, dict[str, Any]]:
    headers = dict(NO_AUTH)
    if attempt.buyer is not None:
        headers["X-Buyer"] = attempt.buyer
    r = client.post(f"/api/shows/{attempt.show_id}/orders", json=attempt.body, headers=headers)
    return r.status_code, dict(r.json())


def by_socket(client: TestClient, attempt: Attempt) -> dict[str, Any]:
    query = "" if attempt.buyer is None else f"?buyer={attempt.buyer}"
    with client.websocket_connect(f"/ws/shows/{attempt.show_id}{query}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "order", **attempt.body})
        while True:
            message = ws.receive_json()
            if message["type"] == "order_result":
                return dict(message)


def both_ways(client: TestClient, attempt: Attempt) -> tuple[int, str, str]:
    """(HTTP status, HTTP code, socket code) of one order sent both ways."""
    status, answer = by_http(client, attempt)
    result = by_socket(client, attempt)
    assert result["ok"] is False and result["key"] == attempt.body.get("key")
    assert isinstance(result["detail"], str) and result["detail"]
    assert "stock" not in answer or answer["stock"] == result["stock"]
    return status, answer["error"], result["error"]


def body(product_id: str, qty: int = 1, key: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "qty": qty, "key": key or secrets.token_hex(8)}


Setup = Callable[[TestClient], Attempt]


def malformed(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"], qty=0), buyer())


def bad_key(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"], key="short"), buyer())


def no_buyer_token(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"]), None)


def bad_buyer_token(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"]), "short")


def key_used_for_another_order(client: TestClient) -> Attempt:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    me, k = buyer(), secrets.token_hex(8)
    status, _ = by_http(client, Attempt(sid, body(p["id"], qty=1, key=k), me))
    assert status == 201
    return Attempt(sid, body(p["id"], qty=2, key=k), me)


def ordering_closed(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"], open_=False)["id"], body(p["id"]), buyer())


def unknown_product(client: TestClient) -> Attempt:
    p = make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body("pNoSuchProduct"), buyer())


def product_outside_the_lineup(client: TestClient) -> Attempt:
    p, other = make_product(client), make_product(client)
    return Attempt(make_show(client, p["id"])["id"], body(other["id"]), buyer())


def no_stock(client: TestClient) -> Attempt:
    p = make_product(client, stock=0)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"]), buyer())


def fewer_left_than_asked(client: TestClient) -> Attempt:
    p = make_product(client, stock=2)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"], qty=3), buyer())


def over_the_buyer_limit(client: TestClient) -> Attempt:
    p = make_product(client, stock=10, limit_per_buyer=1)
    return Attempt(make_show(client, p["id"])["id"], body(p["id"], qty=2), buyer())


def too_fast(client: TestClient) -> Attempt:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    # a limiter that never refills, so the test does not depend on timing
    client.app.state.service.buyer_limiter = RateLimiter(rate=0.0, burst=0.0)  # type: ignore[attr-defined]
    return Attempt(sid, body(p["id"]), buyer())


def read_only_and_too_fast(client: TestClient) -> Attempt:
    """`invalid` outranks `rate_limited` both ways: a read-only socket is never too fast."""
    attempt = too_fast(client)
    return Attempt(attempt.show_id, attempt.body, None)


CASES: dict[str, tuple[Setup, int, str]] = {
    "malformed": (malformed, 400, "invalid"),
    "bad key": (bad_key, 400, "invalid"),
    "no buyer token": (no_buyer_token, 400, "invalid"),
    "bad buyer token": (bad_buyer_token, 400, "invalid"),
    "key used for another order": (key_used_for_another_order, 400, "invalid"),
    "too fast": (too_fast, 429, "rate_limited"),
    "read-only and too fast": (read_only_and_too_fast, 400, "invalid"),
    "ordering closed": (ordering_closed, 409, "ordering_closed"),
    "unknown product": (unknown_product, 409, "not_on_sale"),
    "product outside the lineup": (product_outside_the_lineup, 409, "not_on_sale"),
    "no stock": (no_stock, 409, "sold_out"),
    "fewer left than asked": (fewer_left_than_asked, 409, "sold_out"),
    "over the buyer limit": (over_the_buyer_limit, 409, "limit_exceeded"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_bad_order_gets_the_same_code_both_ways(client: TestClient, case: str) -> None:
    setup, status, code = CASES[case]
    attempt = setup(client)
    assert both_ways(client, attempt) == (status, code, code)


@pytest.mark.parametrize(
    ("error", "status"),
    [(NotFound("no show sGone"), 404), (Unavailable("the store is not answering"), 503)],
)
def test_what_the_store_raises_is_answered_with_the_same_code_both_ways(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    """A show the store no longer has (it lost it after the socket opened), a store that does
    not answer: the socket's order_result carries the code of the HTTP answer."""
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    store = client.app.state.service.store  # type: ignore[attr-defined]

    async def place_order(request: Any, **_: Any) -> Any:
        raise error

    monkeypatch.setattr(store, "place_order", place_order)
    code = getattr(error, "code")  # noqa: B009
    assert both_ways(client, Attempt(sid, body(p["id"]), buyer())) == (status, code, code)


def test_an_unknown_show_is_not_found_both_ways(client: TestClient) -> None:
    """Over HTTP a 404; on the socket the connection itself is refused with its close code."""
    status, answer = by_http(client, Attempt("sNoSuchShow", body("pAny"), buyer()))
    assert (status, answer["error"]) == (404, "not_found")
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/ws/shows/sNoSuchShow?buyer={buyer()}") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == CloseCode.NOT_FOUND


def test_the_overlay_socket_refuses_orders_as_a_request_without_a_token(
    client: TestClient,
) -> None:
    p = make_product(client)
    show = make_show(client, p["id"])
    key = show["overlay_url"].split("key=")[1]
    order = body(p["id"])
    status, answer = by_http(client, Attempt(show["id"], order, None))
    with client.websocket_connect(
        f"/ws/shows/{show['id']}/overlay?key={key}&buyer={buyer()}"
    ) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "order", **order})
        result = ws.receive_json()
        while result["type"] != "order_result":
            result = ws.receive_json()
    assert (status, answer["error"], result["error"]) == (400, "invalid", "invalid")
    assert client.get(f"/api/products/{p['id']}").json()["stock"] == p["stock"]
