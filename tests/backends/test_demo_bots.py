"""The demo's simulated buyers (`live demo --bots N`) order through the service as real buyers
do, sizes and weights included: a product with options sells through one that is left."""

from __future__ import annotations

import asyncio
import random

from live.backends import Store
from live.bots import run_bot
from live.config import Settings
from live.domain import Option
from live.service import Service
from tests.helpers import add_product, add_show


async def test_a_bot_buys_a_size_that_is_left(store: Store) -> None:
    sizes = (Option(id="v40", name="40", stock=0), Option(id="v41", name="41", stock=6))
    shoes = await add_product(store, name="Shoes", stock=6, options=sizes, limit_per_buyer=50)
    show = await add_show(store, shoes)
    await store.set_featured(show.id, shoes.id)
    bot = asyncio.create_task(run_bot(Service(store, Settings()), show.id, random.Random(7), 0.001))
    try:
        async with asyncio.timeout(5):
            while not await store.list_orders(show.id):
                await asyncio.sleep(0.01)
    finally:
        bot.cancel()
    orders = await store.list_orders(show.id)
    assert {o.option_id for o in orders} == {"v41"}  # never the sold-out size, never none
