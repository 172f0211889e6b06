"""Shipping fees and parcels (issue 14), pure: the fee by region and weight, free above an
amount, the parcel's totals and what is left to pay, its payment reference and the search."""

from __future__ import annotations

import re

from live import domain
from live.domain import Option, Order, OrderStatus, Product, Profile
from live.parcels import build_parcel, matches, normal_reference, parcel_reference, show_parcels
from live.shipping import ABROAD, ELSEWHERE, Rate, ShippingRules, parcel_fee, region_key

RULES = ShippingRules(
    elsewhere=Rate(1200, 600),
    regions={"广东": Rate(800, 300), "Zhejiang": Rate(1000)},
    abroad=Rate(9000, 4000),
    free_above=30000,
)


def at(province: str = "", country: str = "") -> Profile:
    return Profile("李雷", "+8613800138000", "1 Road", "City", province=province, country=country)


def test_the_fee_goes_by_region_and_each_extra_kilogram_begun() -> None:
    fee = parcel_fee(RULES, items_total=5000, weight_g=2500, profile=at("广东省"))
    assert (fee.amount, fee.region) == (800 + 2 * 300, "广东")
    assert parcel_fee(RULES, items_total=5000, weight_g=1000, profile=at("广东")).amount == 800
    assert parcel_fee(RULES, items_total=5000, weight_g=0, profile=at("广东")).amount == 800
    flat = parcel_fee(RULES, items_total=5000, weight_g=9000, profile=at("zhejiang"))
    assert (flat.amount, flat.region) == (1000, "Zhejiang")  # no per-kg price: flat
    other = parcel_fee(RULES, items_total=5000, weight_g=1001, profile=at("四川"))
    assert (other.amount, other.region) == (1200 + 600, ELSEWHERE)
    abroad = parcel_fee(RULES, items_total=5000, weight_g=1500, profile=at("", "Malaysia"))
    assert (abroad.amount, abroad.region) == (9000 + 4000, ABROAD)
    unknown = parcel_fee(RULES, items_total=5000, weight_g=500, profile=None)
    assert unknown.region == ELSEWHERE and unknown.amount == 1200


def test_free_above_an_amount_and_nothing_for_an_empty_parcel() -> None:
    free = parcel_fee(RULES, items_total=30000, weight_g=5000, profile=at("广东"))
    assert free.amount == 0 and free.free
    assert parcel_fee(RULES, items_total=29999, weight_g=0, profile=at("广东")).amount == 800
    assert parcel_fee(RULES, items_total=0, weight_g=0, profile=at("广东")).amount == 0
    no_abroad_rate = ShippingRules(elsewhere=Rate(500))
    assert parcel_fee(no_abroad_rate, items_total=1, weight_g=0, profile=at("", "UK")).amount == 500


def test_region_names_match_without_suffixes_blanks_or_case() -> None:
    assert region_key("广东省") == region_key(" 广东 ") == "广东"
    assert region_key("广西壮族自治区") == "广西" and region_key("上海市") == "上海"
    assert region_key("Guang Dong") == region_key("guangdong")


def order(n: int, status: OrderStatus, qty: int, price: int, **kw: object) -> Order:
    return Order(
        id=f"o{n}",
        show_id="s1",
        product_id=str(kw.pop("product_id", "p1")),
        buyer=str(kw.pop("buyer", "b" * 16)),
        qty=qty,
        price=price,
        currency="CNY",
        status=status,
        created_at=float(n),
        key=f"key{n:05d}",
        number=n,
        **kw,  # type: ignore[arg-type]
    )


PRODUCTS = {
    "p1": Product(id="p1", name="Honey", price=4000, stock=9, unit="500g"),
    "p2": Product(
        id="p2",
        name="Rice",
        price=6000,
        stock=9,
        options=(Option(id="v1", name="2 kg", stock=9, weight_g=2000),),
    ),
}


def test_a_parcel_totals_items_and_shipping_and_what_is_left_to_pay() -> None:
    orders = [
        order(1, OrderStatus.PAID, 1, 4000),  # 500 g
        order(2, OrderStatus.CLAIMED, 1, 6000, product_id="p2", option_id="v1", expires_at=90.0),
        order(3, OrderStatus.EXPIRED, 5, 4000),
        order(4, OrderStatus.CLAIMED, 2, 4000, expires_at=80.0),  # 1 kg
        order(5, OrderStatus.CLAIMED, 1, 4000, buyer="c" * 16),  # someone else's
    ]
    parcel = build_parcel("s1", "b" * 16, orders, PRODUCTS, at("广东"), RULES)
    assert [o.id for o in parcel.orders] == ["o1", "o2", "o4"]
    assert parcel.items == 4000 + 6000 + 8000
    assert parcel.shipping.weight_g == 500 + 2000 + 1000
    assert parcel.shipping.amount == 800 + 3 * 300  # 3.5 kg: three extra kilograms begun
    assert parcel.total == 18000 + 1700
    # The paid order's own parcel (500 g) would have cost 800: the rest is still owed.
    assert parcel.to_pay == 6000 + 8000 + (1700 - 800)
    assert parcel.pay_by == 80.0 and parcel.status == "unpaid"
    paid = [o for o in orders[:1]]
    done = build_parcel("s1", "b" * 16, paid, PRODUCTS, at("广东"), RULES)
    assert (done.status, done.to_pay, done.pay_by) == ("paid", 0, None)
    assert build_parcel("s1", "x" * 16, orders, PRODUCTS, None, RULES).status == "empty"
    parcels = show_parcels("s1", orders, PRODUCTS, {"b" * 16: at("广东")}, RULES)
    assert [p.buyer for p in parcels] == ["b" * 16, "c" * 16]


def test_the_reference_is_short_stable_and_free_of_look_alikes() -> None:
    ref = parcel_reference("s1", "b" * 16)
    assert re.fullmatch(r"[%s]{4}-[%s]{4}" % ((domain.SHORT_CODE_ALPHABET,) * 2), ref)
    assert ref == parcel_reference("s1", "b" * 16) != parcel_reference("s2", "b" * 16)
    refs = {parcel_reference("s1", f"buyer{n:011d}") for n in range(5000)}
    assert len(refs) == 5000
    assert normal_reference(ref.lower().replace("-", " ")) == ref


def test_the_console_finds_a_parcel_by_reference_or_amount() -> None:
    orders = [order(1, OrderStatus.CLAIMED, 2, 4000)]
    parcel = build_parcel("s1", "b" * 16, orders, PRODUCTS, at("广东"), RULES)
    assert parcel.total == 8800
    assert matches(parcel, parcel.reference.replace("-", "").lower())
    assert matches(parcel, "88") and matches(parcel, "88.00") and not matches(parcel, "87")
    assert matches(parcel, "") and not matches(parcel, "inf") and not matches(parcel, "nan")
