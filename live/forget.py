"""Forgetting buyers' delivery details (PIPL: keep personal data no longer than needed).

Details go `LIVE_FORGET_AFTER_DAYS` days after a buyer's parcels ship (`sweep`, run by every
server process every hour; each forget is one atomic, idempotent store step, so processes
sweeping at once do no harm and a buyer ordering again meanwhile keeps them), and on request
(`live forget --buyer TOKEN` or `--phone NUMBER`). Orders keep their figures.

A buyer's screenshots of a transfer ("I have paid", live/payments.py) show their name and
account, so they go with the details: the files under the upload folder's `proofs/` are
deleted and the notices no longer name them (the notice's state and amount stay, for the
books).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Collection
from pathlib import Path

from live.backends.base import Store
from live.delivery import phone_key
from live.errors import LiveError

log = logging.getLogger("live.forget")

DAY = 24 * 3600
SWEEP_EVERY = 3600.0


async def sweep(
    store: Store, *, after_days: float, now: float | None = None, proofs: Path | None = None
) -> list[str]:
    """Forget the details of every buyer whose orders are all settled (shipped, or cancelled
    or expired) more than `after_days` ago, and their payment screenshots in `proofs`; the
    tokens forgotten."""
    cutoff = (time.time() if now is None else now) - after_days * DAY
    forgotten = []
    for buyer in await store.buyers_with_details():
        if await store.forget_buyer(buyer, settled_before=cutoff):
            forgotten.append(buyer)
    await drop_proofs(store, forgotten, proofs)
    return forgotten


async def forget_buyer(store: Store, buyer: str, *, proofs: Path | None = None) -> bool:
    """A deletion request for one buyer token: its details and its payment screenshots.
    Whether anything was there."""
    forgot = await store.forget_buyer(buyer)
    return await drop_proofs(store, [buyer], proofs) > 0 or forgot


async def forget_phone(store: Store, phone: str, *, proofs: Path | None = None) -> list[str]:
    """Forget every buyer token tied to this phone number (as `live.delivery.phone_key`
    writes it), with their payment screenshots; the tokens forgotten."""
    wanted = phone_key(phone)
    tokens = [b for b, key in (await store.buyers_with_details()).items() if key and key == wanted]
    forgotten = [b for b in tokens if await store.forget_buyer(b)]
    await drop_proofs(store, forgotten, proofs)
    return forgotten


async def drop_proofs(store: Store, buyers: Collection[str], proofs: Path | None) -> int:
    """Delete these buyers' payment screenshots (in the folder `proofs`) and unname them in
    their notices, in every show; how many. Idempotent: a second run finds none."""
    wanted = set(buyers)
    dropped = 0
    if not wanted:
        return 0
    for show in await store.list_shows():
        notices = await store.payment_notices(show.id)
        for buyer in wanted & notices.keys():
            name = notices[buyer].get("proof", "")
            if not name:
                continue
            if proofs is not None and Path(name).name == name:  # a bare file name, ours
                (proofs / name).unlink(missing_ok=True)
            await store.set_payment_notice(show.id, buyer, {**notices[buyer], "proof": ""})
            dropped += 1
    return dropped


async def sweep_forever(
    store: Store, *, after_days: float, every: float = SWEEP_EVERY, proofs: Path | None = None
) -> None:
    """The server's periodic sweep. Started a random part of `every` late, so processes that
    start together do not all sweep at once."""
    await asyncio.sleep(random.uniform(0, every))
    while True:
        try:
            forgotten = await sweep(store, after_days=after_days, proofs=proofs)
            if forgotten:
                log.info("forgot the delivery details of %d buyer(s)", len(forgotten))
        except LiveError as exc:  # the store is away: the next sweep will do it
            log.warning("delivery details sweep skipped: %s", exc)
        await asyncio.sleep(every)
