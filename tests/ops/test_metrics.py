"""`GET /metrics`: restricted to the admin token or an allowed address, and its figures move
with a real sale (a real uvicorn, real sockets; memory and Redis). The Grafana dashboard in
docs/ queries only metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from live.config import Settings
from live.tools.devredis import RedisServer
from tests.conftest import ADMIN_TOKEN
from tests.helpers import buyer, key, make_show_with_products
from tests.support.live_server import LiveServer, receive, receive_until

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-live.json"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=10) as c:
        r = await c.get("/metrics")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        return samples(r.text)


def value(
    figures: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_sale_moves_the_figures(live_server: LiveServer, http: httpx.AsyncClient) -> None:
    show_id, (product_id,), overlay_key = await make_show_with_products(http, stock=1)
    before = await scrape(live_server.base)
    me, other = buyer(), buyer()
    async with (
        connect(live_server.ws_url(show_id, buyer=me)) as viewer,
        connect(live_server.ws_url(show_id, buyer=other)) as second,
        connect(live_server.overlay_url(show_id, overlay_key)) as overlay,
    ):
        for ws in (viewer, second, overlay):
            assert (await receive(ws))["type"] == "snapshot"
        during = await scrape(live_server.base)
        assert value(during, "live_sockets", kind="viewer") == 2
        assert value(during, "live_sockets", kind="overlay") == 1
        assert value(during, "live_sockets", kind="host") == 0

        order = {"type": "order", "product_id": product_id, "qty": 1, "key": key()}
        await viewer.send(json.dumps(order))
        result, _ = await receive_until(viewer, lambda m: m["type"] == "order_result")
        assert "order" in result, result
        # Everyone hears the sale (stock 0) before the figures are read.
        await receive_until(overlay, lambda m: m.get("type") == "stock" and m["stock"] == 0)
        # The last unit is gone: the next buyer's order is refused, and counted as such.
        await second.send(json.dumps({**order, "key": key()}))
        refused, _ = await receive_until(second, lambda m: m["type"] == "order_result")
        assert refused["error"] == "sold_out", refused
        after = await scrape(live_server.base)

    def grew(name: str, by: float = 1, **labels: str) -> None:
        moved = value(after, name, **labels) - value(before, name, **labels)
        assert moved >= by, (name, labels, moved)

    grew("live_orders_total", result="accepted")
    grew("live_orders_total", result="sold_out")
    grew("live_order_seconds_count", 2)
    grew("live_fanout_frames_total", 3, path="direct")  # the sale reached three sockets
    grew("live_fanout_bytes_total", 3 * 20, path="direct")
    grew("live_event_lag_seconds_count")
    assert value(after, "live_order_seconds_bucket", le="+Inf") >= 2
    assert value(after, "live_draining") == 0
    grew("live_admission_total", outcome="admitted")  # the accepted order went to the store
    assert value(after, "live_admission_capacity") >= 16  # the gate's floor
    for outcome in ("refused", "withdrawn"):
        assert value(after, "live_admission_total", outcome=outcome) == 0
    for name in (
        "live_slow_consumers_total",
        "live_resyncs_total",
        "live_feed_reconnects_total",
        "live_store_errors_total",
        "live_logins_refused_total",
    ):
        assert (name, ()) in after, name


@pytest.mark.parametrize("backend", ["memory"])
async def test_metrics_need_the_token_or_an_allowed_address(settings: Settings) -> None:
    server = LiveServer(settings.with_overrides(metrics_allow=("127.0.0.2/32",)))
    server.start()
    try:
        url = f"{server.base}/metrics"
        async with httpx.AsyncClient(timeout=5) as anyone:
            r = await anyone.get(url)
            assert r.status_code == 401, r.text
            assert r.json()["error"] == "unauthorized"
            wrong = {"Authorization": "Bearer not-the-token-at-all-000000"}
            assert (await anyone.get(url, headers=wrong)).status_code == 401
            assert (await anyone.get(url, headers=ADMIN)).status_code == 200
        allowed = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=allowed, timeout=5) as scraper:
            r = await scraper.get(url)
            assert r.status_code == 200, r.text
            assert "live_orders_total" in r.text or "live_sockets" in r.text
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
        async with httpx.AsyncClient(transport=other, timeout=5) as stranger:
            assert (await stranger.get(url)).status_code == 401
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["memory"])
async def test_the_dashboard_queries_metrics_that_exist(live_server: LiveServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert len(exprs) >= 8, exprs
    async with httpx.AsyncClient(base_url=live_server.base, headers=ADMIN, timeout=5) as c:
        exposed = (await c.get("/metrics")).text
    names = {line.split("{")[0].split(" ")[0] for line in exposed.splitlines() if line[:1] != "#"}
    # The families too: a histogram's `_bucket` sample is queried by its full name.
    for expr in exprs:
        for name in re.findall(r"\blive_[a-z_]+\b", expr):
            assert name in names, f"{name} (in {expr!r}) is not in /metrics"


async def test_a_redis_outage_shows_in_the_figures(durable_redis: RedisServer) -> None:
    """Redis killed under a watched show: store errors grow; back again: the event feed
    reconnects and the show is resynced."""
    server = LiveServer(
        Settings(admin_token=ADMIN_TOKEN, redis_url=durable_redis.unix_url, store_timeout=1.0)
    )
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base, headers=ADMIN, timeout=10) as http:
            show_id, _, _ = await make_show_with_products(http)
            async with connect(server.ws_url(show_id, buyer=buyer())) as ws:
                assert (await receive(ws))["type"] == "snapshot"
                before = await scrape(server.base)
                durable_redis.stop(kill=True)
                assert (await http.get("/readyz")).status_code == 503
                assert (await http.get(f"/api/shows/{show_id}")).status_code == 503
                down = await scrape(server.base)
                assert value(down, "live_store_errors_total") > value(
                    before, "live_store_errors_total"
                )
                durable_redis.start()
                # The page's socket hears a fresh snapshot once the feed is back.
                await receive_until(ws, lambda m: m["type"] == "snapshot", timeout=10)
                after = await scrape(server.base)
        assert value(after, "live_feed_reconnects_total") >= 1 + value(
            before, "live_feed_reconnects_total"
        )
        assert value(after, "live_resyncs_total") >= 1 + value(before, "live_resyncs_total")
    finally:
        server.stop()
