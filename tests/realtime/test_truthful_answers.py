"""Every order answer is the truth about the store, even from a process overloaded on purpose.

A tiny order deadline, a writer slowed on purpose (on Redis the real server pauses its writes;
in memory every step waits its turn behind an await before the real step) and thousands of
orders at once: every order is answered; the orders in the store are exactly the accepted
answers; nothing answered `busy` (or `unavailable`) exists in the store; stock and sold add
up. Then the same keys again with `retry`, as a client retries `busy`: none of them finds an
earlier order, because `busy` applied nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from starlette.testclient import TestClient

from live.admission import AdmissionGate
from live.backends import Store
from live.config import Settings
from live.domain import OrderAccepted, OrderRequest
from live.errors import Busy, LiveError
from live.service import PlaceOrder, Service
from live.timers import PatientTimer
from tests.helpers import add_product, add_show, buyer, key, make_product, make_show, post_order

ORDERS = 3000
STOCK = 500
DEADLINE = 0.3  # seconds; far below what the slowed writer needs for the crowd
PAUSE_MS = 1500  # Redis: writes paused this long (under the 2 s store timeout); long
# enough that the queue's patient deadline passes while Redis is still paused, however long the
# loop's first turns with 3,000 orders take on a loaded machine
STEP = 0.001  # memory: seconds each order step waits for the slowed writer

Answer = tuple[str, str | None, bool]  # code ("accepted" or the refusal), order id, created


@contextlib.asynccontextmanager
async def slowed_writer(
    backend: str, store: Store, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    if backend == "redis":
        # Small pipelines, so the paused writes hold every lane and later admitted orders
        # queue past the deadline (the 1,024 a pipeline of a sale would take the 1,200 orders
        # the gate admits here in one go, and nothing would be withdrawn).
        monkeypatch.setattr(store._order_script, "_max_batch", 64)  # type: ignore[attr-defined]
        raw = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        try:
            # The real server holds every write (EVALSHA included) for PAUSE_MS; reads go on.
            await raw.execute_command("CLIENT", "PAUSE", str(PAUSE_MS), "WRITE")
            yield
        finally:
            await raw.execute_command("CLIENT", "UNPAUSE")
            await raw.aclose()
        return
    # In memory: a writer queue in front of the store, with the Redis order queue's rule (an
    # order still queued at its deadline is withdrawn unsent; a deadline counts waiting, not a
    # loop held elsewhere: live/timers.py), each step then waiting for the slowed writer.
    writer = asyncio.Lock()
    real = store.place_order

    async def one_at_a_time(request: OrderRequest, *, send_by: float | None = None) -> Any:
        withdrawn = asyncio.Event()
        loop = asyncio.get_running_loop()
        wait = 0.0 if send_by is None else max(send_by - time.monotonic(), 0.0)
        timer = PatientTimer(loop, wait, withdrawn.set)
        try:
            async with writer:
                if withdrawn.is_set():
                    raise Busy("still queued at the deadline; nothing was applied")
                timer.cancel()  # sent: it runs, however long the writer takes
                await asyncio.sleep(STEP)
                return await real(request)
        finally:
            timer.cancel()

    monkeypatch.setattr(store, "place_order", one_at_a_time)
    try:
        yield
    finally:
        monkeypatch.undo()


async def answer(svc: Service, order: PlaceOrder) -> Answer:
    try:
        result: OrderAccepted = await svc.place_order(order)
    except LiveError as exc:
        return exc.code, None, False
    return "accepted", result.order.id, result.created


async def test_an_overloaded_process_answers_every_order_truthfully(
    store: Store, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = Service(store, Settings(order_deadline=DEADLINE))
    product = await add_product(store, stock=STOCK)
    show = await add_show(store, product)
    orders = [
        PlaceOrder(show_id=show.id, buyer=buyer(), product_id=product.id, qty=1, key=key())
        for _ in range(ORDERS)
    ]
    async with slowed_writer(backend, store, request, monkeypatch):
        answers = await asyncio.gather(*(answer(svc, o) for o in orders))

    codes = [code for code, _, _ in answers]
    assert len(answers) == ORDERS  # every order answered
    assert set(codes) <= {"accepted", "sold_out", "busy"}, set(codes)  # a healthy store
    gate = svc.admission
    # Both ways of saying busy happened: refused at the gate, and withdrawn unsent at the
    # deadline after being let in.
    assert codes.count("busy") == gate.refused + gate.withdrawn
    assert gate.refused > 0 and gate.withdrawn > 0, (gate.refused, gate.withdrawn)
    assert codes.count("accepted") > 0, (
        Counter(codes),
        gate.admitted,
        gate.refused,
        gate.withdrawn,
    )
    await check_the_books(store, show.id, product.id, orders, answers)

    # The client's way with busy: the same key again, marked as a retry, after the hint with
    # jitter. busy applied nothing, so no retry finds an order made by its first attempt.
    async def until_answered(i: int) -> None:
        for _ in range(100):
            code, _, created = answers[i]
            if code != "busy":
                assert code != "accepted" or created, "a busy answer had made an order"
                return
            await asyncio.sleep(svc.admission.retry_after_ms() / 1000 * random.uniform(1, 2))
            answers[i] = await answer(svc, dataclasses.replace(orders[i], retry=True))

    await asyncio.gather(*(until_answered(i) for i in range(ORDERS)))
    assert all(code in ("accepted", "sold_out") for code, _, _ in answers)
    assert [code for code, _, _ in answers].count("accepted") == STOCK
    await check_the_books(store, show.id, product.id, orders, answers)


async def check_the_books(
    store: Store, show_id: str, product_id: str, orders: list[PlaceOrder], answers: list[Answer]
) -> None:
    accepted = {(o.buyer, o.key): a[1] for o, a in zip(orders, answers, strict=True) if a[1]}
    in_store = await store.list_orders(show_id)
    # The store's orders are the accepted answers, exactly: the same ids, the same keys.
    assert len(in_store) == len(accepted)
    assert {(o.buyer, o.key): o.id for o in in_store} == accepted
    # Nothing answered otherwise exists: each such buyer (one order each) has no order.
    others = [o for o, a in zip(orders, answers, strict=True) if a[0] != "accepted"]
    readers = asyncio.Semaphore(64)

    async def orders_of(order: PlaceOrder) -> list[Any]:
        async with readers:
            return list(await store.buyer_orders(order.buyer, show_id))

    found = await asyncio.gather(*(orders_of(o) for o in others))
    assert not any(found)
    if any(a[0] == "sold_out" for a in answers):
        assert len(accepted) == STOCK  # sold out is said only when nothing is left
    product = await store.get_product(product_id)
    assert product.sold == len(accepted)
    assert product.stock + product.sold == STOCK


# --- the busy answer on the wire ------------------------------------------------------------


def full_gate(client: TestClient) -> None:
    """This process's gate, with no room at all: every order that needs the store is busy."""
    svc: Service = client.app.state.service  # type: ignore[attr-defined]
    svc.admission = AdmissionGate(1.0, floor=0, cold_rate=0.0)


