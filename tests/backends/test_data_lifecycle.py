"""Data lifecycle on both backends: export and import (moving servers, archiving), and
forgetting buyers' delivery details after shipping or on request, keeping the orders' figures."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from live import authenticity as au
from live import datafile, forget
from live.authenticity import Label, Verification
from live.backends import Store, open_store
from live.backends.base import DataSet
from live.domain import Option, OrderRequest, OrderStatus, Product, Profile, Show
from live.errors import Conflict, NotFound, OrderRefused, Reason
from live.trust import FeedbackBody, LotBody, OrderLotBody, ShowLotBody, Trust
from tests import helpers

PHONE = "+86 138 0013 8000"
PHONE_KEY = "8613800138000"
DAY = 24 * 3600


def details(name: str = "Li Na") -> Profile:
    return Profile(name=name, phone=PHONE, street="3 Tea Lane", city="Hangzhou", toasts=True)


@pytest.fixture
async def other_store(
    backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    """A second, empty store of the same kind (another server, say)."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    store = open_store(url, prefix=key_prefix + "b")
    try:
        yield store
    finally:
        await store.close()


async def a_sale(store: Store) -> dict[str, object]:
    """A small co-op's history: products, a show with a deal, orders in every status, buyers'
    details tied to a phone, a setting and an account."""
    honey = await helpers.add_product(store, stock=10, limit_per_buyer=3, name="Honey")
    shoes = await helpers.add_product(store, stock=5, name="Shoes")
    show = await helpers.add_show(store, honey, shoes)
    await store.set_deal(show.id, honey.id, helpers.deal(800))
    li, wang = helpers.buyer(), helpers.buyer()
    await store.set_profile(li, details(), phone_key=PHONE_KEY)
    await store.set_profile(wang, details("Wang Fang"), phone_key="8613900139000")
    first = helpers.order_request(show, honey, buyer=li, qty=2)
    orders = [await store.place_order(first)]
    orders.append(await store.place_order(helpers.order_request(show, shoes, buyer=wang)))
    orders.append(await store.place_order(helpers.order_request(show, shoes, buyer=wang)))
    await store.cancel_order(orders[2].order.id)
    await store.set_order_status(orders[1].order.id, OrderStatus.SHIPPED, unpaid=True)
    await store.set_coop_settings({"lang": "en"})
    await store.set_user("lina", "scrypt$hash")
    return {"honey": honey, "show": show, "li": li, "wang": wang, "first": first}


