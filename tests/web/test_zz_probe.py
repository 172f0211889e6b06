from __future__ import annotations
from starlette.testclient import TestClient
from tests.conftest import ADMIN_TOKEN
from tests.helpers import NO_AUTH, post_order, make_product, make_show, log_in, csrf_of, buyer
from tests.web.test_authenticity_web import labels, serial_path

X = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'

def test_probe(anon: TestClient) -> None:
    client = anon
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    csrf = csrf_of(anon.get("/host").text)
    H = {"X-CSRF-Token": csrf}
    p = client.post("/api/products", json={"name": X, "price": 100, "stock": 9, "producer": X, "description": X}, headers=H).json()
    s = client.post("/api/shows", json={"title": X, "product_ids": [p["id"]]}, headers=H).json()
    client.post(f"/api/shows/{s['id']}/ordering", json={"open": True}, headers=H)
    client.post(f"/api/shows/{s['id']}/featured", json={"product_id": p["id"]}, headers=H)
    t = buyer()
    client.put("/api/buyer/profile", headers={"X-Buyer": t}, json={"name": X[:40], "phone": "13912345678", "address": X[:100], "city": "H"})
    r = post_order(client, s["id"], p["id"], qty=2, buyer_token=t); assert r.status_code == 201, r.text
    lot = client.post(f"/api/products/{p['id']}/lots", json={"name": X, "notes": X, "place": X, "producer": X}, headers=H).json()
    client.post(f"/api/shows/{s['id']}/lots", json={"product_id": p["id"], "lot_id": lot["id"]}, headers=H)
    r = client.post(f"/api/shows/{s['id']}/labels", headers=H); ls = r.json()["labels"]
    for l in ls:
        client.post(f"/api/verify/{l['serial']}", json={"pin": l["pin"]})
        print(client.post(f"/api/verify/{l['serial']}/feedback", json={"pin": l["pin"], "rating": 1, "note": X}).status_code)
    client.post("/host/quality", data={"csrf": csrf, "coop_name": X, "coop_story": X})
    for path in (f"/host/shows/{s['id']}/labels", f"/host/shows/{s['id']}/labels/print", f"/host/shows/{s['id']}/labels/print?layout=thermal", f"/host/products/{p['id']}/lots", "/host/quality", serial_path(ls[0]["url"])):
        r = client.get(path)
        print(path[:40], r.status_code, "<script>alert" in r.text, "<img src=x" in r.text, len(r.content))
    r = client.post(serial_path(ls[0]["url"]), data={"pin": ls[0]["pin"]})
    print("verify form", r.status_code, "<script>alert" in r.text, "<img src=x" in r.text)
    for path in ("/host/shows/nope/labels", "/host/shows/nope/labels/print", "/host/products/nope/lots"):
        r = client.get(path); print(path, r.status_code)
    r = client.post("/host/products/nope/lots", data={"csrf": csrf, "name": "x"}); print("lots form unknown", r.status_code)
    r = client.post(f"/host/products/{p['id']}/lots", data={"csrf": csrf, "name": "x", "lot_id": "nope"}); print("lots form unknown lot", r.status_code)
    r = client.post(f"/host/products/{p['id']}/lots", data={"csrf": csrf, "name": "x", "date": "bad"}); print("lots form bad date", r.status_code, r.text[:300])
    r = client.post(f"/host/shows/{s['id']}/labels", data={"csrf": csrf, "action": "defaults", "lot_nope": "x"}); print("defaults bad", r.status_code)
    r = client.post(f"/host/shows/{s['id']}/labels", data={"csrf": csrf, "action": "orders", "order_nope": "x"}); print("orders bad", r.status_code)
    r = client.post(f"/host/shows/nope/labels", data={"csrf": csrf, "action": "issue"}); print("issue unknown", r.status_code)
    r = client.post("/host/quality", data={"csrf": csrf, "coop_name": "x" * 300}); print("coop long", r.status_code)
    r = client.post("/host/quality", content=b"csrf=" + b"x" * 40000, headers={"content-type": "application/x-www-form-urlencoded"}); print("coop huge", r.status_code)