def test_busy_over_http_is_503_with_retry_after_and_changes_nothing(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    full_gate(client)
    r = post_order(client, sid, p["id"])
    assert r.status_code == 503
    body = r.json()
    assert set(body) == {"error", "detail", "retry_after_ms"} and body["error"] == "busy"
    assert isinstance(body["retry_after_ms"], int) and body["retry_after_ms"] > 0
    assert int(r.headers["Retry-After"]) == -(-body["retry_after_ms"] // 1000)  # rounded up
    assert client.get(f"/api/shows/{sid}/orders").json()["orders"] == []
    assert client.get(f"/api/products/{p['id']}").json()["stock"] == 5


def test_busy_on_the_socket_is_an_order_result_with_retry_after_ms(client: TestClient) -> None:
    p = make_product(client, stock=5)
    sid = make_show(client, p["id"])["id"]
    full_gate(client)
    order_key = key()
    with client.websocket_connect(f"/ws/shows/{sid}?buyer={buyer()}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json(
            {"type": "order", "product_id": p["id"], "qty": 1, "key": order_key, "retry": True}
        )
        result = ws.receive_json()
        while result["type"] != "order_result":
            result = ws.receive_json()
    assert set(result) == {"type", "key", "ok", "error", "detail", "retry_after_ms"}
    assert (result["key"], result["ok"], result["error"]) == (order_key, False, "busy")
    assert isinstance(result["retry_after_ms"], int) and result["retry_after_ms"] > 0
    assert client.get(f"/api/shows/{sid}/orders").json()["orders"] == []
