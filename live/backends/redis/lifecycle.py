"""A Redis deployment's data lifecycle: export, import, and forgetting buyers' details.

Export reads every record under the deployment's prefix; import writes them back and rebuilds
what is derived (indexes, per-buyer and per-phone units, order numbers, idempotency records of
orders under a day old, and the authenticity indexes: each show's labels and labelled units,
the feedback list, each label's devices). Neither is one atomic step: they are run with the
sale stopped (`live export`, `live import`). Forgetting a buyer is one script (`lua/forget.lua`).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from live import domain
from live.authenticity import Label, LotChoices, unit_key
from live.backends.base import BuyerData, DataSet
from live.domain import Order, OrderStatus, Profile
from live.errors import Conflict, Unavailable

if TYPE_CHECKING:
    from live.backends.redis.store import RedisStore

_CHUNK = 500  # records per pipeline: bounded replies and requests
# A label's devices re-seeded on import, at most: far past the flag (as the memory store's cap),
# so a flooded label can't make an import huge.
_MAX_MOVED_DEVICES = 1_000


def _glob(text: str) -> str:
    """`text` matched literally in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def _scan(store: RedisStore, pattern: str) -> list[str]:
    async with store._guard():
        return [str(k) async for k in store.redis.scan_iter(match=pattern, count=1000)]


async def _hgetall_many(store: RedisStore, keys: list[str]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for start in range(0, len(keys), _CHUNK):
        async with store._guard(), store.redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + _CHUNK]:
                pipe.hgetall(key)
            rows += await pipe.execute()
    return rows


async def export_data(store: RedisStore) -> DataSet:
    from live.backends.redis.store import _order, _product

    k = store.keys
    async with store._guard():
        product_ids = [str(x) for x in await store.redis.lrange(k.products(), 0, -1)]
        show_ids = [str(x) for x in await store.redis.lrange(k.shows(), 0, -1)]
    rows = await _hgetall_many(store, [k.product(p) for p in product_ids])
    products = [_product(h) for h in rows if h]
    shows = []
    orders: list[Order] = []
    for show_id in show_ids:
        async with store._guard():
            show, _ = await store._read_show(show_id)
            order_ids = [str(x) for x in await store.redis.lrange(k.show_orders(show_id), 0, -1)]
        shows.append(show)
        orders += [_order(h) for h in await _hgetall_many(store, [k.order(o) for o in order_ids])]
    head, tail = k.profile("\0").split("\0")
    profile_keys = await _scan(store, _glob(head) + "*" + _glob(tail))
    buyers = [
        BuyerData(key[len(head) : -len(tail)], Profile.from_fields(h), h.get("pkey", ""))
        for key, h in zip(profile_keys, await _hgetall_many(store, profile_keys), strict=True)
        if h
    ]
    async with store._guard():
        settings = await store.redis.hgetall(k.coop())
        accounts = await store.redis.hgetall(k.users())
    # Authenticity (issue 15): lots, each show's lot choices, labels show by show.
    lot_choices: dict[str, LotChoices] = {}
    labels: list[Label] = []
    for show_id in show_ids:
        choices = await store.lot_choices(show_id)
        if choices.defaults or choices.orders:
            lot_choices[show_id] = choices
        labels += await store.list_labels(show_id)
    return DataSet(
        products=tuple(products),
        shows=tuple(shows),
        orders=tuple(orders),
        buyers=tuple(buyers),
        settings={str(a): str(b) for a, b in settings.items()},
        accounts={str(a): str(b) for a, b in accounts.items()},
        lots=tuple(await store.list_lots()),
        lot_choices=lot_choices,
        labels=tuple(labels),
        notices={sid: n for sid in show_ids if (n := await store.payment_notices(sid))},
    )