@pytest.fixture(params=["same", "other"])
async def moved_to(
    backend: str, request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[Store]:
    """An empty store to move to: of the same kind, or of the other (memory <-> Redis)."""
    kind = backend if request.param == "same" else {"memory": "redis", "redis": "memory"}[backend]
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    store = open_store(url, prefix=key_prefix + "m")
    try:
        yield store
    finally:
        await store.close()


async def a_labelled_sale(store: Store) -> tuple[dict[str, object], Trust, list[Label]]:
    """`a_sale`, then authenticity on it: a lot per product (the show's default for honey, the
    shipped shoes' own), a label per live unit, one label scanned from two devices, verified
    and rated low."""
    sale = await a_sale(store)
    trust = Trust(store, time.time)
    honey, show = sale["honey"], sale["show"]
    assert isinstance(honey, Product) and isinstance(show, Show)
    spring = await trust.create_lot(honey.id, LotBody(name="Spring", date="2026-05-12"))
    await trust.set_show_lot(show.id, ShowLotBody(product_id=spring.product_id, lot_id=spring.id))
    shipped = next(o for o in await store.list_orders(show.id) if o.status is OrderStatus.SHIPPED)
    autumn = await trust.create_lot(shipped.product_id, LotBody(name="Autumn", place="Hilltop"))
    await trust.set_order_lot(shipped.id, OrderLotBody(lot_id=autumn.id))
    labels = await trust.issue_labels(show.id)
    assert len(labels) == 3  # two honey units, one pair of shoes; none for the cancelled order
    first = labels[0]
    for device in ("d1", "d2", "d1"):
        await trust.view(first.serial, device=device)
    assert (await trust.verify(first.serial, first.pin)).first is True
    await trust.add_feedback(first.serial, FeedbackBody(pin=first.pin, rating=2, note="thin"))
    return sale, trust, await store.list_labels(show.id)


def normal(data: DataSet) -> DataSet:
    """The same data in a fixed order (Redis lists buyers in no particular order)."""
    return dataclasses.replace(data, buyers=tuple(sorted(data.buyers, key=lambda b: b.buyer)))


async def test_an_export_imports_into_another_store_as_it_was(
    store: Store, other_store: Store
) -> None:
    sale = await a_sale(store)
    exported = await store.export_data()
    assert len(exported.orders) == 3 and len(exported.buyers) == 2

    out = io.BytesIO()  # through the file format, as `live export` / `live import` do
    datafile.write(exported, out, store=store.kind, now=time.time())
    await other_store.import_data(datafile.read(out.getvalue().splitlines()))

    assert normal(await other_store.export_data()) == normal(exported)
    # What is derived came back too: the key answers its order, the limit counts the phone's
    # units, numbers go on, stock and the deal hold.
    again = await other_store.place_order(sale["first"])  # type: ignore[arg-type]
    assert again.created is False
    honey, show = sale["honey"], sale["show"]
    with pytest.raises(OrderRefused) as refused:
        await other_store.place_order(
            helpers.order_request(show, honey, buyer=sale["li"], qty=2)  # type: ignore[arg-type]
        )
    assert refused.value.reason is Reason.LIMIT_EXCEEDED
    next_order = await other_store.place_order(helpers.order_request(show, honey))  # type: ignore[arg-type]
    assert next_order.order.number == 4
    assert next_order.order.price == 800 and next_order.stock == 7
    assert await other_store.get_coop_settings() == {"lang": "en"}
    assert await other_store.get_user("lina") == "scrypt$hash"


async def test_options_and_pre_orders_move_with_the_data(store: Store, moved_to: Store) -> None:
    """A product with sizes, one size sold out and taking pre-orders: after the move the same
    key answers its option's order, the pre-order room and the harvest carry on."""
    sizes = (
        Option(id="v38", name="38", stock=1, preorder_cap=2, ships_from="2027-05-10"),
        Option(id="v39", name="39", stock=3, weight_g=500),
    )
    shoes = await helpers.add_product(store, name="Shoes", stock=4, options=sizes)
    show = await helpers.add_show(store, shoes)

    def size(option_id: str, **kw: object) -> OrderRequest:
        return dataclasses.replace(helpers.order_request(show, shoes, **kw), option_id=option_id)

    first = size("v38")
    await store.place_order(first)
    pre = await store.place_order(size("v38"))  # size 38 is gone: a pre-order
    assert pre.order.preorder and pre.order.option_name == "38"
    exported = await store.export_data()

    out = io.BytesIO()
    datafile.write(exported, out, store=store.kind, now=time.time())
    await moved_to.import_data(datafile.read(out.getvalue().splitlines()))

    assert normal(await moved_to.export_data()) == normal(exported)
    again = await moved_to.place_order(first)
    assert again.created is False and again.order.option_id == "v38"
    assert (await moved_to.place_order(size("v38"))).order.preorder  # the cap's last room
    with pytest.raises(OrderRefused) as refused:
        await moved_to.place_order(size("v38"))
    assert refused.value.reason is Reason.SOLD_OUT
    taken = await moved_to.place_order(size("v39", qty=2))
    assert taken.stock == 1 and not taken.order.preorder


async def test_holds_and_payment_notices_move_with_the_data(store: Store, moved_to: Store) -> None:
    """A show with a 60 s hold: one claim expired, one still running, a buyer's "I have paid".
    After the move the running claim still expires (once), the expired one holds no units of
    the buyer's limit, and the notice is there for the host."""
    honey = await helpers.add_product(store, stock=5, limit_per_buyer=2, name="Honey")
    show = dataclasses.replace(await helpers.add_show(store, honey), hold_seconds=60)
    show = await store.create_show(dataclasses.replace(show, id=helpers.new_id("s")))
    await store.set_ordering(show.id, True)
    await store.set_on_sale(show.id, honey.id, True)
    li, wang = helpers.buyer(), helpers.buyer()
    now = time.time()

    def claim(buyer: str, at: float, qty: int = 1) -> OrderRequest:
        return helpers.order_request(show, honey, buyer=buyer, qty=qty, now=at)

    early = (await store.place_order(claim(li, now - 120, qty=2))).order
    running = (await store.place_order(claim(wang, now))).order
    assert [o.id for o in await store.expire_orders(now)] == [early.id]
    await store.set_payment_notice(show.id, wang, {"state": "pending", "amount": "2800"})
    exported = await store.export_data()

    out = io.BytesIO()
    datafile.write(exported, out, store=store.kind, now=now)
    await moved_to.import_data(datafile.read(out.getvalue().splitlines()))

    assert normal(await moved_to.export_data()) == normal(exported)
    moved = await moved_to.get_show(show.id)
    assert moved.hold_seconds == 60
    assert await moved_to.payment_notices(show.id) == {wang: {"state": "pending", "amount": "2800"}}
    # Li's expired claim gave her limit back: two more fit.
    again = await moved_to.place_order(claim(li, now + 30, qty=2))
    assert again.order.status is OrderStatus.CLAIMED and again.stock == 2
    assert running.expires_at is not None
    later = running.expires_at + 1  # Li's new claim runs 30 s longer
    expired = await moved_to.expire_orders(later)
    assert [o.id for o in expired] == [running.id]
    assert await moved_to.expire_orders(later) == []  # exactly once
    assert (await moved_to.get_product(honey.id)).stock == 3


async def test_labels_lots_and_ratings_move_with_the_data_and_keep_verifying(
    store: Store, moved_to: Store
) -> None:
    sale, trust, labels = await a_labelled_sale(store)
    show = sale["show"]
    assert isinstance(show, Show)
    exported = await store.export_data()
    assert (len(exported.lots), len(exported.labels), len(exported.lot_choices)) == (2, 3, 1)
    out = io.BytesIO()
    datafile.write(exported, out, store=store.kind, now=time.time())
    await moved_to.import_data(datafile.read(out.getvalue().splitlines()))
    assert normal(await moved_to.export_data()) == normal(exported)

    moved = Trust(moved_to, time.time)
    verified, unverified = labels[0], labels[1]
    assert (verified.scans, verified.devices) == (3, 2) and verified.verified_at is not None
    # The printed label still verifies with its PIN, and says when it first was.
    again = await moved.verify(verified.serial, verified.pin)
    assert again == Verification(verified_at=verified.verified_at, first=False)
    assert (await moved.verify(unverified.serial, unverified.pin)).first is True
    with pytest.raises(Conflict):  # one rating per unit, still
        await moved.add_feedback(verified.serial, FeedbackBody(pin=verified.pin, rating=5))
    # A repeat of the issue answers the same labels; a new order gets only its own.
    assert await moved.issue_labels(show.id) == await moved_to.list_labels(show.id)
    assert [lb.serial for lb in await moved.issue_labels(show.id)] == [lb.serial for lb in labels]
    # The store still knows each unit is labelled: a racing issuer's draft for one is dropped.
    late = dataclasses.replace(unverified, serial=au.new_serial(), pin=au.new_pin())
    assert await moved_to.issue_labels(show.id, [late]) == await moved_to.list_labels(show.id)
    # The lots, the unit's page and the quality figures read as before the move.
    assert await moved.lots() == await trust.lots()
    assert await moved.lot_choices(show.id) == await trust.lot_choices(show.id)
    assert await moved.quality() == await trust.quality()
    unit = await moved.unit(verified.serial)
    assert unit.lot is not None and unit.lot.name == "Spring"
    scanned = (await moved.view(verified.serial, device="d3")).label
    assert (scanned.scans, scanned.first_scan_at) == (4, verified.first_scan_at)
    assert scanned.devices == 3
    honey = sale["honey"]
    assert isinstance(honey, Product)
    await moved_to.place_order(helpers.order_request(show, honey))
    assert len(await moved.issue_labels(show.id)) == 4


async def test_a_version_1_file_without_authenticity_records_imports(store: Store) -> None:
    lines = [
        b'{"type":"header","format":"sunlit-live-export","version":1,"exported_at":0,'
        b'"store":"redis","counts":{}}',
        b'{"type":"product","product":{"id":"p1","name":"Honey","price":1000,"stock":5}}',
        b'{"type":"settings","settings":{"lang":"en"}}',
    ]
    await store.import_data(datafile.read(lines))
    assert [p.id for p in await store.list_products()] == ["p1"]
    assert await store.list_lots() == []
    exported = await store.export_data()
    assert (exported.lots, exported.labels, dict(exported.lot_choices)) == ((), (), {})


async def test_forgetting_a_buyer_leaves_the_labels_which_hold_no_buyer_data(
    store: Store,
) -> None:
    sale, trust, labels = await a_labelled_sale(store)
    show = sale["show"]
    assert isinstance(show, Show)
    assert await store.forget_buyer(str(sale["li"])) is True
    assert await store.list_labels(show.id) == labels
    verified = labels[0]
    assert (await trust.verify(verified.serial, verified.pin)).first is False
    assert await trust.issue_labels(show.id) == labels
    spring = next(lot for lot in await trust.lots() if lot.name == "Spring")
    _, rows = await trust.trace(spring.id)
    assert [row.profile for row in rows] == [None]  # the recall list lost the details only
    assert rows[0].serials == (labels[0].serial, labels[1].serial)


async def test_import_refuses_a_store_that_holds_data_unless_told_to_replace(
    store: Store, other_store: Store
) -> None:
    await a_sale(store)
    exported = await store.export_data()
    kept = await helpers.add_product(other_store, name="Chili sauce")
    with pytest.raises(Conflict):
        await other_store.import_data(exported)
    assert [p.id for p in await other_store.list_products()] == [kept.id]  # nothing changed

    await other_store.import_data(exported, replace=True)
    assert normal(await other_store.export_data()) == normal(exported)  # the old one is gone


async def test_replacing_drops_the_labels_and_lots_the_store_held(
    store: Store, other_store: Store
) -> None:
    _, _, labels = await a_labelled_sale(store)
    exported = await store.export_data()
    _, _, theirs = await a_labelled_sale(other_store)
    await other_store.import_data(exported, replace=True)
    assert normal(await other_store.export_data()) == normal(exported)
    assert [lot.name for lot in await other_store.list_lots()] == ["Spring", "Autumn"]
    assert [fb.rating for _, fb in await other_store.list_feedback()] == [2]
    with pytest.raises(NotFound):  # the replaced deployment's labels no longer verify
        await other_store.get_label(theirs[0].serial)
    assert await other_store.get_label(labels[0].serial) == labels[0]


async def test_forgetting_a_buyer_deletes_the_details_everywhere_and_keeps_the_figures(
    store: Store,
) -> None:
    product = await helpers.add_product(store, stock=10, limit_per_buyer=2)
    show = await helpers.add_show(store, product)
    buyer, twin = helpers.buyer(), helpers.buyer()  # two devices of one phone
    await store.set_profile(buyer, details(), phone_key=PHONE_KEY)
    await store.set_profile(twin, details(), phone_key=PHONE_KEY)
    request = dataclasses.replace(
        helpers.order_request(show, product, buyer=buyer, qty=2), ip="10.1.2.3"
    )
    placed = await store.place_order(request)

    assert await store.forget_buyer(buyer) is True
    assert await store.get_profiles([buyer]) == {}
    assert buyer not in await store.buyers_with_details()
    order = await store.get_order(placed.order.id)
    assert order.ip == ""
    assert (order.qty, order.price, order.status, order.number) == (2, 1000, OrderStatus.CLAIMED, 1)
    assert [o.id for o in await store.list_orders(show.id)] == [placed.order.id]
    # The phone's count no longer holds the forgotten token's units (the tie is gone).
    await store.place_order(helpers.order_request(show, product, buyer=twin, qty=2))
    assert await store.forget_buyer(buyer) is False  # again: nothing left, nothing changes
    assert (await store.get_product(product.id)).stock == 6


async def test_the_sweep_forgets_buyers_whose_parcels_shipped_long_enough_ago(
    store: Store,
) -> None:
    product = await helpers.add_product(store, stock=10)
    show = await helpers.add_show(store, product)
    shipped, waiting, cancelled = helpers.buyer(), helpers.buyer(), helpers.buyer()
    for buyer in (shipped, waiting, cancelled):
        await store.set_profile(buyer, details())
    placed = {
        b: await store.place_order(helpers.order_request(show, product, buyer=b))
        for b in (shipped, waiting, cancelled)
    }
    await store.set_order_status(placed[shipped].order.id, OrderStatus.SHIPPED, unpaid=True)
    await store.cancel_order(placed[cancelled].order.id)
    assert (await store.get_order(placed[shipped].order.id)).shipped_at == pytest.approx(
        time.time(), abs=5
    )

    assert await forget.sweep(store, after_days=90) == []  # shipped today: kept
    forgotten = await forget.sweep(store, after_days=90, now=time.time() + 91 * DAY)
    assert sorted(forgotten) == sorted([shipped, cancelled])
    assert set(await store.get_profiles([shipped, waiting, cancelled])) == {waiting}
    # A second sweep (another process) finds nothing more to do.
    assert await forget.sweep(store, after_days=90, now=time.time() + 91 * DAY) == []


async def test_the_sweep_forgets_a_buyer_whose_only_claim_expired(store: Store) -> None:
    """An expired claim (holds, issue 14) is settled like a cancelled one: nothing will ship,
    so the details go after the same time; the phone's units don't count it."""
    product = await helpers.add_product(store, stock=10, limit_per_buyer=1)
    show = dataclasses.replace(await helpers.add_show(store, product), hold_seconds=60)
    show = await store.create_show(dataclasses.replace(show, id=helpers.new_id("s")))
    await store.set_ordering(show.id, True)
    await store.set_on_sale(show.id, product.id, True)
    lapsed, twin = helpers.buyer(), helpers.buyer()  # two devices of one phone
    await store.set_profile(lapsed, details(), phone_key=PHONE_KEY)
    await store.set_profile(twin, details(), phone_key=PHONE_KEY)
    long_ago = time.time() - 100 * DAY
    claim = helpers.order_request(show, product, buyer=lapsed, now=long_ago)
    await store.place_order(claim)
    assert len(await store.expire_orders(time.time())) == 1

    assert await forget.sweep(store, after_days=90) == [lapsed]
    assert set(await store.get_profiles([lapsed, twin])) == {twin}
    # The phone's limit of one holds nothing of the expired claim: the twin may buy.
    await store.place_order(helpers.order_request(show, product, buyer=twin))


async def test_a_deletion_request_by_phone_forgets_every_token_of_that_phone(
    store: Store,
) -> None:
    mine, also_mine, someone = helpers.buyer(), helpers.buyer(), helpers.buyer()
    await store.set_profile(mine, details(), phone_key=PHONE_KEY)
    await store.set_profile(also_mine, details(), phone_key=PHONE_KEY)
    await store.set_profile(someone, details("Wang Fang"), phone_key="8613900139000")
    assert sorted(await forget.forget_phone(store, "13800138000")) == sorted([mine, also_mine])
    assert set(await store.get_profiles([mine, also_mine, someone])) == {someone}


@pytest.mark.redis
def test_the_commands_move_a_deployment_and_forget_on_request(
    redis_url: str, key_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`live export`, `live import` (refusing a store with data), `live forget --phone`; the
    labels and lots go along."""
    import asyncio

    from live.cli import main

    async def seed() -> str:
        store = open_store(redis_url, prefix=key_prefix)
        try:
            sale, _, _ = await a_labelled_sale(store)
            return str(sale["li"])
        finally:
            await store.close()

    li = asyncio.run(seed())
    monkeypatch.setenv("LIVE_REDIS_URL", redis_url)
    monkeypatch.setenv("LIVE_REDIS_PREFIX", key_prefix)
    dump = tmp_path / "coop.jsonl"
    assert main(["export", str(dump)]) == 0
    assert main(["import", str(dump)]) == 1  # the same, non-empty deployment: refused
    monkeypatch.setenv("LIVE_REDIS_PREFIX", key_prefix + "moved")
    assert main(["import", str(dump)]) == 0
    assert main(["forget", "--phone", PHONE]) == 0

    async def check() -> None:
        store = open_store(redis_url, prefix=key_prefix + "moved")
        try:
            moved = await store.export_data()
            assert (len(moved.orders), len(moved.labels), len(moved.lots)) == (3, 3, 2)
            assert li not in await store.buyers_with_details()
        finally:
            await store.close()

    asyncio.run(check())


@pytest.mark.redis
def test_the_api_answers_the_same_labels_verification_and_quality_after_a_move(
    redis_url: str, key_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the host API and the public verification, before `live export` and after
    `live import` into another deployment."""
    import asyncio

    from starlette.testclient import TestClient

    from live.app import create_app
    from live.cli import main
    from live.config import Settings
    from tests.conftest import ADMIN_TOKEN

    async def seed() -> tuple[str, Label]:
        store = open_store(redis_url, prefix=key_prefix)
        try:
            sale, _, labels = await a_labelled_sale(store)
            assert isinstance(sale["show"], Show)
            return sale["show"].id, labels[0]
        finally:
            await store.close()

    show_id, verified = asyncio.run(seed())

    def answers(prefix: str) -> list[object]:
        settings = Settings(
            admin_token=ADMIN_TOKEN, secret_key="s", redis_url=redis_url, redis_prefix=prefix
        )
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with TestClient(create_app(settings), headers=auth) as client:
            replies = [
                client.post(f"/api/shows/{show_id}/labels"),
                client.get(f"/api/shows/{show_id}/labels"),
                client.get("/api/quality"),
                client.post(f"/api/verify/{verified.serial}", json={"pin": verified.pin}),
            ]
        assert [r.status_code for r in replies] == [200, 200, 200, 200]
        return [r.json() for r in replies]

    before = answers(key_prefix)
    assert before[3] == {"verified_at": verified.verified_at, "first": False}
    monkeypatch.setenv("LIVE_REDIS_URL", redis_url)
    monkeypatch.setenv("LIVE_REDIS_PREFIX", key_prefix)
    dump = tmp_path / "coop.jsonl"
    assert main(["export", str(dump)]) == 0
    monkeypatch.setenv("LIVE_REDIS_PREFIX", key_prefix + "moved")
    assert main(["import", str(dump)]) == 0
    assert answers(key_prefix + "moved") == before


async def test_forgetting_a_buyer_deletes_their_payment_screenshots(
    store: Store, tmp_path: Path
) -> None:
    """A transfer's screenshot shows the buyer's name and account: it goes with the details
    (the file and its name in the notice), on request and by the sweep; others stay."""
    product = await helpers.add_product(store, stock=10)
    show = await helpers.add_show(store, product)
    asked, swept, other = helpers.buyer(), helpers.buyer(), helpers.buyer()
    for buyer in (asked, swept, other):
        await store.set_profile(buyer, details())
        placed = await store.place_order(helpers.order_request(show, product, buyer=buyer))
        if buyer is swept:
            await store.set_order_status(placed.order.id, OrderStatus.SHIPPED, unpaid=True)
        (tmp_path / f"{buyer}.webp").write_bytes(b"RIFF")
        notice = {"state": "pending", "amount": "1000", "proof": f"{buyer}.webp"}
        await store.set_payment_notice(show.id, buyer, notice)

    assert await forget.forget_buyer(store, asked, proofs=tmp_path) is True
    forgotten = await forget.sweep(
        store, after_days=90, now=time.time() + 91 * DAY, proofs=tmp_path
    )
    assert forgotten == [swept]

    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{other}.webp"]
    notices = await store.payment_notices(show.id)
    assert notices[asked] == {"state": "pending", "amount": "1000", "proof": ""}
    assert notices[swept]["proof"] == "" and notices[other]["proof"] == f"{other}.webp"
    assert await forget.drop_proofs(store, [asked, swept], tmp_path) == 0  # nothing left
