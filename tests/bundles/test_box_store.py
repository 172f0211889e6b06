"""Gift boxes (bundles, issue 13) in the store, on both backends: a box's order takes every
part's units or none, its stock is what its parts allow, a cancel or an expiry gives every part
back once, and every show holding a part or the box hears the change. Races: box orders against
single-part orders of the same products from two store clients (two processes' worth on Redis).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from live import events
from live.backends import Store, open_store
from live.domain import Option, OptionSpec, OrderAccepted, OrderStatus, Part, Product
from live.errors import Conflict, OrderRefused, Reason, Unavailable
from tests.helpers import add_product, add_show, order_request


async def outcome(store: Store, request: Any) -> OrderAccepted | OrderRefused:
    try:
        return await store.place_order(request)
    except OrderRefused as refused:
        return refused


async def honey_and_chili(
    store: Store, *, honey: int = 5, chili: int = 5, **box: Any
) -> tuple[Product, Product, Option, Product]:
    jars = (Option(id="v250", name="250 g", stock=3), Option(id="v500", name="500 g", stock=honey))
    h = await add_product(store, name="Honey", stock=honey + 3, options=jars)
    c = await add_product(store, name="Chili sauce", stock=chili)
    parts = (Part(h.id, 1, "v500"), Part(c.id, 2))
    # Made as the service makes one: with the stock its parts allow.
    allowed = min(honey, chili // 2)
    b = await add_product(store, name="Gift box", stock=allowed, price=9900, parts=parts, **box)
    return h, c, jars[1], b


def stock_of(product: Product, option_id: str | None = None) -> int:
    for option in product.options:
        if option.id == option_id:
            return option.stock
    return product.stock


async def test_a_box_order_takes_every_part_and_its_stock_is_what_parts_allow(
    store: Store,
) -> None:
    h, c, _, b = await honey_and_chili(store, honey=5, chili=5)
    assert (await store.get_product(b.id)).stock == 2  # 5 sauces make 2 boxes of 2
    show = await add_show(store, b)
    placed = await store.place_order(order_request(show, b))
    assert placed.created and placed.stock == 1 and placed.order.product_id == b.id
    assert placed.order.price == 9900
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert stock_of(honey, "v500") == 4 and honey.stock == 7 and chili.stock == 3
    assert stock_of(honey, "v250") == 3
    box = await store.get_product(b.id)
    assert (box.stock, box.sold) == (1, 1)
    state = await store.show_state(show.id)
    assert state.products[0].stock == 1
    assert [p.stock for p in await store.list_products() if p.id == b.id] == [1]


async def test_a_box_is_sold_out_when_any_part_is_short_and_nothing_moves(store: Store) -> None:
    h, c, _, b = await honey_and_chili(store, honey=0, chili=9)
    show = await add_show(store, b)
    with pytest.raises(OrderRefused) as refused:
        await store.place_order(order_request(show, b))
    assert refused.value.reason is Reason.SOLD_OUT and refused.value.stock == 0
    _, _, _, b2 = await honey_and_chili(store, honey=9, chili=3)
    show2 = await add_show(store, b2)
    with pytest.raises(OrderRefused) as refused:
        await store.place_order(order_request(show2, b2, qty=2))  # 3 sauces: one box only
    assert refused.value.reason is Reason.SOLD_OUT and refused.value.stock == 1
    assert (await store.get_product(c.id)).stock == 9
    assert stock_of(await store.get_product(h.id), "v500") == 0


async def test_the_box_limit_per_buyer_counts_boxes(store: Store) -> None:
    _, _, _, b = await honey_and_chili(store, honey=9, chili=20, limit_per_buyer=2)
    show = await add_show(store, b)
    first = order_request(show, b, qty=2)
    await store.place_order(first)
    with pytest.raises(OrderRefused) as refused:
        await store.place_order(dataclasses.replace(order_request(show, b), buyer=first.buyer))
    assert refused.value.reason is Reason.LIMIT_EXCEEDED


async def test_a_retried_box_order_is_one_order(store: Store) -> None:
    _, c, _, b = await honey_and_chili(store, honey=9, chili=20)
    show = await add_show(store, b)
    request = order_request(show, b)
    first = await store.place_order(request)
    again = await store.place_order(dataclasses.replace(request, order_id="o-other"))
    assert not again.created and again.order.id == first.order.id and again.stock == 8
    assert (await store.get_product(c.id)).stock == 18


async def test_cancel_gives_every_part_back_once_and_shows_hear_it(store: Store) -> None:
    h, c, _, b = await honey_and_chili(store, honey=4, chili=8)
    show = await add_show(store, b)
    honey_show = await add_show(store, h, c)
    feed = store.open_feed()
    heard: list[events.Event] = []

    def deliver(show_id: str, event: events.Event) -> None:
        heard.append(event)

    async def resync(show_ids: set[str]) -> None:
        return None

    await feed.start(deliver, resync)
    await feed.subscribe(honey_show.id)
    placed = await store.place_order(order_request(show, b, qty=2))
    assert (await store.get_product(c.id)).stock == 4
    cancelled, first = await store.cancel_order(placed.order.id)
    assert first and cancelled.status is OrderStatus.CANCELLED
    assert (await store.cancel_order(placed.order.id))[1] is False
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert (stock_of(honey, "v500"), chili.stock, chili.sold) == (4, 8, 0)
    assert (await store.get_product(b.id)).stock == 4
    for _ in range(50):
        if len(heard) >= 4:
            break
        await asyncio.sleep(0.02)
    await feed.close()
    stock = [e for e in heard if isinstance(e, events.Stock)]
    assert [(e.product_id, e.stock) for e in stock] == [(h.id, 5), (c.id, 4), (h.id, 7), (c.id, 8)]
    assert [e.seq for e in stock] == sorted(e.seq for e in stock)
    assert (await store.get_show(honey_show.id)).seq == stock[-1].seq


async def test_expiry_gives_a_box_back_once(store: Store) -> None:
    h, c, _, b = await honey_and_chili(store, honey=4, chili=8)
    held = await add_held_show(store, b)
    placed = await store.place_order(order_request(held, b, now=1000.0))
    assert placed.order.expires_at == 1060.0
    assert await store.expire_orders(1059.0) == []
    expired = await store.expire_orders(1061.0)
    assert [o.id for o in expired] == [placed.order.id]
    assert await store.expire_orders(1062.0) == []
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert (stock_of(honey, "v500"), chili.stock) == (4, 8)
    assert (await store.get_order(placed.order.id)).status is OrderStatus.EXPIRED
    assert (await store.cancel_order(placed.order.id))[1] is False


async def add_held_show(store: Store, product: Product) -> Any:
    from live.domain import Show
    from tests.helpers import new_id

    show = await store.create_show(
        Show(id=new_id("s"), title="Held", lineup=(product.id,), overlay_key="k" * 22,
             hold_seconds=60)
    )  # fmt: skip
    await store.set_ordering(show.id, True)
    return await store.set_on_sale(show.id, product.id, True)


async def test_a_box_stock_cannot_be_set(store: Store) -> None:
    _, _, _, b = await honey_and_chili(store)
    with pytest.raises(Conflict):
        await store.update_product(b.id, {}, stock=5)
    renamed = await store.update_product(b.id, {"name": "Harvest box"})
    assert renamed.name == "Harvest box" and renamed.stock == 2


async def test_boxes_race_single_part_orders_for_the_last_units(
    store: Store, second: Store
) -> None:
    """Box orders (1 honey 500 g + 2 chili) and single orders of honey 500 g and of chili,
    from two clients, for the last units: no part oversold, every accepted order's units
    accounted for, no box sold once a part is gone."""
    h, c, _, b = await honey_and_chili(store, honey=6, chili=10)
    show = await add_show(store, b, h, c)
    clients = (store, second)
    requests: list[Any] = []
    for i in range(48):
        if i % 3 == 0:
            requests.append(order_request(show, b))
        elif i % 3 == 1:
            requests.append(dataclasses.replace(order_request(show, h), option_id="v500"))
        else:
            requests.append(order_request(show, c))
    results = await asyncio.gather(*(outcome(clients[i % 2], r) for i, r in enumerate(requests)))
    accepted = [r for r in results if isinstance(r, OrderAccepted)]
    assert all(r.reason is Reason.SOLD_OUT for r in results if isinstance(r, OrderRefused)), results
    boxes = sum(a.order.qty for a in accepted if a.order.product_id == b.id)
    honeys = sum(a.order.qty for a in accepted if a.order.product_id == h.id)
    chilis = sum(a.order.qty for a in accepted if a.order.product_id == c.id)
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert stock_of(honey, "v500") == 6 - boxes - honeys >= 0
    assert chili.stock == 10 - 2 * boxes - chilis >= 0
    assert chili.sold == 2 * boxes + chilis and (await store.get_product(b.id)).sold == boxes
    assert stock_of(honey, "v500") == 0 or chili.stock < 2  # the race ran the units out
    assert (await store.get_product(b.id)).stock == 0
    # Cancels racing from both clients give back exactly once.
    box_orders = [a.order.id for a in accepted if a.order.product_id == b.id]
    done = await asyncio.gather(
        *(clients[i % 2].cancel_order(oid) for i, oid in enumerate(box_orders * 2))
    )
    assert sum(first for _, first in done) == len(box_orders)
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert stock_of(honey, "v500") == 6 - honeys and chili.stock == 10 - chilis


async def test_a_show_holding_only_the_box_hears_its_stock_when_a_part_changes(
    store: Store, second: Store
) -> None:
    """A single-part order (from another client), its cancel and a host's stock edit of a part
    each tell the box's show the stock the box allows now; a change that leaves it is quiet.
    The telling runs after the change is answered (never in its way), so each step waits to
    hear it; a burst of changes is told its newest value (see the Redis store's _tell_later)."""
    h, c, _, b = await honey_and_chili(store, honey=5, chili=4)
    box_show = await add_show(store, b)
    chili_show = await add_show(store, c)
    feed = store.open_feed()
    heard: list[events.Event] = []

    def deliver(show_id: str, event: events.Event) -> None:
        heard.append(event)

    async def resync(show_ids: set[str]) -> None:
        return None

    await feed.start(deliver, resync)
    await feed.subscribe(box_show.id)

    async def hear(count: int) -> None:
        for _ in range(100):
            if len(heard) >= count:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # and nothing more

    placed = await second.place_order(order_request(chili_show, c, qty=3))  # 4 -> 1: no box
    await hear(1)
    await store.update_product(c.id, {}, stock_delta=1)  # 1 -> 2: one box
    await hear(2)
    await store.update_product(c.id, {}, stock_delta=1)  # 2 -> 3: still one box, quiet
    await hear(3)
    await second.cancel_order(placed.order.id)  # 3 -> 6: three boxes
    await hear(3)
    await store.update_option_stock(h.id, "v500", stock=2)  # two boxes by honey
    await hear(4)
    await feed.close()
    told = [(e.product_id, e.stock) for e in heard if isinstance(e, events.Stock)]
    assert told == [(b.id, 0), (b.id, 1), (b.id, 3), (b.id, 2)]
    assert [e.seq for e in heard] == sorted(e.seq for e in heard)
    assert (await store.show_state(box_show.id)).products[0].stock == 2


async def test_a_part_whose_option_is_gone_allows_no_box(store: Store) -> None:
    """An option of a box's part may go while no box holds its units: the box is then sold out
    (nothing taken), not an error; so is a box whose plain part was split into options."""
    h, c, _, b = await honey_and_chili(store, honey=5, chili=9)
    show = await add_show(store, b)
    await store.set_options(h.id, [OptionSpec(name="250 g", id="v250")], [])
    assert (await store.get_product(b.id)).stock == 0
    with pytest.raises(OrderRefused) as refused:
        await store.place_order(order_request(show, b))
    assert refused.value.reason is Reason.SOLD_OUT
    await store.set_options(c.id, [OptionSpec(name="hot", stock=9)], ["vhot"])
    _, _, _, b2 = await honey_and_chili(store, honey=5, chili=9)
    box2 = dataclasses.replace(b2, id="box-of-split", parts=(Part(c.id, 1),))
    await store.create_product(box2)
    show2 = await add_show(store, box2)
    with pytest.raises(OrderRefused) as refused:
        await store.place_order(order_request(show2, box2))
    assert refused.value.reason is Reason.SOLD_OUT
    assert (await store.get_product(c.id)).stock == 9


async def test_a_box_edit_tells_its_parts_and_its_stock(store: Store) -> None:
    """A host's edit of a box (its name) reaches the shows with its parts and the stock its
    parts allow (the buy page keeps saying what is in it)."""
    _, _, _, b = await honey_and_chili(store, honey=5, chili=9)
    show = await add_show(store, b)
    feed = store.open_feed()
    heard: list[events.Event] = []

    def deliver(show_id: str, event: events.Event) -> None:
        heard.append(event)

    async def resync(show_ids: set[str]) -> None:
        return None

    await feed.start(deliver, resync)
    await feed.subscribe(show.id)
    await store.update_product(b.id, {"name": "Harvest box"})
    for _ in range(50):
        if heard:
            break
        await asyncio.sleep(0.02)
    await feed.close()
    [edited] = [e for e in heard if isinstance(e, events.ProductEdited)]
    assert edited.product.parts == b.parts and edited.product.stock == 4
    assert edited.product.to_product().parts == b.parts


async def test_expiry_and_cancel_racing_give_a_box_back_once(store: Store, second: Store) -> None:
    """Two clients sweeping expired holds and a host's cancel, all at once, over the same box
    orders: each order's parts come back exactly once."""
    h, c, _, b = await honey_and_chili(store, honey=6, chili=12)
    held = await add_held_show(store, b)
    placed = [await store.place_order(order_request(held, b, now=1000.0 + i)) for i in range(4)]
    assert (await store.get_product(c.id)).stock == 4
    sweeps = asyncio.gather(store.expire_orders(2000.0), second.expire_orders(2000.0))
    cancels = asyncio.gather(
        *(second.cancel_order(p.order.id) for p in placed[:2]),
        *(store.cancel_order(p.order.id) for p in placed[2:]),
    )
    swept, done = await asyncio.gather(sweeps, cancels)
    expired = [o.id for batch in swept for o in batch]
    cancelled = [first for _, first in done]
    assert len(expired) + sum(cancelled) == 4 and len(set(expired)) == len(expired)
    honey, chili = await store.get_product(h.id), await store.get_product(c.id)
    assert (stock_of(honey, "v500"), chili.stock, chili.sold) == (6, 12, 0)
    assert (await store.get_product(b.id)).sold == 0


async def test_new_parts_change_what_the_box_allows_and_who_tells_it(store: Store) -> None:
    """After a box's parts change, its stock and its orders follow the new parts, and a change
    of an old part no longer moves it."""
    _, c, _, b = await honey_and_chili(store, honey=5, chili=9)
    tea = await add_product(store, name="Green tea", stock=3)
    show = await add_show(store, b)
    box = await store.set_parts(b.id, (Part(tea.id, 1, name="Green tea"),))
    assert box.stock == 3 and (await store.show_state(show.id)).products[0].stock == 3
    placed = await store.place_order(order_request(show, b, qty=2))
    assert placed.stock == 1 and (await store.get_product(tea.id)).stock == 1
    assert (await store.get_product(c.id)).stock == 9
    with pytest.raises(Conflict):
        await store.set_parts(b.id, (Part(c.id, 1),))
    with pytest.raises(Conflict):
        await store.set_parts(c.id, (Part(tea.id, 1),))
    await store.cancel_order(placed.order.id)
    assert (await store.get_product(tea.id)).stock == 3
    await store.update_product(c.id, {}, stock=0)  # an old part: the box is not its any more
    assert (await store.get_product(b.id)).stock == 3


async def test_telling_boxes_never_stands_in_an_orders_answer(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Redis a part's order tells the boxes holding it their stock in a step after the
    order. That step failing (Redis slow or gone right after the order) must not change the
    order's answer: the order exists, so the buyer hears it was accepted."""
    store = open_store(redis_url, prefix=key_prefix)
    try:
        _, c, _, _ = await honey_and_chili(store, honey=5, chili=4)
        show = await add_show(store, c)
        tried = asyncio.Event()

        async def fails(product_id: str) -> None:
            tried.set()
            raise Unavailable("redis did not answer")

        monkeypatch.setattr(store, "_tell_boxes", fails)
        placed = await store.place_order(order_request(show, c))
        assert placed.created and placed.stock == 3
        async with asyncio.timeout(2):
            await tried.wait()  # it was tried, after the answer, and failed quietly
    finally:
        await store.close()