async def import_data(store: RedisStore, data: DataSet, *, replace: bool) -> None:
    from live.backends.redis.store import _product_fields

    k = store.keys
    async with store._guard():
        held = await store.redis.exists(k.products(), k.shows(), k.users())
    if held and not replace:
        raise Conflict("the store is not empty: import into an empty one, or replace")
    if held:
        await _delete_all(store)
    now = time.time()
    writes: list[tuple[str, tuple[Any, ...]]] = []

    def w(command: str, *args: Any) -> None:
        writes.append((command, args))

    holders: dict[str, set[str]] = defaultdict(set)
    for show in data.shows:
        for pid in show.lineup:
            holders[pid].add(show.id)
    for product in data.products:
        fields = dict(_product_fields(product))
        fields["shows_v"] = 1
        w("HSET", k.product(product.id), *_flat(fields))
        w("RPUSH", k.products(), product.id)
        if holders[product.id]:
            w("SADD", k.product_shows(product.id), *sorted(holders[product.id]))
        for part in product.parts:  # bundles (issue 13): each part knows its boxes
            w("SADD", k.product_boxes(part.product_id), product.id)
    numbers: Counter[str] = Counter()
    for order in data.orders:
        numbers[order.show_id] = max(numbers[order.show_id], order.number)
    for show in data.shows:
        fields = {
            "id": show.id,
            "title": show.title,
            "overlay_key": show.overlay_key,
            "ordering_open": "1" if show.ordering_open else "0",
            "featured": show.featured_product_id or "",
            "seq": show.seq,
            "eseq": show.event_seq,
            "ended": "1" if show.ended else "0",
            "created_at": repr(show.created_at),
            "short": show.short_code,
            "toasts": "1" if show.toasts else "0",
            "order_n": numbers[show.id],
            "hold": show.hold_seconds,  # holds (issue 14)
        }
        w("HSET", k.show(show.id), *_flat(fields))
        w("RPUSH", k.shows(), show.id)
        if show.lineup:
            w("RPUSH", k.lineup(show.id), *show.lineup)
        if show.on_sale:
            w("SADD", k.on_sale(show.id), *sorted(show.on_sale))
        for pid, deal in show.deals.items():
            w("HSET", k.deals(show.id), pid, f"{deal.price} {deal.ends_at!r}")
        if show.short_code:
            w("SET", k.short(show.short_code), show.id)
    units: Counter[tuple[str, str]] = Counter()
    for order in data.orders:
        w("HSET", k.order(order.id), *_flat(_order_fields(order)))
        w("RPUSH", k.show_orders(order.show_id), order.id)
        if order.status is OrderStatus.CLAIMED and order.expires_at is not None:
            w("ZADD", k.deadlines(), order.expires_at, order.id)  # holds (issue 14)
        if order.status not in domain.RELEASED:
            units[(order.buyer, order.product_id)] += order.qty
        ttl = int(order.created_at + domain.IDEMPOTENCY_TTL - now)
        if ttl > 0:
            record = f"{order.id} {order.show_id} {order.product_id} {order.qty}"
            if order.option_id:  # order.lua's record names an option's order's option
                record += f" {order.option_id}"
            w("SET", k.idem(order.buyer, order.key), record, "EX", ttl)
    for order in sorted(data.orders, key=lambda o: o.created_at):
        w("RPUSH", k.buyer_orders(order.buyer), order.id)
    for (buyer, pid), qty in units.items():
        w("HINCRBY", k.bought(buyer), pid, qty)
    with_orders = {o.buyer for o in data.orders}
    for entry in data.buyers:
        w("HSET", k.profile(entry.buyer), *_flat({**entry.profile.fields, "pkey": entry.phone_key}))
        if entry.buyer not in with_orders:
            w("EXPIRE", k.profile(entry.buyer), store._profile_ttl)
        if entry.phone_key:
            for (buyer, pid), qty in units.items():
                if buyer == entry.buyer:
                    w("HINCRBY", k.phone_bought(entry.phone_key), pid, qty)
    if data.settings:
        w("HSET", k.coop(), *_flat(dict(data.settings)))
    if data.accounts:
        w("HSET", k.users(), *_flat(dict(data.accounts)))
    writes += _trust_writes(store, data)
    for show_id, by_buyer in data.notices.items():  # holds (issue 14): as set_payment_notice
        for buyer, notice in by_buyer.items():
            w("HSET", k.notices(show_id), buyer, json.dumps(dict(notice)))
    await _send(store, writes)


