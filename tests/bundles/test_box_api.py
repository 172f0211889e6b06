"""Gift boxes over HTTP (bundles, issue 13), on both backends: made from existing products with
`parts`, refused clearly when the parts are wrong, ordered like any product, and listed in the
statements and the packing list."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.testclient import TestClient

from tests.helpers import NO_AUTH, assert_error, buyer, make_product, make_show


def order(client: TestClient, show_id: str, product_id: str, qty: int = 1) -> Any:
    body = {"product_id": product_id, "qty": qty, "key": secrets.token_hex(8)}
    return client.post(
        f"/api/shows/{show_id}/orders", json=body, headers={"X-Buyer": buyer(), **NO_AUTH}
    )


def test_a_box_is_made_ordered_and_shown_with_what_its_parts_allow(client: TestClient) -> None:
    honey = make_product(
        client, name="Honey", price=6000, stock=0, producer="Wu family",
        options=[{"name": "250 g", "stock": 3}, {"name": "500 g", "stock": 4, "price": 8000}],
    )  # fmt: skip
    chili = make_product(client, name="Chili sauce", price=2000, stock=5, producer="Li family")
    jar = honey["options"][1]["id"]
    parts = [
        {"product_id": honey["id"], "option_id": jar, "qty": 1},
        {"product_id": chili["id"], "qty": 2},
    ]
    box = make_product(client, name="Gift box", price=9000, stock=0, parts=parts)
    assert box["stock"] == 2
    assert box["parts"] == [
        {
            "product_id": honey["id"],
            "option_id": jar,
            "qty": 1,
            "share": None,
            "name": "Honey 500 g",
        },
        {
            "product_id": chili["id"],
            "option_id": None,
            "qty": 2,
            "share": None,
            "name": "Chili sauce",
        },
    ]
    assert make_product(client)["parts"] is None
    show = make_show(client, box["id"], chili["id"])
    r = order(client, show["id"], box["id"])
    assert r.status_code == 201, r.text
    assert r.json()["stock"] == 1
    assert client.get(f"/api/products/{chili['id']}").json()["stock"] == 3
    r = order(client, show["id"], chili["id"], qty=2)  # the box's last chili
    assert r.status_code == 201
    state = client.get(f"/api/shows/{show['id']}/state", headers=NO_AUTH).json()
    assert [p["stock"] for p in state["products"]] == [0, 1]
    assert assert_error(order(client, show["id"], box["id"]), 409, "sold_out")["stock"] == 0
    r = client.patch(f"/api/products/{box['id']}", json={"stock": 9})
    assert_error(r, 409, "conflict")


def test_bad_parts_are_refused_and_change_nothing(client: TestClient) -> None:
    chili = make_product(client)
    box = make_product(client, name="Box", stock=0, parts=[{"product_id": chili["id"]}])
    before = client.get("/api/products").json()
    for parts in (
        [],
        [{"product_id": "nope"}],
        [{"product_id": box["id"]}],
        [{"product_id": chili["id"], "qty": 0}],
        [{"product_id": chili["id"]}] * 11,
        [{"product_id": chili["id"], "share": 50}],
    ):
        r = client.post("/api/products", json={"name": "B", "price": 1, "stock": 0, "parts": parts})
        assert_error(r, 400, "invalid")
    r = client.post(
        "/api/products",
        json={"name": "B", "price": 1, "stock": 3, "parts": [{"product_id": chili["id"]}]},
    )
    assert_error(r, 400, "invalid")
    assert client.get("/api/products").json() == before


def test_a_box_parts_change_only_while_none_of_it_is_sold(client: TestClient) -> None:
    chili = make_product(client, name="Chili sauce", stock=9)
    tea = make_product(client, name="Green tea", stock=4)
    box = make_product(client, name="Box", stock=0, parts=[{"product_id": chili["id"]}])
    path = f"/api/products/{box['id']}/parts"
    r = client.put(path, json={"parts": [{"product_id": tea["id"], "qty": 2}]})
    assert r.status_code == 200, r.text
    assert (r.json()["stock"], [p["name"] for p in r.json()["parts"]]) == (2, ["Green tea"])
    assert_error(client.put(path, json={"parts": [{"product_id": box["id"]}]}), 400, "invalid")
    plain = f"/api/products/{chili['id']}/parts"
    assert_error(client.put(plain, json={"parts": [{"product_id": tea["id"]}]}), 409, "conflict")
    show = make_show(client, box["id"])
    assert order(client, show["id"], box["id"]).status_code == 201
    assert client.get(f"/api/products/{tea['id']}").json()["stock"] == 2
    r = client.put(path, json={"parts": [{"product_id": chili["id"]}]})
    assert_error(r, 409, "conflict")
    assert [p["product_id"] for p in client.get(f"/api/products/{box['id']}").json()["parts"]] == [
        tea["id"]
    ]
