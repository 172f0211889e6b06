"""Authenticity over HTTP (issue 15), on both backends: the contract's labels and verification,
the public page of a serial, feedback, lots and their recall list, and the console's pages."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from live.authenticity import format_serial
from live.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.helpers import (
    NO_AUTH,
    assert_error,
    buyer,
    csrf_of,
    log_in,
    make_product,
    make_show,
    post_order,
)

SECRET_NAME, SECRET_PHONE, SECRET_STREET = "Wang Xiaoming", "13912345678", "88 Hidden Lane"


def sale(client: TestClient, qtys: tuple[int, ...] = (2, 1)) -> tuple[dict[str, Any], str, list]:
    """A honey sold in a show: (product, show id, orders), the first buyer with details."""
    product = make_product(client, name="Acacia honey 槐花蜜", producer="Zhang family", stock=50)
    show = make_show(client, product["id"])
    orders = []
    for i, qty in enumerate(qtys):
        token = buyer()
        if i == 0:
            r = client.put(
                "/api/buyer/profile",
                headers={"X-Buyer": token, **NO_AUTH},
                json={
                    "name": SECRET_NAME,
                    "phone": SECRET_PHONE,
                    "address": SECRET_STREET,
                    "city": "Hangzhou",
                },
            )
            assert r.status_code == 200, r.text
        r = post_order(client, show["id"], product["id"], qty=qty, buyer_token=token)
        assert r.status_code == 201, r.text
        orders.append(r.json())
    return product, show["id"], orders


def labels(client: TestClient, show_id: str) -> list[dict[str, Any]]:
    r = client.post(f"/api/shows/{show_id}/labels")
    assert r.status_code == 200, r.text
    return list(r.json()["labels"])


def serial_path(url: str) -> str:
    return "/v/" + url.rsplit("/v/", 1)[1]


def test_labels_one_per_unit_of_live_orders_and_the_same_again(
    client: TestClient, settings: Settings
) -> None:
    product, show_id, orders = sale(client)
    first = labels(client, show_id)
    assert [(x["order_id"], x["product_id"]) for x in first] == [
        (orders[0]["id"], product["id"]),
        (orders[0]["id"], product["id"]),
        (orders[1]["id"], product["id"]),
    ]
    for x in first:
        assert set(x) >= {"serial", "pin", "url", "order_id", "product_id", "option_id"}
        assert x["url"] == f"{settings.base_url}/v/{x['serial']}"  # LIVE_PUBLIC_URL
        assert re.fullmatch(r"[0-9]{8}", x["pin"]) and x["option_id"] is None
    assert labels(client, show_id) == first
    # a new order gets labels; a cancelled one gets none
    later = post_order(client, show_id, product["id"], qty=1).json()
    gone = post_order(client, show_id, product["id"], qty=3).json()
    assert client.post(f"/api/orders/{gone['id']}/cancel").status_code == 200
    again = labels(client, show_id)
    assert again[:3] == first and len(again) == 4 and again[3]["order_id"] == later["id"]
    assert_error(client.post(f"/api/shows/{show_id}/labels", headers=NO_AUTH), 401, "unauthorized")
    assert_error(client.post("/api/shows/nope/labels"), 404, "not_found")


def test_verification_first_then_later_and_wrong_pins(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    path = f"/api/verify/{label['serial']}"
    wrong = "00000000" if label["pin"] != "00000000" else "11111111"
    assert_error(client.post(path, json={"pin": wrong}, headers=NO_AUTH), 403, "invalid_pin")
    assert_error(client.post(path, json={"pin": "12"}, headers=NO_AUTH), 400, "invalid")
    first = client.post(path, json={"pin": label["pin"]}, headers=NO_AUTH)
    assert first.status_code == 200 and first.json()["first"] is True
    later = client.post(path, json={"pin": label["pin"]}, headers=NO_AUTH).json()
    assert later == {"verified_at": first.json()["verified_at"], "first": False}
    # a typed serial (grouped, lower case) is the same serial
    typed = format_serial(label["serial"]).lower()
    assert client.post(f"/api/verify/{typed}", json={"pin": label["pin"]}).json() == later
    for bad in ("/api/verify/NOPE", "/api/verify/" + "A" * 12):
        assert_error(client.post(bad, json={"pin": label["pin"]}), 404, "not_found")


def test_wrong_pins_are_limited_per_serial(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    path = f"/api/verify/{label['serial']}"
    wrong = "00000000" if label["pin"] != "00000000" else "11111111"
    codes = [client.post(path, json={"pin": wrong}).status_code for _ in range(12)]
    assert codes == [403] * 10 + [429] * 2
    assert_error(client.post(path, json={"pin": label["pin"]}), 429, "rate_limited")


def test_wrong_pins_are_limited_per_address(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,) * 3)
    found = labels(client, show_id)
    for _ in range(25):  # right PINs spend nothing of the address's budget
        right = client.post(f"/api/verify/{found[0]['serial']}", json={"pin": found[0]["pin"]})
        assert right.status_code == 200
    codes = []
    for label in found:  # 3 serials × 7 wrong PINs: under each serial's limit, over the address's
        wrong = "00000000" if label["pin"] != "00000000" else "11111111"
        for _ in range(7):
            codes.append(client.post(f"/api/verify/{label['serial']}", json={"pin": wrong}))
    assert [r.status_code for r in codes] == [403] * 20 + [429]
    # a malformed PIN is refused before the limit: it is no guess
    assert client.post(f"/api/verify/{found[0]['serial']}", json={"pin": "x"}).status_code == 400


def test_the_public_page_shows_the_unit_never_the_buyer(client: TestClient) -> None:
    product, show_id, orders = sale(client)
    lot = client.post(
        f"/api/products/{product['id']}/lots",
        json={"name": "Spring <harvest>", "date": "2026-05-12", "place": "Qinling hills"},
    ).json()
    r = client.post(
        f"/api/shows/{show_id}/lots", json={"product_id": product["id"], "lot_id": lot["id"]}
    )
    assert r.status_code == 200 and r.json()["defaults"] == {product["id"]: lot["id"]}
    label = labels(client, show_id)[0]
    page = client.get(serial_path(label["url"]), headers={**NO_AUTH, "Accept-Language": "en-GB"})
    assert page.status_code == 200
    text = page.text
    for shown in ("Acacia honey 槐花蜜", "Zhang family", "Spring &lt;harvest&gt;", "2026-05-12"):
        assert shown in text
    assert format_serial(label["serial"]) in text and 'lang="en"' in text
    hidden_texts = (SECRET_NAME, SECRET_PHONE, "1234 5678", SECRET_STREET, "Hangzhou")
    for hidden in (*hidden_texts, label["pin"], orders[0]["id"]):
        assert hidden not in text
    zh = client.get(serial_path(label["url"]), headers={**NO_AUTH, "Accept-Language": "zh-CN,zh"})
    assert 'lang="zh-CN"' in zh.text and "防伪查询" in zh.text
    assert 'lang="en"' in client.get(serial_path(label["url"]) + "?lang=en", headers=NO_AUTH).text
    # small on a weak network: the page and its stylesheet together
    css = client.get(re.search(r'href="([^"]+verify\.css)"', text).group(1))  # type: ignore[union-attr]
    assert len(page.content) + len(css.content) < 50_000


def test_an_unknown_serial_is_a_404_page_saying_it_is_not_ours(client: TestClient) -> None:
    for path in ("/v/ABCDEFGHJKMN", "/v/not-a-serial"):
        r = client.get(path, headers={**NO_AUTH, "Accept-Language": "en"})
        assert r.status_code == 404 and "is not" in r.text and "report" in r.text
        zh = client.get(path + "?lang=zh-CN", headers=NO_AUTH)
        assert zh.status_code == 404 and "不属于" in zh.text


def test_the_page_form_verifies_then_warns_and_takes_one_rating(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    path = serial_path(label["url"]) + "?lang=en"
    wrong = client.post(path, data={"pin": "0000 0000" if label["pin"] != "00000000" else "1"})
    assert wrong.status_code in (400, 403) and "PIN" in wrong.text
    first = client.post(path, data={"pin": label["pin"]}, headers=NO_AUTH)
    assert first.status_code == 200 and "Genuine" in first.text and 'name="rating"' in first.text
    later = client.post(path, data={"pin": label["pin"]}, headers=NO_AUTH)
    assert "first verified on" in later.text and "copied" in later.text
    feedback = f"/v/{label['serial']}/feedback?lang=en"
    note = "Lovely <b>floral</b> taste"
    r = client.post(feedback, data={"pin": label["pin"], "rating": "4", "note": note})
    assert r.status_code == 200 and "Thank you" in r.text
    again = client.post(feedback, data={"pin": label["pin"], "rating": "1"})
    assert again.status_code == 409 and "rated already" in again.text
    quality = client.get("/api/quality").json()
    assert quality["by_producer"] == [
        {"producer": "Zhang family", "count": 1, "average": 4.0, "low": []}
    ]
    listed = client.get(f"/api/shows/{show_id}/labels").json()["labels"][0]
    assert listed["verified_at"] is not None and listed["rating"] == 4 and listed["scans"] == 0


def test_the_page_form_refuses_a_rating_that_is_not_a_small_number(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    client.post(f"/api/verify/{label['serial']}", json={"pin": label["pin"]})
    feedback = f"/v/{label['serial']}/feedback?lang=en"
    # digits to str.isdigit() that int() refuses, and a number too long for int()
    for rating in ("²", "1" * 5000, "-1", "", "6"):
        r = client.post(feedback, data={"pin": label["pin"], "rating": rating}, headers=NO_AUTH)
        assert r.status_code == 400 and "Choose a rating" in r.text, rating[:8]
    assert client.get("/api/quality").json()["by_producer"] == []


def test_the_page_form_takes_a_note_as_long_as_its_textarea_allows(client: TestClient) -> None:
    """The textarea's maxlength (500) counts a line break as one character; the browser sends
    it as CRLF, two."""
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    client.post(f"/api/verify/{label['serial']}", json={"pin": label["pin"]})
    note = "\n".join(["good"] * 100)  # 499 characters in the textarea
    sent = note.replace("\n", "\r\n")  # 598 on the wire
    r = client.post(
        f"/v/{label['serial']}/feedback?lang=en",
        data={"pin": label["pin"], "rating": "5", "note": sent},
        headers=NO_AUTH,
    )
    assert r.status_code == 200 and "Thank you" in r.text
    (by_producer,) = client.get("/api/quality").json()["by_producer"]
    assert by_producer["count"] == 1


def test_the_page_after_a_rating_links_and_posts_to_the_serials_page(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    client.post(f"/api/verify/{label['serial']}", json={"pin": label["pin"]})
    feedback = f"/v/{label['serial']}/feedback?lang=en"
    wrong = "00000000" if label["pin"] != "00000000" else "11111111"
    refused = client.post(feedback, data={"pin": wrong, "rating": "5"}, headers=NO_AUTH)
    assert refused.status_code == 403
    # the PIN form offered again checks a PIN, not a rating
    action = re.search(r'<form class="pin" method="post" action="([^"]+)"', refused.text)
    assert action is not None and action.group(1) == f"/v/{label['serial']}?lang=en"
    rated = client.post(feedback, data={"pin": label["pin"], "rating": "5"}, headers=NO_AUTH)
    assert rated.status_code == 200
    other = re.search(r'<a class="lang" href="([^"]+)"', rated.text)
    assert other is not None and other.group(1) == f"/v/{label['serial']}?lang=zh-CN"
    assert client.get(other.group(1), headers=NO_AUTH).status_code == 200


def test_feedback_over_the_api_needs_a_verification(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    path = f"/api/verify/{label['serial']}/feedback"
    body = {"pin": label["pin"], "rating": 2, "note": "too runny"}
    assert_error(client.post(path, json=body), 409, "conflict")
    client.post(f"/api/verify/{label['serial']}", json={"pin": label["pin"]})
    assert_error(client.post(path, json={**body, "rating": 9}), 400, "invalid")
    r = client.post(path, json=body, headers=NO_AUTH)
    assert r.status_code == 201 and r.json()["rating"] == 2
    low = client.get("/api/quality").json()["by_lot"][0]
    assert low["lot_id"] == "" and low["low"][0]["note"] == "too runny"


def test_scans_are_counted_and_many_devices_flag_a_serial(client: TestClient) -> None:
    _, show_id, _ = sale(client, (1,))
    (label,) = labels(client, show_id)
    for i in range(6):
        client.get(serial_path(label["url"]), headers={**NO_AUTH, "User-Agent": f"phone {i}"})
    assert client.head(serial_path(label["url"]), headers=NO_AUTH).status_code == 200
    (seen,) = client.get(f"/api/shows/{show_id}/labels").json()["labels"]
    assert seen["scans"] == 6 and seen["devices"] >= 5 and seen["flagged"] is True
    assert seen["first_scan_at"] is not None


def test_lots_per_order_and_the_recall_list_with_buyers_for_the_host_only(
    client: TestClient,
) -> None:
    product, show_id, orders = sale(client)
    base = f"/api/products/{product['id']}/lots"
    spring = client.post(base, json={"name": "Spring", "date": "2026-05-12"}).json()
    autumn = client.post(base, json={"name": "Autumn"}).json()
    assert spring["producer"] == "Zhang family"  # the product's, unless the lot says
    assert [x["id"] for x in client.get(base).json()["lots"]] == [spring["id"], autumn["id"]]
    assert_error(client.post(base, json={"name": "x", "date": "May"}), 400, "invalid")
    assert_error(client.post(base, json={"name": ""}), 400, "invalid")
    edited = client.patch(f"/api/lots/{autumn['id']}", json={"place": "Valley"}).json()
    assert edited["place"] == "Valley" and edited["name"] == "Autumn"
    client.post(
        f"/api/shows/{show_id}/lots", json={"product_id": product["id"], "lot_id": spring["id"]}
    )
    r = client.post(f"/api/orders/{orders[1]['id']}/lot", json={"lot_id": autumn["id"]})
    assert r.json()["orders"] == {orders[1]["id"]: autumn["id"]}
    other = make_product(client, name="Chili")
    wrong_lot = client.post(f"/api/products/{other['id']}/lots", json={"name": "Hot"}).json()
    assert_error(
        client.post(f"/api/orders/{orders[1]['id']}/lot", json={"lot_id": wrong_lot["id"]}),
        400,
        "invalid",
    )
    made = labels(client, show_id)
    trace = client.get(f"/api/lots/{spring['id']}/trace").json()
    assert [row["order_id"] for row in trace["rows"]] == [orders[0]["id"]]
    row = trace["rows"][0]
    assert row["name"] == SECRET_NAME and row["phone"].replace(" ", "").endswith(SECRET_PHONE)
    assert row["serials"] == " ".join(x["serial"] for x in made[:2])
    csv = client.get(f"/api/lots/{spring['id']}/trace?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and SECRET_NAME in csv.text
    assert_error(
        client.get(f"/api/lots/{spring['id']}/trace", headers=NO_AUTH), 401, "unauthorized"
    )
    autumn_rows = client.get(f"/api/lots/{autumn['id']}/trace").json()["rows"]
    assert [row["order_id"] for row in autumn_rows] == [orders[1]["id"]]


def test_console_pages_and_forms_need_a_session_and_its_csrf_token(anon: TestClient) -> None:
    for path in ("/host/quality", "/host/shows/x/labels", "/host/shows/x/labels/print"):
        assert anon.get(path, follow_redirects=False).status_code == 303
    assert log_in(anon, token=ADMIN_TOKEN).status_code == 303
    csrf = csrf_of(anon.get("/host").text)
    headers = {"X-CSRF-Token": csrf}
    product = anon.post(
        "/api/products", json={"name": "Honey", "price": 100, "stock": 9}, headers=headers
    ).json()
    show = anon.post(
        "/api/shows", json={"title": "Night", "product_ids": [product["id"]]}, headers=headers
    ).json()
    anon.post(f"/api/shows/{show['id']}/ordering", json={"open": True}, headers=headers)
    anon.post(
        f"/api/shows/{show['id']}/featured", json={"product_id": product["id"]}, headers=headers
    )
    assert post_order(anon, show["id"], product["id"], qty=2).status_code == 201
    # a lot from the lots page's form
    lots_path = f"/host/products/{product['id']}/lots"
    form = {"csrf": csrf, "name": "Spring", "date": "2026-05-12", "producer": "Li"}
    assert anon.post(lots_path, data={**form, "csrf": "forged"}).status_code == 403
    assert anon.post(lots_path, data=form, follow_redirects=False).status_code == 303
    page = anon.get(lots_path)
    assert page.status_code == 200 and "Spring" in page.text
    (lot,) = anon.get(f"/api/products/{product['id']}/lots").json()["lots"]
    labels_path = f"/host/shows/{show['id']}/labels"
    defaults = {"csrf": csrf, "action": "defaults", f"lot_{product['id']}": lot["id"]}
    assert anon.post(labels_path, data=defaults, follow_redirects=False).status_code == 303
    assert anon.post(labels_path, data={"csrf": "forged", "action": "issue"}).status_code == 403
    assert anon.get(f"/api/shows/{show['id']}/labels").json()["labels"] == []
    issued = anon.post(labels_path, data={"csrf": csrf, "action": "issue"}, follow_redirects=False)
    assert issued.status_code == 303
    made = anon.get(f"/api/shows/{show['id']}/labels").json()["labels"]
    assert len(made) == 2
    page = anon.get(labels_path).text
    assert all(format_serial(x["serial"]) in page for x in made)
    printed = anon.get(f"{labels_path}/print?layout=a4").text
    assert printed.count("<svg") == 2 and made[0]["pin"][:4] in printed and "Spring" in printed
    thermal = anon.get(f"{labels_path}/print?layout=thermal").text
    assert 'class="labels thermal"' in thermal
    coop = {"csrf": csrf, "coop_name": "Sunny Hill Co-op", "coop_story": "Twelve families."}
    assert anon.post("/host/quality", data=coop, follow_redirects=False).status_code == 303
    assert "Sunny Hill Co-op" in anon.get(serial_path(made[0]["url"])).text
    assert "Sunny Hill Co-op" in anon.get("/host/quality").text
