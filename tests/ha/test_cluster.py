"""Two deployments (two co-ops, two prefixes) share a real three-primary Redis Cluster: each
lives in its own hash slot, on its own shard, and sells correctly, its events reaching its
subscribers by sharded pub/sub."""

from __future__ import annotations

import asyncio

import pytest

from live.backends import open_backend, open_store
from live.backends.redis import RedisFeed
from live.errors import OrderRefused, Reason
from live.events import Event, OrderPlaced
from tests import helpers
from tests.support.redis_ha import Cluster, redis_cluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_two_deployments_sell_on_their_own_shards() -> None:
    with redis_cluster() as cluster:
        shards = {coop: await sell(cluster, coop) for coop in ("coop1", "coop2")}
        assert shards["coop1"] != shards["coop2"]


async def test_the_feed_keeps_its_sharded_subscription_alive() -> None:
    """The liveness probe travels by SPUBLISH on the deployment's slot: a quiet feed on a
    cluster is not taken for a dead one and reconnected."""
    with redis_cluster() as cluster:
        store = open_store(cluster.url, prefix="coop3")
        feed = RedisFeed(
            cluster.url,
            store.keys,  # type: ignore[attr-defined]
            probe_interval=0.1,
            probe_timeout=0.3,
        )

        async def resync(shows: set[str]) -> None:
            return None

        try:
            await feed.start(lambda _show, _event: None, resync)
            await feed.subscribe("s1")
            await asyncio.sleep(1.5)  # several probe rounds
            assert feed.reconnects == 0
        finally:
            await feed.close()
            await store.close()


async def sell(cluster: Cluster, coop: str) -> int:
    """Run a sale of one deployment on the cluster; the port of the shard holding it."""
    backend = open_backend(cluster.url, prefix=coop, timeout=2.0)
    events: list[Event] = []

    async def resync(shows: set[str]) -> None:
        return None

    try:
        await backend.feed.start(lambda _show, event: events.append(event), resync)
        prefix = backend.store.keys.prefix  # type: ignore[attr-defined]
        assert prefix == "{" + coop + "}"  # tagged: one slot for the whole deployment
        product = await helpers.add_product(backend.store, stock=20, limit_per_buyer=30)
        show = await helpers.add_show(backend.store, product)
        await backend.feed.subscribe(show.id)

        # A burst bigger than the stock: pipelined scripts, all in the one slot.
        async def order() -> bool:
            try:
                await backend.store.place_order(helpers.order_request(show, product))
            except OrderRefused as refused:
                assert refused.reason is Reason.SOLD_OUT
                return False
            return True

        accepted = await asyncio.gather(*(order() for _ in range(40)))
        assert sum(accepted) == 20
        assert (await backend.store.get_product(product.id)).stock == 0
        assert len(await backend.store.list_orders(show.id)) == 20
        for _ in range(50):
            if len(events) >= 20:
                break
            await asyncio.sleep(0.05)
        assert sum(isinstance(e, OrderPlaced) for e in events) == 20

        owner = cluster.owner_of(prefix)
        keys = cluster.keys_on(owner, prefix + ":*")
        assert sum(":order:" in k for k in keys) == 20  # every order on that shard
        for node in cluster.nodes:
            if node.port != owner:
                assert cluster.keys_on(node.port, prefix + ":*") == []
        return owner
    finally:
        await backend.close()
