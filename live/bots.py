"""Simulated buyers for `live demo --bots N`: each taps buy on the featured product now and then.

They order through the same service path as real buyers (rules, limits, idempotency keys), so a
demo shows stock falling and refusals exactly as a real sale would.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets

from live.errors import LiveError
from live.service import PlaceOrder, Service

log = logging.getLogger("live.bots")


async def run_bot(service: Service, show_id: str, rng: random.Random, mean_gap: float) -> None:
    buyer = "bot" + secrets.token_hex(10)
    while True:
        await asyncio.sleep(rng.expovariate(1.0 / mean_gap))
        try:
            show = await service.get_show(show_id)
            if show.featured_product_id is None or not show.ordering_open:
                continue
            product = await service.get_product(show.featured_product_id)
            # A product with sizes or weights sells through one of them: a buyer picks one
            # that is left, as a person taps an enabled chip.
            left = [o.id for o in product.options if o.stock > 0]
            if product.options and not left:
                continue
            order = PlaceOrder(
                show_id=show_id,
                buyer=buyer,
                product_id=show.featured_product_id,
                qty=rng.choice((1, 1, 1, 2)),
                key=secrets.token_hex(8),
                option_id=rng.choice(left) if left else None,
            )
            await service.place_order(order)
        except LiveError:
            continue  # sold out, limit reached, closed: a real buyer would shrug too


async def run_bots(service: Service, show_id: str, count: int, mean_gap: float = 8.0) -> None:
    rng = random.Random()
    log.info("%d simulated buyers are shopping in show %s", count, show_id)
    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(run_bot(service, show_id, rng, mean_gap))
