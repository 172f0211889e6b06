"""LIVE_REDIS_WAIT_REPLICAS: an accepted order is answered only once enough replicas hold it;
when they do not acknowledge in time the answer is `unavailable` (applied on the primary, its
fate at a failover unknown), while refusals, which write nothing, keep their answers."""

from __future__ import annotations

import pytest

from live.backends import open_store
from live.domain import Part
from live.errors import OrderRefused, Reason, Unavailable
from tests import helpers

pytestmark = pytest.mark.redis


async def test_an_order_without_its_replica_is_not_acknowledged(
    redis_url: str, key_prefix: str
) -> None:
    store = open_store(redis_url, prefix=key_prefix, wait_replicas=1, wait_ms=50)  # no replica
    try:
        product = await helpers.add_product(store, stock=1)
        show = await helpers.add_show(store, product)
        request = helpers.order_request(show, product)
        with pytest.raises(Unavailable):
            await store.place_order(request)
        with pytest.raises(OrderRefused) as refused:  # nothing written: a true answer
            await store.place_order(helpers.order_request(show, product))
        assert refused.value.reason is Reason.SOLD_OUT
        # The same key tells what the primary holds (the first order, applied there).
        again = await store.place_order(request)
        assert again.created is False
    finally:
        await store.close()


async def test_a_gift_box_order_without_its_replica_is_not_acknowledged(
    redis_url: str, key_prefix: str
) -> None:
    """A box order (bundles, issue 13) takes every part in one step: with WAIT it is answered
    `ok` only once replicas hold it too, like a plain order."""
    store = open_store(redis_url, prefix=key_prefix, wait_replicas=1, wait_ms=50)  # no replica
    try:
        honey = await helpers.add_product(store, name="Honey", stock=1)
        box = await helpers.add_product(store, name="Gift box", stock=1, parts=(Part(honey.id, 1),))
        show = await helpers.add_show(store, box)
        request = helpers.order_request(show, box)
        with pytest.raises(Unavailable):
            await store.place_order(request)
        again = await store.place_order(request)  # the primary holds it: the key tells
        assert again.created is False
        assert (await store.get_product(honey.id)).stock == 0
    finally:
        await store.close()
