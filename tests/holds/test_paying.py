"""Paying a parcel over HTTP (issue 14), on both backends: the co-op's payment methods, the
buyer's "I have paid" with a screenshot only the host can open, the host's queue, marking the
whole parcel paid at once (refused if a claim expired), and a rejection the buyer reads."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from tests.helpers import NO_AUTH, assert_error, make_product, make_show, png, post_order

METHODS = {
    "methods": [
        {
            "kind": "wechat",
            "name": "微信支付",
            "image_url": "/media/abc.webp",
            "instruction": {"zh-CN": "付款时请备注付款码", "en": "Write the reference in the note"},
        },
        {
            "kind": "bank",
            "name": "Bank transfer",
            "details": "ICBC 6222 0000 1111 2222, 阳光合作社",
        },
    ]
}


def test_the_co_op_sets_how_buyers_pay(client: TestClient) -> None:
    assert client.get("/api/payment-methods").json() == {"methods": []}
    saved = client.put("/api/payment-methods", json=METHODS).json()["methods"]
    assert [m["kind"] for m in saved] == ["wechat", "bank"]
    assert saved[0]["instruction"]["en"] == "Write the reference in the note"
    bad = {"methods": [{**METHODS["methods"][0], "image_url": "javascript:alert(1)"}]}
    assert_error(client.put("/api/payment-methods", json=bad), 400, "invalid")
    bad = {"methods": [{"kind": "paypal", "name": "x"}]}
    assert_error(client.put("/api/payment-methods", json=bad), 400, "invalid")
    assert client.get("/api/payment-methods").json()["methods"] == saved
    assert_error(
        client.put("/api/payment-methods", json=METHODS, headers=NO_AUTH), 401, "unauthorized"
    )


def test_a_buyer_says_paid_and_the_host_marks_the_whole_parcel(client: TestClient) -> None:
    client.put("/api/payment-methods", json=METHODS)
    pid = make_product(client, price=2500, stock=10)["id"]
    sid = make_show(client, pid)["id"]
    who = {"X-Buyer": "buyer-paying-00001", **NO_AUTH}
    mine = f"/api/shows/{sid}/my-parcel"
    assert_error(client.post(f"{mine}/paid", headers=who), 409, "conflict")  # nothing to pay
    for _ in range(2):
        post_order(client, sid, pid, buyer_token=who["X-Buyer"])
    parcel = client.get(f"{mine}?lang=en", headers=who).json()
    assert parcel["to_pay"] == 5000 and parcel["notice"] is None
    assert [m["instruction"] for m in parcel["methods"]] == ["Write the reference in the note", ""]
    r = client.post(
        f"{mine}/paid", content=png(40, 80), headers={**who, "Content-Type": "image/png"}
    )
    assert r.status_code == 200 and r.json()["notice"]["state"] == "pending"
    assert r.json()["notice"]["proof"] is True and r.json()["notice"]["amount"] == 5000
    queue = client.get(f"/api/shows/{sid}/parcels?notice=pending").json()["parcels"]
    assert [p["reference"] for p in queue] == [parcel["reference"]]
    proof = queue[0]["proof_url"]
    shot = client.get(proof)
    assert shot.headers["content-type"] == "image/webp"
    assert shot.headers["cache-control"] == "no-store"  # the buyer's account: kept nowhere
    assert_error(client.get(proof, headers=NO_AUTH), 401, "unauthorized")
    # The host did not find it: the buyer reads why.
    reject = f"/api/shows/{sid}/parcels/{parcel['reference']}/reject"
    assert client.post(reject, json={"reason": "No transfer of ¥50 today"}).status_code == 200
    notice = client.get(mine, headers=who).json()["notice"]
    assert notice == {**notice, "state": "rejected", "reason": "No transfer of ¥50 today"}
    assert client.get(f"/api/shows/{sid}/parcels?notice=pending").json()["parcels"] == []
    # Said again, then found: one action pays every claim.
    client.post(f"{mine}/paid", headers=who)
    ref = parcel["reference"].lower().replace("-", "")
    marked = client.post(f"/api/shows/{sid}/parcels/{ref}/paid")
    assert marked.status_code == 200 and marked.json()["status"] == "paid"
    orders = client.get(f"/api/shows/{sid}/orders").json()["orders"]
    assert {o["status"] for o in orders} == {"paid"}
    after = client.get(mine, headers=who).json()
    assert (after["status"], after["to_pay"], after["notice"]["state"]) == ("paid", 0, "accepted")
    board = client.get(f"/api/shows/{sid}/parcels").json()
    assert board["counts"] == {"unpaid": 0, "paid": 1, "expired": 0} and board["takings"] == 5000
    assert_error(client.post(f"/api/shows/{sid}/parcels/ZZZZ-ZZZZ/paid"), 404, "not_found")


def test_a_parcel_with_an_expired_claim_is_not_paid(client: TestClient) -> None:
    pid = make_product(client, price=1000, stock=10)["id"]
    r = client.post("/api/shows", json={"title": "t", "product_ids": [pid], "hold_seconds": 1})
    sid = r.json()["id"]
    client.post(f"/api/shows/{sid}/ordering", json={"open": True})
    client.post(f"/api/shows/{sid}/on_sale", json={"product_id": pid, "on_sale": True})
    token = "buyer-expiring-0001"
    first = post_order(client, sid, pid, buyer_token=token).json()
    assert client.post(f"/api/orders/{first['id']}/status", json={"status": "paid"}).is_success
    post_order(client, sid, pid, buyer_token=token)
    ref = client.get(f"/api/shows/{sid}/my-parcel", headers={"X-Buyer": token}).json()["reference"]
    time.sleep(1.05)  # due, whether or not a sweep has run yet: either way, 409
    assert_error(client.post(f"/api/shows/{sid}/parcels/{ref}/paid"), 409, "conflict")
    statuses = {o["status"] for o in client.get(f"/api/shows/{sid}/orders").json()["orders"]}
    assert statuses in ({"paid", "claimed"}, {"paid", "expired"})
