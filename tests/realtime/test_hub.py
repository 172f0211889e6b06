"""The hub without sockets: per-client rules (slow consumers, coalescing, snapshot filtering)
and a show's channel dropped while a viewer rejoins."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from live import domain
from live.app import create_app
from live.backends import Store
from live.config import settings_from_env
from live.errors import CloseCode, Reason, Unavailable
from live.hub import Client, Hub, Kind, Outgoing, SlowConsumer
from live.messages import product_json
from tests.helpers import add_product, add_show, deal, order_request


def stock(pid: str, version: int, seq: int) -> Outgoing:
    return Outgoing(Kind.STOCK, f"stock {pid} v{version}", seq=seq, product_id=pid, version=version)


def event(seq: int) -> Outgoing:
    return Outgoing(Kind.EVENT, f"event {seq}", seq=seq)


async def test_a_client_that_stops_reading_is_dropped_within_the_send_timeout() -> None:
    client = Client(limit=10)
    stuck = asyncio.Event()

    async def never_returns(text: str) -> None:
        await stuck.wait()

    client.put(event(1))
    started = asyncio.get_running_loop().time()
    with pytest.raises(SlowConsumer):
        await client.drain(never_returns, send_timeout=0.2)
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_full_mailbox_drops_the_client_and_frees_its_backlog() -> None:
    client = Client(limit=5)
    for seq in range(1, 50):
        client.put(event(seq))
    assert client.overflowed and len(client.items) == 0  # the backlog is freed at once
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    with pytest.raises(SlowConsumer):
        await client.drain(send, send_timeout=1)
    assert sent == []


async def test_the_writer_skips_what_the_snapshot_already_holds() -> None:
    client = Client(limit=100)
    queued = [event(3), stock("p", 4, 3), event(6), stock("p", 5, 7), stock("p", 5, 8), event(9)]
    for item in queued:
        client.put(item)
    # a snapshot read after those events were queued goes in front of them
    client.put_first(Outgoing(Kind.SNAPSHOT, "snapshot", seq=5, versions={"p": 4}))
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    await client.drain(send, send_timeout=1)
    # the snapshot travels alone; what follows it goes as one frame (an array of messages)
    assert sent == ["snapshot", "[event 6,stock p v5,event 9]"]
    assert not client.pumping and client.items == []


# --- events carry what the hub needs: no read-back from the store ------------------------

READS = ("get_product", "list_products", "get_show", "show_state", "list_shows", "show_by_code")


async def test_the_hub_answers_a_product_edit_and_a_key_rotation_without_reading_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await add_product(store, price=1000)
    other = await add_product(store)
    show = await add_show(store, product, other)
    await store.set_deal(show.id, product.id, deal(800, seconds=3600))
    await store.set_on_sale(show.id, other.id, False)
    hub = Hub(store, store.open_feed(), stock_interval=0)
    await hub.start()
    try:
        viewer = Client(limit=100)
        old_overlay = Client(limit=100, overlay_key=show.overlay_key, viewer=False)
        new_overlay = Client(limit=100, overlay_key="the-next-overlay-key", viewer=False)
        for client in (viewer, old_overlay, new_overlay):
            await hub.join(show.id, client)
        await asyncio.sleep(0.05)  # the snapshots are read

        touched: list[str] = []

        def refuse(name: str) -> Callable[..., Awaitable[object]]:
            async def read(*args: object, **kwargs: object) -> object:
                touched.append(name)
                raise Unavailable("the hub must not read the store on an event")

            return read

        for name in READS:
            monkeypatch.setattr(store, name, refuse(name))
        edited = await store.update_product(product.id, {"name": "Renamed 新"})
        await store.update_product(other.id, {"unit": "jar"})
        await store.set_overlay_key(show.id, "the-next-overlay-key")
        async with asyncio.timeout(3):
            while old_overlay.close_code is None or len(_products(viewer)) < 2:
                await asyncio.sleep(0.02)
        assert touched == []
        mine, theirs = _products(viewer)
        assert mine["prev"] < mine["seq"] < theirs["seq"] and theirs["prev"] == mine["seq"]
        # the message a snapshot would have held: the product in this show, deal included
        shown = await _real(store, "show_state", show.id)
        assert mine["product"] == product_json(edited, shown.show, time.time())
        assert mine["product"]["on_sale"] and mine["product"]["deal_price"] == 800
        assert theirs["product"]["unit"] == "jar" and not theirs["product"]["on_sale"]
        assert "deal_price" not in theirs["product"]
        assert old_overlay.close_code == CloseCode.KEY_ROTATED
        assert new_overlay.close_code is None and viewer.close_code is None
    finally:
        monkeypatch.undo()
        await hub.close()


def _products(client: Client) -> list[dict[str, Any]]:
    texts = [json.loads(item.text) for item in client.items if item.kind is Kind.EVENT]
    return [m for m in texts if m["type"] == "product"]


async def _real(store: Store, name: str, *args: object) -> Any:
    """A read through the class, past the instance's refusing stand-in."""
    return await getattr(type(store), name)(store, *args)


