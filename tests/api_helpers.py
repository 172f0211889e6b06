"""Thin helpers over the host API for tests (through HTTP, never the store)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.testclient import TestClient


def make_product(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Chili sauce", "price": 2800, "stock": 10, **fields}
    r = client.post("/api/products", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_show(client: TestClient, *product_ids: str, open_: bool = True) -> dict[str, Any]:
    r = client.post("/api/shows", json={"title": "Harvest night", "product_ids": list(product_ids)})
    assert r.status_code == 201, r.text
    show = dict(r.json())
    if open_:
        assert (
            client.post(f"/api/shows/{show['id']}/ordering", json={"open": True}).status_code == 200
        )
        for pid in product_ids:
            r = client.post(
                f"/api/shows/{show['id']}/on_sale", json={"product_id": pid, "on_sale": True}
            )
            assert r.status_code == 200, r.text
    return show


def buyer() -> str:
    return "buyer" + secrets.token_hex(8)


def order(
    client: TestClient,
    show_id: str,
    product_id: str,
    *,
    qty: int = 1,
    key: str | None = None,
    buyer_token: str | None = None,
) -> Any:
    return client.post(
        f"/api/shows/{show_id}/orders",
        json={"product_id": product_id, "qty": qty, "key": key or secrets.token_hex(8)},
        headers={"X-Buyer": buyer_token or buyer(), "Authorization": ""},
    )


def stock(client: TestClient, product_id: str) -> int:
    return int(client.get(f"/api/products/{product_id}").json()["stock"])