def _trust_writes(store: RedisStore, data: DataSet) -> list[tuple[str, tuple[Any, ...]]]:
    """Authenticity (issue 15): lots, lot choices, labels with their state, and the indexes
    the steps read (each show's serials and labelled units, the feedback list)."""
    from live.backends.redis.trust import _feedback_fields, _label_fields, _lot_fields

    k = store.keys
    writes: list[tuple[str, tuple[Any, ...]]] = []
    for lot in data.lots:
        writes.append(("HSET", (k.lot(lot.id), *_flat(_lot_fields(lot)))))
        writes.append(("RPUSH", (k.lots(), lot.id)))
    for show_id, choices in data.lot_choices.items():
        if choices.defaults:
            writes.append(("HSET", (k.show_lots(show_id), *_flat(dict(choices.defaults)))))
        if choices.orders:
            writes.append(("HSET", (k.order_lots(show_id), *_flat(dict(choices.orders)))))
    for label in data.labels:
        # Absent, not empty, when unset: the scripts set these once with HSETNX.
        state: dict[str, Any] = {"scans": label.scans}
        if label.first_scan_at is not None:
            state["first_scan"] = repr(label.first_scan_at)
        if label.verified_at is not None:
            state["verified_at"] = repr(label.verified_at)
        fields = [*_label_fields(label), *_flat(state)]
        if label.feedback is not None:
            fields += _feedback_fields(label.feedback)
        writes.append(("HSET", (k.label(label.serial), *fields)))
        writes.append(("RPUSH", (k.show_labels(label.show_id), label.serial)))
        unit = unit_key(label.order_id, label.unit)
        writes.append(("HSET", (k.label_units(label.show_id), unit, label.serial)))
        if label.devices:
            # The HyperLogLog can't list its tags: as many placeholders as it counted, never
            # equal to a real tag (16 hex digits). Approximate, as the count always was.
            tags = [f"moved-{i}" for i in range(min(label.devices, _MAX_MOVED_DEVICES))]
            writes.append(("PFADD", (k.label_devices(label.serial), *tags)))
    rated = [(lb.feedback.at, lb.serial) for lb in data.labels if lb.feedback is not None]
    for _, serial in sorted(rated, key=lambda pair: pair[0]):  # oldest rating first
        writes.append(("RPUSH", (k.feedback(), serial)))
    return writes


def _flat(fields: dict[str, Any]) -> list[Any]:
    return [x for pair in fields.items() for x in pair]


def _order_fields(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "show_id": order.show_id,
        "product_id": order.product_id,
        "buyer": order.buyer,
        "qty": order.qty,
        "price": order.price,
        "currency": order.currency,
        "status": order.status.value,
        "created_at": repr(order.created_at),
        "key": order.key,
        "number": order.number,
        "ip": order.ip,
        "cod": "1" if order.cash_on_delivery else "",
        "shipped_at": repr(order.shipped_at) if order.shipped_at else "",
        # options and pre-orders (issue 13), as order.lua writes them
        "option_id": order.option_id or "",
        "option_name": order.option_name,
        "preorder": "1" if order.preorder else "",
        "ships_from": order.ships_from,
        "harvest": order.harvest,
        # holds (issue 14)
        "expires_at": "" if order.expires_at is None else repr(order.expires_at),
    }


async def _send(store: RedisStore, writes: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
    batch = list(writes)
    for start in range(0, len(batch), _CHUNK):
        async with store._guard(), store.redis.pipeline(transaction=False) as pipe:
            for command, args in batch[start : start + _CHUNK]:
                pipe.execute_command(command, *args)
            await pipe.execute()


async def _delete_all(store: RedisStore) -> None:
    keys = await _scan(store, _glob(store.keys.prefix) + ":*")
    for start in range(0, len(keys), _CHUNK):
        async with store._guard():
            await store.redis.unlink(*keys[start : start + _CHUNK])


async def buyers_with_details(store: RedisStore) -> dict[str, str]:
    head, tail = store.keys.profile("\0").split("\0")
    keys = await _scan(store, _glob(head) + "*" + _glob(tail))
    phones: list[Any] = []
    for start in range(0, len(keys), _CHUNK):
        async with store._guard(), store.redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + _CHUNK]:
                pipe.hget(key, "pkey")
            phones += await pipe.execute()
    return {key[len(head) : -len(tail)]: str(p or "") for key, p in zip(keys, phones, strict=True)}


async def forget_buyer(store: RedisStore, buyer: str, *, settled_before: float | None) -> bool:
    k = store.keys
    phone = ""
    for _ in range(4):  # the order list or the phone tie changed between the read and the step
        async with store._guard():
            order_ids = [str(x) for x in await store.redis.lrange(k.buyer_orders(buyer), 0, -1)]
        keys = [k.profile(buyer), k.buyer_orders(buyer), k.phone_bought(phone)]
        keys += [k.order(o) for o in order_ids]
        cutoff = "" if settled_before is None else repr(settled_before)
        async with store._guard():
            result = await store._forget_script(keys=keys, args=[phone, cutoff, len(order_ids)])
        if result[0] == "ok":
            return bool(int(result[1]))
        if result[0] == "unsettled":
            return False
        if result[0] == "rephone":
            phone = str(result[1])
    raise Unavailable("the buyer's orders kept changing; try again")