# --- tunables: in the settings, one LIVE_ variable each ----------------------------------


def test_the_hub_tunables_come_from_the_settings() -> None:
    settings = settings_from_env(
        {
            "LIVE_STOCK_INTERVAL": "0.5",
            "LIVE_TOAST_INTERVAL": "2",
            "LIVE_EVENT_BACKLOG": "500",
            "LIVE_UNSUBSCRIBE_GRACE": "0",
            "LIVE_MAILBOX_LIMIT": "64",
            "LIVE_SEND_TIMEOUT": "3",
        }
    )
    app = create_app(settings)
    with TestClient(app):
        hub = app.state.hub
        tunables = (
            hub.stock_interval,
            hub.toast_interval,
            hub.event_backlog,
            hub.unsubscribe_grace,
            hub.mailbox_limit,
        )
        assert tunables == (0.5, 2.0, 500, 0.0, 64)
    assert settings.send_timeout == 3.0
    unset = settings_from_env({})
    assert (unset.stock_interval, unset.event_backlog, unset.unsubscribe_grace) == (
        0.25,
        10_000,
        30,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIVE_STOCK_INTERVAL", "-1"),
        ("LIVE_TOAST_INTERVAL", "soon"),
        ("LIVE_EVENT_BACKLOG", "0"),
        ("LIVE_UNSUBSCRIBE_GRACE", "-0.5"),
        ("LIVE_MAILBOX_LIMIT", "many"),
        ("LIVE_SEND_TIMEOUT", "0"),
    ],
)
def test_a_bad_hub_tunable_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(SystemExit, match=name):
        settings_from_env({name: value})


async def test_a_viewer_rejoining_as_the_channel_is_dropped_still_gets_events(
    store: Store,
) -> None:
    hub = Hub(store, store.open_feed(), unsubscribe_grace=0.01)
    await hub.start()
    try:
        product = await add_product(store)
        show = await add_show(store, product)
        first = Client(limit=100)
        await hub.join(show.id, first)
        hub.leave(show.id, first)  # the last viewer leaves; after the grace the channel goes
        async with asyncio.timeout(2):
            while show.id in hub.channels:
                await asyncio.sleep(0)
        second = Client(limit=100)  # a viewer reconnects right then
        await hub.join(show.id, second)
        await asyncio.sleep(0.1)
        await store.set_featured(show.id, None)
        async with asyncio.timeout(1):
            while not any(i.kind is Kind.EVENT for i in second.items):
                await asyncio.sleep(0.02)
    finally:
        await hub.close()


# --- cheap refusals: the hub's own view of a show ---------------------------------------


