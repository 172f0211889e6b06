"""Holds (issue 14) over HTTP, on both backends: `hold_seconds` on a new show (its default from
LIVE_HOLD_SECONDS), claims carrying `expires_at`, the process's sweeper expiring them, paying
an expired claim refused with 409 `conflict`, and the console's choice of hold."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from live.app import create_app
from live.config import Settings
from tests.helpers import ADMIN_TOKEN, assert_error, log_in, make_product, post_order, stock


@pytest.fixture
def holding(settings: Settings) -> Iterator[TestClient]:
    quick = settings.with_overrides(hold_seconds=900, hold_sweep_interval=0.05)
    with TestClient(create_app(quick), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


def open_show(client: TestClient, pid: str, **body: object) -> dict[str, object]:
    r = client.post("/api/shows", json={"title": "Harvest night", "product_ids": [pid], **body})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    client.post(f"/api/shows/{sid}/on_sale", json={"product_id": pid, "on_sale": True})
    return dict(r.json())


def test_a_show_takes_its_hold_from_the_body_or_the_setting(holding: TestClient) -> None:
    pid = make_product(holding)["id"]
    assert open_show(holding, pid)["hold_seconds"] == 900
    assert open_show(holding, pid, hold_seconds=0)["hold_seconds"] == 0
    for wrong in (-1, 1.5, "60", 10**9):
        r = holding.post(
            "/api/shows", json={"title": "t", "product_ids": [pid], "hold_seconds": wrong}
        )
        assert_error(r, 400, "invalid")
    assert len(holding.get("/api/shows").json()["shows"]) == 2


def test_an_unpaid_claim_expires_and_cannot_be_paid(holding: TestClient) -> None:
    pid = make_product(holding, stock=3)["id"]
    sid = str(open_show(holding, pid, hold_seconds=1)["id"])
    never = str(open_show(holding, pid, hold_seconds=0)["id"])
    before = time.time()
    r = post_order(holding, sid, pid, qty=2, key="holdkey01", buyer_token="b" * 20)
    order = r.json()
    assert r.status_code == 201 and before + 1 - 0.01 <= order["expires_at"] <= time.time() + 1
    kept = post_order(holding, never, pid).json()
    assert kept["expires_at"] is None and stock(holding, pid) == 0
    deadline = time.monotonic() + 5
    while stock(holding, pid) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stock(holding, pid) == 2
    listed = holding.get(f"/api/shows/{sid}/orders?status=expired").json()["orders"]
    assert [o["id"] for o in listed] == [order["id"]]
    r = holding.post(f"/api/orders/{order['id']}/status", json={"status": "paid"})
    assert "expired" in assert_error(r, 409, "conflict")["detail"]
    again = post_order(holding, sid, pid, qty=2, key="holdkey01", buyer_token="b" * 20)
    assert again.status_code == 200 and again.json()["status"] == "expired"
    paid = holding.post(f"/api/orders/{kept['id']}/status", json={"status": "paid"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"


def test_the_console_offers_hold_choices(holding: TestClient) -> None:
    assert log_in(holding, token=ADMIN_TOKEN).status_code == 303
    page = holding.get("/host?lang=en", headers={"Authorization": ""}).text
    assert '<select name="hold_seconds">' in page
    assert '<option value="900" selected>15 minutes</option>' in page
    assert '<option value="0">never</option>' in page
