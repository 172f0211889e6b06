"""A buyer's delivery details: the rules (live.delivery) and the buyer API that applies them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from live.delivery import checked_profile, normalize_phone
from live.errors import Invalid
from live.messages import ProfileBody
from tests.helpers import buyer, make_product, make_show, post_order

HOME = {"name": "王小明", "phone": "13800138000", "city": "深圳市", "street": "科技园路 1 号"}


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("13800138000", "+86 138 0013 8000"),  # a bare Chinese mobile: +86 by default
        ("138 0013 8000", "+86 138 0013 8000"),
        ("138-0013-8000", "+86 138 0013 8000"),
        ("+86 138 0013 8000", "+86 138 0013 8000"),
        ("+8613800138000", "+86 138 0013 8000"),
        ("0086 13800138000", "+86 138 0013 8000"),
        ("(0755) 8888 1234", "+86 755 8888 1234"),  # a landline with its area code
        ("+852 9123 4567", "+852 9123 4567"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
    ],
)
def test_phone_numbers_are_kept_in_one_international_form(typed: str, kept: str) -> None:
    assert normalize_phone(typed) == kept


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "call me", "12345", "1380013800", "138001380001", "+86 12", "+999 1234 5678"],
)
def test_numbers_that_are_not_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_phone(typed)
    assert caught.value.field == "phone"


def test_an_address_abroad_needs_the_number_with_its_country_code() -> None:
    with pytest.raises(Invalid) as caught:
        normalize_phone("91234567", home=False)
    assert caught.value.field == "phone" and "country code" in caught.value.detail
    assert normalize_phone("+852 9123 4567", home=False) == "+852 9123 4567"


def test_details_are_folded_to_one_line_and_home_needs_no_country() -> None:
    body = ProfileBody(
        **{**HOME, "street": "科技园路 1 号\n  3 栋 502", "country": "中国"},
        province=" 广东省 ",
        district="南山区",
        postcode="518000",
    )
    profile = checked_profile(body)
    assert profile.street == "科技园路 1 号 3 栋 502"
    assert profile.province == "广东省" and profile.country == ""
    assert profile.full_address == "广东省 深圳市 南山区 科技园路 1 号 3 栋 502"
    abroad = checked_profile(
        ProfileBody(**{**HOME, "phone": "+65 6123 4567", "country": "Singapore"}, postcode="018956")
    )
    assert abroad.country == "Singapore" and abroad.phone == "+65 6123 4567"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"city": " "}, "city"),
        ({"street": "  "}, "street"),
        ({"province": "省" * 51}, "province"),
        ({"postcode": "51800"}, "postcode"),  # home postcodes have six digits
        ({"phone": "1234"}, "phone"),
    ],
)
def test_each_refusal_names_its_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        checked_profile(ProfileBody(**{**HOME, **change}))
    assert caught.value.field == field


# --- the buyer API ---------------------------------------------------------------------------


def put(client: TestClient, body: dict[str, Any], token: str | None = None) -> Any:
    return client.put(
        "/api/buyer/profile", json=body, headers={"X-Buyer": token or buyer(), "Authorization": ""}
    )


@pytest.mark.parametrize("backend", ["memory", "redis"], indirect=True)
def test_the_answer_and_the_host_see_the_normalized_details(client: TestClient) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    assert post_order(client, sid, p["id"], buyer_token=me).status_code == 201
    r = put(client, {**HOME, "phone": "138-0013-8000", "postcode": "518000"}, me)
    assert r.status_code == 200
    assert r.json()["saved"] is True
    assert r.json()["profile"]["phone"] == "+86 138 0013 8000"
    delivery = client.get(f"/api/shows/{sid}/orders").json()["orders"][0]["delivery"]
    assert delivery["phone"] == "+86 138 0013 8000" and delivery["postcode"] == "518000"


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),  # refused by the body's own rules (msgspec)
        ({"name": "  "}, "name"),
        ({"city": "c" * 51}, "city"),
        ({"street": "   "}, "street"),
        ({"postcode": "12"}, "postcode"),
        ({"nickname": "x"}, "nickname"),  # unknown fields are refused too
    ],
)
def test_a_refusal_says_which_field_and_changes_nothing(
    client: TestClient, change: dict[str, str], field: str
) -> None:
    p = make_product(client)
    sid = make_show(client, p["id"])["id"]
    me = buyer()
    post_order(client, sid, p["id"], buyer_token=me)
    r = put(client, {**HOME, **change}, me)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid" and body["field"] == field and body["detail"]
    assert client.get(f"/api/shows/{sid}/orders").json()["orders"][0]["delivery"] is None


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_missing_field_is_named(client: TestClient) -> None:
    r = put(client, {"name": "n", "phone": "13800138000", "street": "1 Road"})
    assert r.status_code == 400 and r.json()["field"] == "city"
