"""Forgetting buyers' delivery details (PIPL: keep personal data no longer than needed).

Details go `LIVE_FORGET_AFTER_DAYS` days after a buyer's parcels ship (`sweep`, run by every
server process every hour; each forget is one atomic, idempotent store step, so processes
sweeping at once do no harm and a buyer ordering again meanwhile keeps them), and on request
(`live forget --buyer TOKEN` or `--phone NUMBER`). Orders keep their figures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from live.backends.base import Store
from live.delivery import phone_key
from live.errors import LiveError

log = logging.getLogger("live.forget")

DAY = 24 * 3600
SWEEP_EVERY = 3600.0


async def sweep(store: Store, *, after_days: float, now: float | None = None) -> list[str]:
    """Forget the details of every buyer whose orders are all settled (shipped, or cancelled)
    more than `after_days` ago; the tokens forgotten."""
    cutoff = (time.time() if now is None else now) - after_days * DAY
    forgotten = []
    for buyer in await store.buyers_with_details():
        if await store.forget_buyer(buyer, settled_before=cutoff):
            forgotten.append(buyer)
    return forgotten


async def forget_phone(store: Store, phone: str) -> list[str]:
    """Forget every buyer token tied to this phone number (as `live.delivery.phone_key`
    writes it); the tokens forgotten."""
    wanted = phone_key(phone)
    tokens = [b for b, key in (await store.buyers_with_details()).items() if key and key == wanted]
    return [b for b in tokens if await store.forget_buyer(b)]


async def sweep_forever(store: Store, *, after_days: float, every: float = SWEEP_EVERY) -> None:
    """The server's periodic sweep. Started a random part of `every` late, so processes that
    start together do not all sweep at once."""
    await asyncio.sleep(random.uniform(0, every))
    while True:
        try:
            forgotten = await sweep(store, after_days=after_days)
            if forgotten:
                log.info("forgot the delivery details of %d buyer(s)", len(forgotten))
        except LiveError as exc:  # the store is away: the next sweep will do it
            log.warning("delivery details sweep skipped: %s", exc)
        await asyncio.sleep(every)
