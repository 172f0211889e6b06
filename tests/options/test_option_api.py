"""Options over HTTP (CONTRACT.md "Options"), on both backends: creating a product with
options, ordering one, per-option stock, editing the list, and the exports naming the option."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

from starlette.testclient import TestClient

from tests.helpers import NO_AUTH, assert_error, buyer, make_product, make_show

SHOES = [
    {"name": "37", "stock": 3},
    {"name": "38", "stock": 2, "price": 16800},
    {"name": "39", "stock": 0, "unit": "pair", "weight_g": 700},
]


def order(
    client: TestClient, show_id: str, product_id: str, option_id: str | None, **kw: Any
) -> Any:
    token = kw.pop("token", None) or buyer()
    body: dict[str, Any] = {"product_id": product_id, "qty": 1, "key": secrets.token_hex(8)}
    if option_id is not None:
        body["option_id"] = option_id
    body.update(kw)
    return client.post(
        f"/api/shows/{show_id}/orders", json=body, headers={"X-Buyer": token, **NO_AUTH}
    )


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_a_product_with_options_answers_them_everywhere(client: TestClient) -> None:
    p = make_product(client, name="Shoes", price=15800, stock=0, options=SHOES)
    assert p["stock"] == 5 and p["sold"] == 0
    assert [(o["name"], o["stock"], o["sold"], o["price"]) for o in p["options"]] == [
        ("37", 3, 0, None),
        ("38", 2, 0, 16800),
        ("39", 0, 0, None),
    ]
    assert (p["options"][2]["unit"], p["options"][2]["weight_g"]) == ("pair", 700)
    assert client.get(f"/api/products/{p['id']}").json() == p
    plain = make_product(client)
    assert plain["options"] is None
    show = make_show(client, p["id"])
    state = client.get(f"/api/shows/{show['id']}/state", headers=NO_AUTH).json()
    assert [o["id"] for o in state["products"][0]["options"]] == [o["id"] for o in p["options"]]


def test_bad_options_are_refused_and_change_nothing(client: TestClient) -> None:
    before = client.get("/api/products").json()
    for options in (
        [],
        [{"name": "37", "stock": 1}, {"name": " 37", "stock": 1}],
        [{"name": "37", "stock": -1}],
        [{"name": "", "stock": 1}],
        [{"name": "37", "stock": 1, "id": "v1"}],
        [{"name": str(n), "stock": 1} for n in range(51)],
        [{"name": "37", "stock": 1, "colour": "red"}],
    ):
        r = client.post(
            "/api/products", json={"name": "x", "price": 1, "stock": 0, "options": options}
        )
        assert_error(r, 400, "invalid")
    r = client.post("/api/products", json={"name": "x", "price": 1, "stock": 4, "options": SHOES})
    assert assert_error(r, 400, "invalid")["field"] == "stock"
    assert client.get("/api/products").json() == before


def test_orders_name_an_option(client: TestClient) -> None:
    p = make_product(client, name="Shoes", price=15800, stock=0, options=SHOES, limit_per_buyer=2)
    plain = make_product(client, stock=5)
    show = make_show(client, p["id"], plain["id"])
    s37, s38, s39 = (o["id"] for o in p["options"])
    r = order(client, show["id"], p["id"], s38)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["option_id"], got["option_name"], got["price"], got["stock"]) == (
        s38,
        "38",
        16800,
        1,
    )
    for option_id in (None, "nosuchoption"):
        assert_error(order(client, show["id"], p["id"], option_id), 400, "invalid")
    assert_error(order(client, show["id"], plain["id"], s37), 400, "invalid")
    refused = assert_error(order(client, show["id"], p["id"], s39), 409, "sold_out")
    assert refused["stock"] == 0
    assert client.get(f"/api/products/{p['id']}").json()["stock"] == 4
    # the limit counts across options
    token = buyer()
    assert order(client, show["id"], p["id"], s37, token=token, qty=1).status_code == 201
    assert order(client, show["id"], p["id"], s38, token=token, qty=1).status_code == 201
    assert_error(order(client, show["id"], p["id"], s37, token=token), 409, "limit_exceeded")


def test_option_stock_and_the_list_of_options_are_edited(client: TestClient) -> None:
    p = make_product(client, name="Shoes", price=15800, stock=0, options=SHOES)
    pid = p["id"]
    s37, s38, s39 = (o["id"] for o in p["options"])
    r = client.patch(f"/api/products/{pid}/options/{s39}", json={"stock_delta": 10})
    assert r.status_code == 200, r.text
    assert [o["stock"] for o in r.json()["options"]] == [3, 2, 10] and r.json()["stock"] == 15
    r = client.patch(f"/api/products/{pid}/options/{s37}", json={"stock": 1})
    assert r.json()["stock"] == 13
    assert_error(client.patch(f"/api/products/{pid}/options/{s37}", json={}), 400, "invalid")
    assert_error(
        client.patch(f"/api/products/{pid}/options/{s37}", json={"stock": 1, "stock_delta": 1}),
        400,
        "invalid",
    )
    assert_error(
        client.patch(f"/api/products/{pid}/options/{s37}", json={"stock_delta": -2}),
        409,
        "conflict",
    )
    assert_error(
        client.patch(f"/api/products/{pid}/options/nope", json={"stock": 1}), 404, "not_found"
    )
    assert_error(client.patch(f"/api/products/{pid}", json={"stock": 1}), 409, "conflict")
    r = client.patch(f"/api/products/{pid}/options/{s37}", json={"stock": 1}, headers=NO_AUTH)
    assert r.status_code == 401
    # sell one 38, then rename, reorder, add and remove
    show = make_show(client, pid)
    assert order(client, show["id"], pid, s38).status_code == 201
    r = client.put(
        f"/api/products/{pid}/options",
        json={
            "options": [
                {"id": s39, "name": "39"},
                {"id": s38, "name": "38 wide", "price": 17800},
                {"name": "40", "stock": 4},
            ]
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()["options"]
    assert [(o["name"], o["stock"], o["sold"], o["price"]) for o in got] == [
        ("39", 10, 0, None),
        ("38 wide", 1, 1, 17800),
        ("40", 4, 0, None),
    ]
    assert r.json()["stock"] == 15
    # the sold option can't be removed (only emptied)
    r = client.put(f"/api/products/{pid}/options", json={"options": [{"id": s39, "name": "39"}]})
    assert_error(r, 409, "conflict")
    assert client.get(f"/api/products/{pid}").json()["options"] == got
    # the order keeps the name the option had
    orders = client.get(f"/api/shows/{show['id']}/orders").json()["orders"]
    assert [(o["option_id"], o["option_name"]) for o in orders] == [(s38, "38")]


def test_exports_name_the_option(client: TestClient) -> None:
    honey = [
        {"name": "500 g", "stock": 5, "unit": "500 g", "weight_g": 520},
        {"name": "1 kg", "stock": 5, "price": 9000, "unit": "1 kg", "weight_g": 1040},
    ]
    p = make_product(client, name="Wild honey", price=5000, stock=0, options=honey, producer="Li")
    show = make_show(client, p["id"])
    half, kilo = (o["id"] for o in p["options"])
    token = buyer()
    for option_id in (half, kilo, kilo):
        r = order(client, show["id"], p["id"], option_id, token=token)
        assert r.status_code == 201, r.text
        assert (
            client.post(f"/api/orders/{r.json()['id']}/status", json={"status": "paid"}).status_code
            == 200
        )
    rows = csv_rows(client.get(f"/api/shows/{show['id']}/orders?format=csv").text)
    assert [(r["option_id"], r["option_name"]) for r in rows] == [
        (half, "500 g"),
        (kilo, "1 kg"),
        (kilo, "1 kg"),
    ]
    packing = csv_rows(client.get(f"/api/shows/{show['id']}/packing.csv").text)
    assert packing[0]["items"] == "Wild honey · 500 g × 1; Wild honey · 1 kg × 2"
    assert packing[0]["weight_kg"] == "2.6"
    statements = csv_rows(client.get(f"/api/shows/{show['id']}/producers.csv").text)
    assert [(r["product"], r["option_id"], r["to_bring"], r["owed"]) for r in statements] == [
        ("Wild honey · 500 g", half, "1", "50.00"),
        ("Wild honey · 1 kg", kilo, "2", "180.00"),
    ]
