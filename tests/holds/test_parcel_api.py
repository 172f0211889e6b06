"""Parcels and shipping over HTTP (issue 14), on both backends: the co-op's rules, the buyer's
parcel priced for the buyer's province, the host's list searchable by reference and amount."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import NO_AUTH, assert_error, make_product, make_show, post_order

RULES = {
    "elsewhere": {"first": 1200, "extra_kg": 600},
    "regions": {"广东省": {"first": 800, "extra_kg": 300}},
    "abroad": None,
    "free_above": 50000,
}
ADDRESS = {
    "name": "李雷",
    "phone": "13800138000",
    "province": "广东",
    "city": "广州",
    "street": "天河路 1 号",
}


def test_the_co_op_sets_its_shipping_rules(client: TestClient) -> None:
    assert client.get("/api/shipping").json()["elsewhere"] == {"first": 0, "extra_kg": 0}
    r = client.put("/api/shipping", json=RULES)
    assert r.status_code == 200 and r.json() == RULES
    assert client.get("/api/shipping").json() == RULES
    for wrong in (
        {**RULES, "elsewhere": {"first": -1}},
        {**RULES, "regions": {"广东": {"first": 1}, "广东省": {"first": 2}}},
        {**RULES, "regions": {"abroad": {"first": 1}}},
        {**RULES, "extra": 1},
    ):
        assert_error(client.put("/api/shipping", json=wrong), 400, "invalid")
    assert client.get("/api/shipping").json() == RULES
    assert_error(client.get("/api/shipping", headers=NO_AUTH), 401, "unauthorized")


def test_a_buyer_sees_one_parcel_priced_for_the_province(client: TestClient) -> None:
    client.put("/api/shipping", json=RULES)
    honey = make_product(client, price=4000, stock=10, unit="500g")["id"]
    sid = make_show(client, honey)["id"]
    who = {"X-Buyer": "buyer-parcel-000001", **NO_AUTH}
    url = f"/api/shows/{sid}/my-parcel"
    empty = client.get(url, headers=who).json()
    assert empty["status"] == "empty" and empty["total"] == 0
    assert_error(client.get(url, headers=NO_AUTH), 400, "invalid")
    for _ in range(3):
        assert post_order(client, sid, honey, buyer_token=who["X-Buyer"]).status_code == 201
    before = client.get(url, headers=who).json()
    assert before["shipping_region"] == "elsewhere" and before["shipping"] == 1200 + 600
    assert client.put("/api/buyer/profile", json=ADDRESS, headers=who).status_code == 200
    parcel = client.get(url, headers=who).json()
    assert parcel["shipping_region"] == "广东省" and parcel["weight_g"] == 1500
    assert (parcel["items"], parcel["shipping"]) == (12000, 800 + 300)
    assert parcel["total"] == parcel["to_pay"] == 13100 and parcel["status"] == "unpaid"
    assert len(parcel["order_ids"]) == 3 and parcel["reference"][4] == "-"
    # The host finds it by reference or amount, with the phone to call.
    listed = client.get(f"/api/shows/{sid}/parcels").json()
    assert (
        listed["counts"] == {"unpaid": 1, "paid": 0, "expired": 0} and listed["to_collect"] == 13100
    )
    [row] = listed["parcels"]
    assert row["reference"] == parcel["reference"] and row["phone"].endswith("8000")
    ref = parcel["reference"].replace("-", "").lower()
    for q, n in ((ref, 1), ("131", 1), ("131.00", 1), ("130", 0)):
        found = client.get(f"/api/shows/{sid}/parcels", params={"q": q}).json()["parcels"]
        assert len(found) == n, q
    paid = client.get(f"/api/shows/{sid}/parcels", params={"status": "paid"}).json()
    assert paid["parcels"] == []
    assert_error(client.get(f"/api/shows/{sid}/parcels", headers=NO_AUTH), 401, "unauthorized")
