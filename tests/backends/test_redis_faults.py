"""Redis that is absent, frozen or restarted: answers stay fast (503 `unavailable`), nothing is
half-applied, and service resumes by itself. Each test runs its own redis-server."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from live.tools.devredis import RedisServer
from tests.helpers import app_client, buyer, make_product, make_show, post_order, stock

pytestmark = pytest.mark.redis


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_absent_redis_answers_503_quickly(tmp_path: Any) -> None:
    with app_client(f"unix://{tmp_path}/no-such.sock") as client:
        r, took = timed(lambda: client.get("/readyz"))
        assert r.status_code == 503 and r.json()["error"] == "unavailable" and took < 3
        assert client.get("/healthz").status_code == 200  # the process itself is alive
        r, took = timed(lambda: post_order(client, "s1", "p1"))
        assert r.status_code == 503 and r.json()["error"] == "unavailable" and took < 3
        r = client.post("/api/products", json={"name": "x", "price": 1, "stock": 1})
        assert r.status_code == 503 and set(r.json()) == {"error", "detail"}


def test_frozen_redis_times_out_then_recovers_without_double_orders(
    durable_redis: RedisServer,
) -> None:
    assert durable_redis.process is not None
    with app_client(durable_redis.unix_url) as client:
        p = make_product(client, stock=10)
        sid = make_show(client, p["id"])["id"]
        me = buyer()
        os.kill(durable_redis.process.pid, signal.SIGSTOP)  # alive but silent: the worst case
        try:
            r, took = timed(
                lambda: post_order(client, sid, p["id"], qty=2, key="frozen-key-1", buyer_token=me)
            )
            assert r.status_code == 503 and r.json()["error"] == "unavailable"
            assert took < 3.5
            r, took = timed(lambda: client.get("/readyz"))
            assert r.status_code == 503 and took < 3.5
        finally:
            os.kill(durable_redis.process.pid, signal.SIGCONT)
        # The frozen order may or may not have been applied; the retry with the same key must
        # answer one order and take the stock exactly once.
        deadline = time.monotonic() + 5
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        r = post_order(client, sid, p["id"], qty=2, key="frozen-key-1", buyer_token=me)
        assert r.status_code in (200, 201)
        assert stock(client, p["id"]) == 8
        assert len(client.get(f"/api/shows/{sid}/orders").json()["orders"]) == 1


def test_redis_restart_keeps_acknowledged_orders_and_service_resumes(
    durable_redis: RedisServer,
) -> None:
    with app_client(durable_redis.unix_url) as client:
        p = make_product(client, stock=20)
        sid = make_show(client, p["id"])["id"]
        acknowledged = [post_order(client, sid, p["id"]).json()["id"] for _ in range(5)]
        durable_redis.stop(kill=True)
        r, took = timed(lambda: post_order(client, sid, p["id"]))
        assert r.status_code == 503 and took < 3
        durable_redis.start()
        deadline = time.monotonic() + 5
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/readyz").status_code == 200
        ids = [o["id"] for o in client.get(f"/api/shows/{sid}/orders").json()["orders"]]
        assert ids == acknowledged
        assert post_order(client, sid, p["id"]).status_code == 201
        product = client.get(f"/api/products/{p['id']}").json()
        assert (product["stock"], product["sold"]) == (14, 6)