async def _until(check: Callable[[], object], expected: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while check() != expected:
            await asyncio.sleep(0.01)


async def test_known_refusal_follows_the_snapshot_and_the_events_in_precedence(
    store: Store,
) -> None:
    product = await add_product(store, stock=2)
    other = await add_product(store, stock=5)
    show = await add_show(store, product, other)
    hub = Hub(store, store.open_feed(), stock_interval=0)
    await hub.start()
    try:
        assert hub.known_refusal(show.id, product.id) is None  # nobody watches it here
        await hub.join(show.id, Client(limit=1000))
        known = functools.partial(hub.known_refusal, show.id)
        await _until(lambda: hub.channels[show.id].view.fresh, True)
        assert known(product.id) is None and known(other.id) is None  # on sale, in stock
        assert known("p-not-in-the-lineup") is None  # the store answers what it doesn't know

        await store.set_on_sale(show.id, product.id, False)
        await _until(lambda: known(product.id), Reason.NOT_ON_SALE)
        await store.set_on_sale(show.id, product.id, True)
        await _until(lambda: known(product.id), None)

        for _ in range(2):
            await store.place_order(order_request(show, product))
        await _until(lambda: known(product.id), Reason.SOLD_OUT)
        assert known(other.id) is None
        await store.update_product(product.id, {}, stock_delta=1)  # stock comes back
        await _until(lambda: known(product.id), None)
        await store.update_product(product.id, {}, stock=0)
        await _until(lambda: known(product.id), Reason.SOLD_OUT)

        # precedence: not on sale before sold out, ordering closed before both
        await store.set_on_sale(show.id, product.id, False)
        await _until(lambda: known(product.id), Reason.NOT_ON_SALE)
        await store.set_ordering(show.id, False)
        await _until(lambda: known(product.id), Reason.ORDERING_CLOSED)
        assert known(other.id) is Reason.ORDERING_CLOSED
        assert known("p-not-in-the-lineup") is Reason.ORDERING_CLOSED
        await store.set_ordering(show.id, True)
        await _until(lambda: known(other.id), None)
        await store.end_show(show.id)
        await _until(lambda: known(other.id), Reason.ORDERING_CLOSED)
    finally:
        await hub.close()


async def test_known_refusal_never_says_what_the_store_would_not(store: Store) -> None:
    """After every host action, whatever the hub's view refuses, the store's state refuses for
    the same reason (featuring a product puts it on sale: the view must follow that too)."""
    a = await add_product(store, stock=1)
    b = await add_product(store, stock=3)
    show = await add_show(store, a, b)
    await store.set_on_sale(show.id, b.id, False)
    hub = Hub(store, store.open_feed(), stock_interval=0)
    await hub.start()
    actions: list[Callable[[], Awaitable[object]]] = [
        lambda: store.set_featured(show.id, b.id),  # on sale by being featured
        lambda: store.place_order(order_request(show, a)),  # a sells out
        lambda: store.update_product(b.id, {"name": "Renamed"}),
        lambda: store.set_on_sale(show.id, b.id, False),
        lambda: store.set_featured(show.id, None),
        lambda: store.update_product(a.id, {}, stock_delta=2),
        lambda: store.set_featured(show.id, a.id),
        lambda: store.set_ordering(show.id, False),
        lambda: store.set_ordering(show.id, True),
        lambda: store.end_show(show.id),
    ]
    try:
        await hub.join(show.id, Client(limit=1000))
        await _until(lambda: hub.channels[show.id].view.fresh, True)
        for step, act in enumerate(actions):
            await act()
            state = await store.show_state(show.id)
            async with asyncio.timeout(2):  # the view has the events up to this state
                while hub.channels[show.id].view.seq < state.show.seq:
                    await asyncio.sleep(0.01)
            for p in state.products:
                truth = domain.order_refusal(
                    ordering_open=state.show.ordering_open and not state.show.ended,
                    in_lineup=p.id in state.show.lineup,
                    on_sale=p.id in state.show.on_sale,
                    stock=p.stock,
                    qty=1,
                    bought=0,
                    limit_per_buyer=None,
                )
                hinted = hub.known_refusal(show.id, p.id)
                assert hinted in (None, truth), (step, p.id, hinted, truth)
    finally:
        await hub.close()


async def test_known_refusal_is_unsure_while_events_may_be_lost(store: Store) -> None:
    product = await add_product(store, stock=0)
    show = await add_show(store, product)
    hub = Hub(store, store.open_feed(), stock_interval=0)
    await hub.start()
    try:
        await hub.join(show.id, Client(limit=1000))
        known = functools.partial(hub.known_refusal, show.id)
        await _until(lambda: known(product.id), Reason.SOLD_OUT)

        # the feed lost events: unsure until a snapshot read after that
        view = hub.channels[show.id].view
        view.lost()
        assert known(product.id) is None
        await store.update_product(product.id, {}, stock=3)  # arrives while unsure
        await hub.resync({show.id})
        await _until(lambda: view.fresh, True)
        assert known(product.id) is None  # 3 in stock, from the snapshot

        # a snapshot whose read began before a loss does not make the view sure
        epoch = view.epoch
        state = await store.show_state(show.id)
        view.lost()
        view.reset(state, epoch)
        assert not view.fresh and known(product.id) is None

        # a lineup change says no more than "changed": unsure until the hub's snapshot for it
        await hub.resync({show.id})
        await _until(lambda: view.fresh, True)
        newcomer = await add_product(store, stock=0)
        await store.set_lineup(show.id, (product.id, newcomer.id))
        await store.set_on_sale(show.id, newcomer.id, True)
        await _until(lambda: known(newcomer.id), Reason.SOLD_OUT)

        # the last client leaves and the channel goes: nothing is known any more
        hub.unsubscribe_grace = 0
        for client in list(hub.channels[show.id].clients):
            hub.leave(show.id, client)
        await _until(lambda: show.id in hub.channels, False)
        assert known(newcomer.id) is None
    finally:
        await hub.close()
