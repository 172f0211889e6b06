"""Options (sizes, weights) in the store contract, on both backends: each option its own stock
and maybe its own price, the product's stock their sum, one atomic order step per option."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from live import domain
from live.backends import Feed, Store
from live.domain import Option, OptionSpec, Product
from live.errors import Conflict, Invalid, NotFound, OrderRefused, Reason
from live.events import Event
from tests.helpers import add_product, add_show, buyer, deal, new_id, order_request

SIZES = ("36", "37", "38")


async def add_shoes(store: Store, stocks: tuple[int, ...] = (3, 2, 1), **fields: Any) -> Product:
    options = tuple(
        Option(id=new_id("v"), name=name, stock=n) for name, n in zip(SIZES, stocks, strict=False)
    )
    return await add_product(
        store, name="Embroidered shoes", stock=sum(stocks), options=options, **fields
    )


def option_request(show: Any, product: Product, option_id: str | None, **kw: Any) -> Any:
    return dataclasses.replace(order_request(show, product, **kw), option_id=option_id)


async def refusal(store: Store, request: Any) -> OrderRefused:
    with pytest.raises(OrderRefused) as caught:
        await store.place_order(request)
    return caught.value


def stocks(product: Product) -> list[int]:
    return [o.stock for o in product.options]


async def test_a_product_with_options_keeps_them_in_order(store: Store) -> None:
    p = await add_shoes(store)
    got = await store.get_product(p.id)
    assert got.options == p.options and got.stock == 6 and got.sold == 0
    assert [x.id for x in await store.list_products()] == [p.id]
    state = await store.show_state((await add_show(store, p)).id)
    assert state.products[0].options == p.options


async def test_an_order_takes_its_options_stock_and_names_it(store: Store) -> None:
    p = await add_shoes(store)
    show = await add_show(store, p)
    size37 = p.options[1]
    result = await store.place_order(option_request(show, p, size37.id, qty=2))
    order = result.order
    assert (order.option_id, order.option_name, order.price) == (size37.id, "37", p.price)
    assert result.stock == 0  # the option's stock, not the product's
    after = await store.get_product(p.id)
    assert stocks(after) == [3, 0, 1] and after.stock == 4 and after.sold == 2
    assert [o.sold for o in after.options] == [0, 2, 0]
    assert await store.get_order(order.id) == order
    # the option is sold out; the others are not
    refused = await refusal(store, option_request(show, p, size37.id))
    assert (refused.reason, refused.stock) == (Reason.SOLD_OUT, 0)
    refused = await refusal(store, option_request(show, p, p.options[2].id, qty=2))
    assert (refused.reason, refused.stock) == (Reason.SOLD_OUT, 1)


async def test_an_option_is_required_known_and_only_for_products_with_options(
    store: Store,
) -> None:
    p = await add_shoes(store)
    plain = await add_product(store, stock=5)
    show = await add_show(store, p, plain)
    for request in (
        option_request(show, p, None),
        option_request(show, p, "nosuchoption"),
        option_request(show, plain, p.options[0].id),
    ):
        assert (await refusal(store, request)).reason is Reason.INVALID
    assert await store.get_product(p.id) == p
    assert (await store.get_product(plain.id)).stock == 5
    assert await store.list_orders(show.id) == []
    # closed ordering and off sale come first, as for any product
    await store.set_on_sale(show.id, p.id, False)
    assert (await refusal(store, option_request(show, p, None))).reason is Reason.NOT_ON_SALE


async def test_the_limit_counts_units_across_options(store: Store) -> None:
    p = await add_shoes(store, (5, 5, 5), limit_per_buyer=3)
    show = await add_show(store, p)
    b = buyer()
    await store.place_order(option_request(show, p, p.options[0].id, buyer=b, qty=2))
    refused = await refusal(store, option_request(show, p, p.options[1].id, buyer=b, qty=2))
    assert (refused.reason, refused.stock) == (Reason.LIMIT_EXCEEDED, 5)
    await store.place_order(option_request(show, p, p.options[2].id, buyer=b, qty=1))
    assert (await store.get_product(p.id)).stock == 12


async def test_the_same_key_answers_the_same_option_only(store: Store) -> None:
    p = await add_shoes(store)
    show = await add_show(store, p)
    b, k = buyer(), "samekey-123"
    first = await store.place_order(option_request(show, p, p.options[0].id, buyer=b, key=k))
    again = await store.place_order(option_request(show, p, p.options[0].id, buyer=b, key=k))
    assert not again.created and again.order == first.order and again.stock == 2
    other = await refusal(store, option_request(show, p, p.options[1].id, buyer=b, key=k))
    assert other.reason is Reason.INVALID
    assert (await store.get_product(p.id)).stock == 5


async def test_cancelling_returns_units_to_the_option(store: Store) -> None:
    p = await add_shoes(store)
    show = await add_show(store, p)
    result = await store.place_order(option_request(show, p, p.options[2].id))
    assert stocks(await store.get_product(p.id)) == [3, 2, 0]
    order, changed = await store.cancel_order(result.order.id)
    assert changed and order.option_id == p.options[2].id
    after = await store.get_product(p.id)
    assert stocks(after) == [3, 2, 1] and after.stock == 6 and after.sold == 0


async def test_own_option_prices_and_a_deal_take_the_same_amount_off(store: Store) -> None:
    jars = (
        Option(id="v250", name="250 g", stock=5, price=3000, unit="250 g", weight_g=250),
        Option(id="v500", name="500 g", stock=5, unit="500 g", weight_g=500),
        Option(id="v1k", name="1 kg", stock=5, price=9000, unit="1 kg", weight_g=1000),
        Option(id="vsmall", name="sample", stock=5, price=500),
    )
    p = await add_product(store, name="Wild honey", price=5000, stock=20, options=jars)
    show = await add_show(store, p)
    paid = [(await store.place_order(option_request(show, p, o.id))).order.price for o in jars]
    assert paid == [3000, 5000, 9000, 500]
    await store.set_deal(show.id, p.id, deal(4000))  # 10 yuan off every jar
    paid = [(await store.place_order(option_request(show, p, o.id))).order.price for o in jars]
    # the sample costs less than the discount: it keeps its own price
    assert paid == [2000, 4000, 8000, 500]
    assert paid == [domain.option_unit_price(p, o, deal(4000), 0.0) for o in jars]


async def test_option_stock_moves_one_option_and_the_sum(store: Store) -> None:
    p = await add_shoes(store)
    after = await store.update_option_stock(p.id, p.options[1].id, stock_delta=10)
    assert stocks(after) == [3, 12, 1] and after.stock == 16
    after = await store.update_option_stock(p.id, p.options[0].id, stock=0)
    assert stocks(after) == [0, 12, 1] and after.stock == 13
    assert await store.get_product(p.id) == after
    with pytest.raises(Conflict):
        await store.update_option_stock(p.id, p.options[2].id, stock_delta=-2)
    with pytest.raises(Invalid):
        await store.update_option_stock(p.id, p.options[2].id, stock=domain.MAX_STOCK + 1)
    with pytest.raises(NotFound):
        await store.update_option_stock(p.id, "nosuchoption", stock=1)
    # the product's own stock is the options' sum: it can't be set directly
    with pytest.raises(Conflict):
        await store.update_product(p.id, {}, stock_delta=1)
    assert await store.get_product(p.id) == after
    # other fields still edit as before, keeping the options
    renamed = await store.update_product(p.id, {"name": "Shoes"})
    assert renamed.options == after.options and renamed.name == "Shoes"


async def test_options_are_added_renamed_reordered_and_removed(store: Store) -> None:
    p = await add_shoes(store)
    _, s37, s38 = p.options
    show = await add_show(store, p)
    await store.place_order(option_request(show, p, s37.id))
    specs = [
        OptionSpec(name="38 (wide)", id=s38.id, price=12000),
        OptionSpec(name="37", id=s37.id, stock=999),  # an existing option keeps its stock
        OptionSpec(name="39", stock=4, unit="pair", weight_g=700),
    ]
    after = await store.set_options(p.id, specs, ["v39"])
    assert [(o.id, o.name, o.stock, o.sold, o.price) for o in after.options] == [
        (s38.id, "38 (wide)", 1, 0, 12000),
        (s37.id, "37", 1, 1, None),
        ("v39", "39", 4, 0, None),
    ]
    assert (after.options[2].unit, after.options[2].weight_g) == ("pair", 700)
    assert after.stock == 6 and after.sold == 1 and after.version > p.version
    assert await store.get_product(p.id) == after
    # the sold option can be emptied, not removed
    with pytest.raises(Conflict):
        await store.set_options(p.id, [OptionSpec(name="39", id="v39")], [])
    with pytest.raises(Invalid):
        await store.set_options(p.id, [OptionSpec(name="37", id="nosuchoption")], [])
    with pytest.raises(Invalid):
        await store.set_options(p.id, [OptionSpec(name="a"), OptionSpec(name="A ")], ["x", "y"])
    assert await store.get_product(p.id) == after
    emptied = await store.update_option_stock(p.id, s37.id, stock=0)
    assert stocks(emptied) == [1, 0, 4]
    # the order keeps the name the option had
    assert [o.option_name for o in await store.list_orders(show.id)] == ["37"]


async def test_a_plain_product_gets_options_only_while_nothing_is_sold(store: Store) -> None:
    plain = await add_product(store, stock=5)
    split = await store.set_options(plain.id, [OptionSpec(name="red", stock=2)], ["vred"])
    assert split.stock == 2 and split.options[0].id == "vred"
    sold = await add_product(store, stock=5)
    show = await add_show(store, sold)
    await store.place_order(order_request(show, sold))
    with pytest.raises(Conflict):
        await store.set_options(sold.id, [OptionSpec(name="red", stock=2)], ["vred"])
    assert (await store.get_product(sold.id)).options == ()


# --- events ---------------------------------------------------------------------------------


@pytest.fixture
async def feed(store: Store) -> AsyncIterator[tuple[list[dict[str, Any]], Feed]]:
    seen: list[dict[str, Any]] = []

    def deliver(show_id: str, event: Event) -> None:
        seen.append(msgspec.to_builtins(event))

    async def resync(show_ids: set[str]) -> None:
        return None

    broker = store.open_feed()
    await broker.start(deliver, resync)
    try:
        yield seen, broker
    finally:
        await broker.close()


async def test_events_carry_every_options_stock(
    store: Store, feed: tuple[list[dict[str, Any]], Feed]
) -> None:
    import asyncio

    seen, broker = feed
    p = await add_shoes(store)
    show = await add_show(store, p)
    other = await add_show(store, p)
    await broker.subscribe(show.id)
    await broker.subscribe(other.id)
    s36, s37, s38 = p.options
    placed = await store.place_order(option_request(show, p, s37.id))
    await store.update_option_stock(p.id, s36.id, stock_delta=5)
    await store.cancel_order(placed.order.id)
    await store.set_options(p.id, [OptionSpec(name="38", id=s38.id)], [])
    await asyncio.sleep(0.15)

    def opts(e: dict[str, Any]) -> list[tuple[str, int, int]]:
        return [(o["id"], o["stock"], o["sold"]) for o in e["options"]]

    order = next(e for e in seen if e["type"] == "order")
    assert order["option_id"] == s37.id and order["stock"] == 5
    assert opts(order) == [(s36.id, 3, 0), (s37.id, 1, 1), (s38.id, 1, 0)]
    stock_events = [e for e in seen if e["type"] == "stock"]
    assert [opts(e) for e in stock_events] == [
        [(s36.id, 3, 0), (s37.id, 1, 1), (s38.id, 1, 0)],  # the order, in the other show
        [(s36.id, 8, 0), (s37.id, 1, 1), (s38.id, 1, 0)],  # the stock edit, in both
        [(s36.id, 8, 0), (s37.id, 1, 1), (s38.id, 1, 0)],
        [(s36.id, 8, 0), (s37.id, 2, 0), (s38.id, 1, 0)],  # the cancel, in both
        [(s36.id, 8, 0), (s37.id, 2, 0), (s38.id, 1, 0)],
    ]
    edits = [e for e in seen if e["type"] == "product"]
    assert len(edits) == 2
    assert [(o["id"], o["name"], o["stock"]) for o in edits[0]["product"]["options"]] == [
        (s38.id, "38", 1)
    ]
    assert edits[0]["product"]["stock"] == 1
