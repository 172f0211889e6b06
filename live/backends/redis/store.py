"""The Redis backend: durable, shared by every server process.

Each step is one Lua script (order, cancel, product update, status change) or one MULTI/EXEC
transaction, so it applies fully or not at all. Scripts live in `lua/*.lua`, are registered
once and run with EVALSHA (redis-py reloads them on NOSCRIPT). Every key a script touches comes
from `Keys` and is passed in KEYS.

The connection pool blocks callers (up to the store timeout) when all its connections are busy,
instead of failing a burst at once; a step that does not finish within `timeout` seconds raises
`Unavailable`. Orders are the exception (see batch.py): an order still queued in this process
at its `send_by` deadline is withdrawn unsent (`Busy`); a sent one is waited for, and only a
lost connection or no reply within `timeout` makes it `Unavailable`.

The pool checks a connection before lending it (a connection Redis closed, as after a restart,
is replaced); a step that still meets a dead connection is tried once more only if it is
idempotent (marked `@_idempotent`: reads, orders with their key, cancels, status and show
changes, profiles). Not retried, because a second run could apply twice or answer wrongly:
stock adjustments (`update_product`), `create_product`, `create_show`, `set_user`
and `end_sessions` (session generations).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Concatenate, Generic, NamedTuple, ParamSpec, TypeVar, cast

import msgspec
import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from live import domain
from live.backends.base import (
    EDITABLE_PRODUCT_FIELDS,
    DataSet,
    Feed,
    Store,
    new_session_epoch,
)
from live.backends.redis import connect, lifecycle
from live.backends.redis.batch import ScriptBatcher, Withdrawn
from live.backends.redis.deadline import answer_within
from live.backends.redis.errors import REDIS_DOWN
from live.backends.redis.feed import RedisFeed
from live.backends.redis.keys import Keys
from live.backends.redis.trust import RedisTrust, TrustScripts  # authenticity (issue 15)
from live.domain import (
    Deal,
    Order,
    OrderAccepted,
    OrderRequest,
    OrderStatus,
    Product,
    Profile,
    Show,
    ShowState,
)
from live.errors import (
    Busy,
    Conflict,
    Invalid,
    LiveError,
    NotFound,
    OrderRefused,
    Reason,
    Unavailable,
)
from live.events import key_digest

# A script told that its list of a product's shows (or a show's lineup) is out of date is re-run
# after a re-read; lineups change rarely, so a second stale answer in a row is unlikely, a
# fourth absurd.
_STALE_RETRIES = 4
_BOXES_TTL = 1.0  # bundles (issue 13): seconds a process trusts its list of a part's boxes


class Holders(NamedTuple):
    """The shows holding a product, as read at one version of its "shows" set (the product's
    `shows_v` field grows with every change of the set; scripts compare it)."""

    version: str
    shows: tuple[str, ...]


log = logging.getLogger("live.store")


def _pool_options() -> dict[str, Any]:
    """redis-py 7+ turns on "maintenance notifications" for TCP connections by default, and
    with them on, its pool skips the check that a connection is still open before lending it:
    after a Redis restart every pooled connection then failed its first command. We use no
    such notifications; turning them off restores the check."""
    try:
        from redis.maint_notifications import MaintNotificationsConfig
    except ImportError:  # redis-py < 7: the check is always made
        return {}
    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


_P = ParamSpec("_P")
_T = TypeVar("_T")


class SharedReads(Generic[_T]):
    """One read at a time per key: whoever asks while a read is in flight shares its result,
    so a sale's burst of first orders sends one read, not one each (they would queue for
    connections past their deadline and be answered busy)."""

    def __init__(self) -> None:
        self._reads: dict[str, asyncio.Future[_T]] = {}

    async def get(self, key: str, read: Callable[[], Awaitable[_T]]) -> _T:
        reading = self._reads.get(key)
        if reading is None:
            reading = asyncio.ensure_future(read())
            self._reads[key] = reading
            reading.add_done_callback(lambda f: self._done(key, f))
        # Shielded: a caller that goes away must not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def close(self) -> None:
        """Stop the reads in flight (their callers get CancelledError). A read nobody waits
        for any more would otherwise go on after the store closed its pool, and open a
        connection nobody closes."""
        reads = list(self._reads.values())
        for reading in reads:
            reading.cancel()
        await asyncio.gather(*reads, return_exceptions=True)

    def _done(self, key: str, reading: asyncio.Future[_T]) -> None:
        if self._reads.get(key) is reading:
            self._reads.pop(key)
        if not reading.cancelled():
            reading.exception()  # retrieved: every waiter gets it, none may be left to


def _idempotent(
    step: Callable[Concatenate[RedisStore, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[RedisStore, _P], Coroutine[Any, Any, _T]]:
    """Try a step once more when its connection turned out dead (a Redis restart the pool had
    not noticed yet). Only for steps whose second run cannot apply anything twice; not after a
    timeout (Redis is slow or frozen: a second try would only spend the caller's deadline)."""

    @functools.wraps(step)
    async def again_once(store: RedisStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        started = time.monotonic()
        try:
            return await step(store, *args, **kwargs)
        except Unavailable as exc:
            dead = isinstance(exc.__cause__, rexc.ConnectionError)
            if not dead or time.monotonic() - started > store.timeout / 2:
                raise
            log.info("redis connection lost during %s; trying once more", step.__name__)
            lost = exc
        try:
            return await step(store, *args, **kwargs)
        except Busy:
            # The second try was withdrawn before it was sent: it tells nothing about the
            # first, which may have run. The truth is still "unknown", not "nothing applied".
            raise lost from lost.__cause__

    return again_once


def _lua(name: str) -> str:
    return resources.files("live.backends.redis").joinpath("lua", f"{name}.lua").read_text("utf-8")


# The client decodes replies (decode_responses=True); redis-py's types can't express that.
def _map(reply: object) -> dict[str, str]:
    return cast(dict[str, str], reply)


def _strs(reply: object) -> list[str]:
    return cast(list[str], reply)


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    """A flat [field, value, ...] reply (HGETALL inside a script) as a dict."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _opt(value: str | None) -> str:
    return value or ""


def _product_fields(product: Product) -> Mapping[Any, str | int | float]:
    return {
        "id": product.id,
        "name": product.name,
        "price": product.price,
        "stock": product.stock,
        "currency": product.currency,
        "unit": product.unit,
        "limit_per_buyer": "" if product.limit_per_buyer is None else product.limit_per_buyer,
        "producer": product.producer,
        "description": product.description,
        "image_url": product.image_url,
        "sold": product.sold,
        "created_at": repr(product.created_at),
        "version": product.version,
        "archived": "1" if product.archived else "",
        "options": _options_json(product.options),
        "preorder_cap": product.preorder_cap,
        "ships_from": product.ships_from,
        "preordered": product.preordered,
        "harvests": product.harvests,
        "parts": _parts_json(product.parts),  # bundles (issue 13)
    }


def _parts(raw: str) -> tuple[domain.Part, ...]:
    return msgspec.json.decode(raw, type=tuple[domain.Part, ...]) if raw else ()


def _parts_json(parts: Sequence[domain.Part]) -> str:
    """bundles (issue 13): a box's parts as its hash keeps them (order_box.lua decodes them)."""
    return msgspec.json.encode(parts).decode() if parts else ""


def _options_json(options: Sequence[domain.Option]) -> str:
    """A product's options as its hash keeps them (the Lua scripts decode them with cjson)."""
    return msgspec.json.encode(options).decode() if options else ""


def _options(raw: str) -> tuple[domain.Option, ...]:
    return msgspec.json.decode(raw, type=tuple[domain.Option, ...]) if raw else ()


def _encode_change(name: str, value: object) -> str:
    if name == "limit_per_buyer" and value is None:
        return ""
    if name == "archived":
        return "1" if value else ""
    return str(value)


def _product(h: Mapping[str, str]) -> Product:
    limit = h.get("limit_per_buyer", "")
    return Product(
        id=h["id"],
        name=h["name"],
        price=int(h["price"]),
        stock=int(h["stock"]),
        currency=h.get("currency", "CNY"),
        unit=h.get("unit", ""),
        limit_per_buyer=int(limit) if limit else None,
        producer=h.get("producer", ""),
        description=h.get("description", ""),
        image_url=h.get("image_url", ""),
        sold=int(h.get("sold", "0")),
        created_at=float(h.get("created_at", "0")),
        version=int(h.get("version", "0")),
        archived=h.get("archived") == "1",
        options=_options(h.get("options", "")),
        preorder_cap=int(h.get("preorder_cap") or 0),
        ships_from=h.get("ships_from", ""),
        preordered=int(h.get("preordered") or 0),
        harvests=int(h.get("harvests") or 0),
        parts=_parts(h.get("parts", "")),
    )


def _deal(raw: str) -> Deal:
    price, ends_at = raw.split(" ")
    return Deal(price=int(price), ends_at=float(ends_at))


def _show(
    h: Mapping[str, str], lineup: Sequence[str], on_sale: set[str], deals: Mapping[str, str]
) -> Show:
    return Show(
        id=h["id"],
        title=h["title"],
        lineup=tuple(lineup),
        overlay_key=h["overlay_key"],
        ordering_open=h.get("ordering_open") == "1",
        featured_product_id=h.get("featured") or None,
        on_sale=frozenset(on_sale),
        deals={pid: _deal(raw) for pid, raw in deals.items()},
        seq=int(h.get("seq", "0")),
        event_seq=int(h.get("eseq", "0")),
        ended=h.get("ended") == "1",
        created_at=float(h.get("created_at", "0")),
        short_code=h.get("short", ""),
        toasts=h.get("toasts") != "0",  # on unless turned off (shows made before it existed)
        hold_seconds=int(h.get("hold") or 0),  # holds (issue 14)
    )


def _order(h: Mapping[str, str]) -> Order:
    return Order(
        id=h["id"],
        show_id=h["show_id"],
        product_id=h["product_id"],
        buyer=h["buyer"],
        qty=int(h["qty"]),
        price=int(h["price"]),
        currency=h["currency"],
        status=OrderStatus(h["status"]),
        created_at=float(h["created_at"]),
        key=h["key"],
        number=int(h.get("number", "0")),
        cash_on_delivery=h.get("cod") == "1",
        ip=h.get("ip", ""),
        shipped_at=float(h.get("shipped_at") or 0),
        option_id=h.get("option_id") or None,
        option_name=h.get("option_name", ""),
        preorder=h.get("preorder") == "1",
        ships_from=h.get("ships_from", ""),
        harvest=int(h.get("harvest") or 0),
        expires_at=float(h["expires_at"]) if h.get("expires_at") else None,  # holds (issue 14)
    )


class RedisStore(RedisTrust, Store):
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "live",
        timeout: float = 2.0,
        pool_size: int = 64,
        profile_ttl: int = 24 * 3600,
        wait_replicas: int = 0,
        wait_ms: int = 500,
    ) -> None:
        self.url = url
        # --- Redis failover and Cluster (issue 16): the URL may name Sentinels or a Cluster
        self.target = connect.parse(url)
        if self.target.cluster:
            prefix = connect.tagged_prefix(prefix)
        self.errors = 0  # steps answered unavailable (operating, issue 16: /metrics)
        self.keys = Keys(prefix)
        self._profile_ttl = profile_ttl
        # The phone key each buyer token is tied to, as last seen here. A guess only: every
        # script that relies on it checks it and answers "rephone" with the real one.
        self._phones: dict[str, str] = {}
        self.timeout = timeout
        # A blocking pool: a burst waits for a free connection (up to the timeout) instead of
        # failing at once as the default pool does when it runs out.
        self._pool = connect.make_pool(
            self.target,
            prefix=prefix,
            max_connections=pool_size,
            **({} if self.target.mode == "sentinel" else {"timeout": timeout}),
            # A backstop only, far above the store's own deadline (`answer_within`), which a
            # busy loop cannot fake: the socket's timer would take the loop's backlog (seconds
            # in a 10,000-viewer sale on 2 cores) for Redis's silence.
            socket_timeout=timeout * 10,
            socket_connect_timeout=min(timeout, 1.0),
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            # A connection idle this long is pinged before use (catches silent network drops).
            health_check_interval=10,
            **_pool_options(),
        )
        self.redis: aioredis.Redis = aioredis.Redis(connection_pool=self._pool)
        # redis-py's blocking pool wakes waiters in no fixed order, so under a long burst one
        # caller can starve past the timeout. A FIFO semaphore sized to the pool queues callers
        # fairly before they reach it (no step ever holds two connections at once).
        self._slots = asyncio.Semaphore(pool_size)
        self._holders_cache: dict[str, Holders] = {}
        self._holders_reads: SharedReads[Holders] = SharedReads()
        # Orders are the hot path: concurrent calls share pipelines (see batch.py).
        # WAIT (LIVE_REDIS_WAIT_REPLICAS): an accepted order is answered once that many
        # replicas hold it; fewer within wait_ms and it is `unavailable` (see batch.py).
        self._order_script = ScriptBatcher(
            self.redis,
            self._lua("order"),
            slots=self._slots,
            reply_timeout=timeout,
            wait=(wait_replicas, wait_ms) if wait_replicas > 0 else None,
            wrote=lambda reply: isinstance(reply, list) and bool(reply) and reply[0] == "ok",
        )
        self._cancel_script = self.redis.register_script(self._lua("cancel"))
        self._create_product_script = self.redis.register_script(self._lua("create_product"))
        self._create_show_script = self.redis.register_script(self._lua("create_show"))
        self._update_script = self.redis.register_script(self._lua("update_product"))
        self._status_script = self.redis.register_script(self._lua("set_status"))
        self._show_script = self.redis.register_script(self._lua("show_change"))
        self._lineup_script = self.redis.register_script(self._lua("set_lineup"))
        self._profile_script = self.redis.register_script(self._lua("set_profile"))
        self._forget_script = self.redis.register_script(self._lua("forget"))
        self._trust_scripts = TrustScripts(self.redis)  # authenticity (issue 15)
        self._pay_script = self.redis.register_script(self._lua("pay_orders"))  # holds (issue 14)
        # bundles (issue 13): each product's "parts" as read here ("" not a box); fixed when
        # the product is made, and the box scripts check it anyway ("stale").
        self._parts_cache: dict[str, str] = {}
        self._parts_reads: SharedReads[str] = SharedReads()
        # Box orders share pipelines as plain orders do, and with them WAIT (issue 16): a box
        # acknowledged to its buyer is on the replicas too when LIVE_REDIS_WAIT_REPLICAS asks.
        self._box_order_script = ScriptBatcher(
            self.redis,
            self._lua("order_box"),
            slots=self._slots,
            reply_timeout=timeout,
            wait=(wait_replicas, wait_ms) if wait_replicas > 0 else None,
            wrote=lambda reply: isinstance(reply, list) and bool(reply) and reply[0] == "ok",
        )
        self._box_cancel_script = self.redis.register_script(self._lua("cancel_box"))
        self._tell_box_script = self.redis.register_script(self._lua("tell_box"))
        # The boxes holding each product, as read here, and when (monotonic): a box made by
        # another process is noticed within _BOXES_TTL.
        self._boxes_cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        # Background runs telling boxes their stock after a change (see _tell_later).
        self._telling: set[tuple[str, bool]] = set()
        self._tell_again: set[tuple[str, bool]] = set()
        self._tell_tasks: set[asyncio.Task[None]] = set()

    def _lua(self, name: str) -> str:
        """A script's source; on a Cluster its events go out by sharded pub/sub (SPUBLISH on
        the deployment's slot: only that shard carries them, not every node)."""
        source = _lua(name)
        return source.replace('"PUBLISH"', '"SPUBLISH"') if self.target.cluster else source

    @asynccontextmanager
    async def _guard(self, *, patient: bool = False) -> AsyncIterator[None]:
        """Take a connection slot, bound the step by the timeout and turn a silent or absent
        Redis into `Unavailable`. Waiting for a slot is this process's backlog, not Redis's
        silence: a step that gets none within the timeout is given up unsent (`Busy`), unless
        it is `patient` (it must learn what an earlier step did, however long it waits)."""
        async with self._answers():
            try:
                async with asyncio.timeout(None if patient else self.timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise Busy(
                    "too many store steps waiting here; nothing was sent", retry_after_ms=1000
                ) from None
            try:
                async with answer_within(self.timeout):
                    yield
            finally:
                self._slots.release()

    @asynccontextmanager
    async def _answers(self) -> AsyncIterator[None]:
        """Turn what redis-py raises into the store's errors: a silent or absent Redis is
        `Unavailable`; a batched call withdrawn before it was sent is `Busy`."""
        try:
            yield
        except LiveError:
            raise
        except Withdrawn as exc:
            raise Busy("the order waited too long here to be sent; nothing was applied") from exc
        except REDIS_DOWN as exc:
            self.errors += 1  # operating (issue 16): live_store_errors_total
            raise Unavailable(f"redis did not answer: {type(exc).__name__}") from exc
        except rexc.ResponseError as exc:
            # OOM, READONLY after a failover, MISCONF (disk full): Redis answers but refuses to
            # write. Nothing was applied; the caller hears "unavailable", the operator the cause.
            log.error("redis refused a step: %s", exc)
            self.errors += 1
            raise Unavailable(f"redis refused: {str(exc)[:120]}") from exc

    async def _holders(self, product_id: str, *, refresh: bool = False) -> Holders:
        """The shows holding a product, cached: every script that relies on the list checks its
        version against the product's `shows_v` and answers "stale" when the set has changed.

        One read at a time per product: a burst of first orders shares a single SMEMBERS
        instead of each sending its own."""
        cached = self._holders_cache.get(product_id)
        if cached is not None and not refresh:
            return cached
        return await self._holders_reads.get(product_id, lambda: self._read_holders(product_id))

    async def _with_holders(
        self, product_id: str, step: Callable[[Holders], Awaitable[list[Any]]]
    ) -> list[Any]:
        """Run a script that needs every show holding the product; if it answers "stale" (a
        lineup changed meanwhile, in any process), read the list again and re-run it."""
        for attempt in range(_STALE_RETRIES):
            result = await step(await self._holders(product_id, refresh=attempt > 0))
            if result[0] != "stale":
                return result
        raise Unavailable("the product's shows kept changing; try again")

    async def _read_holders(self, product_id: str) -> Holders:
        k = self.keys
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            pipe.smembers(k.product_shows(product_id))
            pipe.hget(k.product(product_id), "shows_v")
            members, version = await pipe.execute()
        holders = Holders(str(version or "0"), tuple(sorted(members)))
        self._keep_holders(product_id, holders)
        return holders

    def _keep_holders(self, product_id: str, holders: Holders) -> None:
        if len(self._holders_cache) >= 10_000:
            self._holders_cache.clear()
        self._holders_cache[product_id] = holders

    def open_feed(self) -> Feed:
        return RedisFeed(self.url, self.keys, target=self.target)

    async def close(self) -> None:
        for task in list(self._tell_tasks):
            task.cancel()
        await asyncio.gather(*self._tell_tasks, return_exceptions=True)
        await self._holders_reads.close()
        await self._parts_reads.close()
        await self._order_script.close()
        await self._box_order_script.close()
        await self.redis.aclose()
        # For good: a step still running (a resync, a task nobody cancelled) gets `unavailable`
        # rather than a new connection (connect.Closing).
        await self._pool.aclose()

    @_idempotent
    async def ping(self) -> None:
        async with self._guard():
            await self.redis.ping()

    # --- catalog ---------------------------------------------------------------------------

    async def create_product(self, product: Product) -> Product:
        k = self.keys
        fields = [x for pair in _product_fields(product).items() for x in pair]
        async with self._guard():
            created = await self._create_product_script(
                keys=[k.product(product.id), k.products()], args=[product.id, *fields]
            )
        if not created:
            raise Invalid(f"product {product.id} exists")
        if product.parts:  # bundles (issue 13): each part knows the boxes holding it
            async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
                for part in product.parts:
                    pipe.sadd(k.product_boxes(part.product_id), product.id)
                await pipe.execute()
        return product

    @_idempotent
    async def get_product(self, product_id: str) -> Product:
        async with self._guard():
            h = _map(await self.redis.hgetall(self.keys.product(product_id)))
        if not h:
            raise NotFound(f"no product {product_id}")
        return (await self._with_box_stock([_product(h)]))[0]

    @_idempotent
    async def list_products(self) -> list[Product]:
        async with self._guard():
            ids = _strs(await self.redis.lrange(self.keys.products(), 0, -1))
            async with self.redis.pipeline(transaction=True) as pipe:
                for pid in ids:
                    pipe.hgetall(self.keys.product(pid))
                rows = await pipe.execute() if ids else []
        return await self._with_box_stock([_product(h) for h in rows if h])

    async def update_product(
        self,
        product_id: str,
        changes: Mapping[str, object],
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        unknown = set(changes) - EDITABLE_PRODUCT_FIELDS
        if unknown:
            raise Invalid(f"not editable: {', '.join(sorted(unknown))}")
        if stock is not None and stock_delta is not None:
            raise Invalid("send either stock or stock_delta, not both")
        args: list[str | int] = []
        for name, value in changes.items():
            args += [name, _encode_change(name, value)]
        if await self._parts_text(product_id):  # bundles (issue 13)
            if stock is not None or stock_delta is not None:
                raise Conflict(domain.BOX_STOCK)
            return (await self._with_box_stock([await self._update(product_id, args)]))[0]
        return await self._update(product_id, args, stock=stock, stock_delta=stock_delta)

    async def _update(
        self,
        product_id: str,
        fields: list[str | int],
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
        option_id: str = "",
        options: str = "",
        harvest: int | None = None,
    ) -> Product:
        """One update_product.lua step: fields, a stock change (of the product or of one
        option), a new list of options, or a harvest."""
        mode, n = "none", 0
        if stock is not None:
            mode, n = "set", stock
        elif stock_delta is not None:
            mode, n = "delta", stock_delta
        elif harvest is not None:
            mode, n = "harvest", harvest
        k = self.keys

        async def step(holders: Holders) -> list[Any]:
            keys = [k.product(product_id), k.product_shows(product_id)]
            for sid in holders.shows:  # the product event tells each show its place there
                keys += [k.show(sid), k.on_sale(sid), k.deals(sid)]
            channels = [k.channel(sid) for sid in holders.shows]
            head: list[str | int] = [mode, n, domain.MAX_STOCK, len(holders.shows), holders.version]
            head += [option_id, options]
            async with self._guard():
                return list(await self._update_script(keys=keys, args=[*head, *channels, *fields]))

        result = await self._with_holders(product_id, step)
        tag = result[0]
        if tag == "missing":
            raise NotFound(f"no product {product_id}")
        if tag == "negative":
            raise Conflict(f"stock cannot go below 0 (now {result[1]}, change {stock_delta})")
        if tag == "too_large":
            raise Invalid(f"stock cannot exceed {domain.MAX_STOCK}")
        if tag == "has_options":
            raise Conflict("the product's stock changes through its options")
        if tag == "no_option":
            if options:
                raise Invalid(f"the product has no option {result[1]}", field="options")
            raise NotFound(f"no option {result[1]} of product {product_id}")
        if tag == "sold_option":
            raise Conflict(
                f"option {result[1]!r} has been sold: it can be emptied (stock 0), not removed"
            )
        if tag == "sold_plain":
            raise Conflict("the product has orders: it cannot be split into options now")
        if tag in ("not_box", "sold_box"):  # bundles (issue 13)
            raise Conflict(domain.NOT_A_BOX if tag == "not_box" else domain.BOX_FIXED)
        if tag == "short":
            domain.check_harvest(int(n), int(result[1]))
        if tag == "which_option":
            raise Invalid("name the option the harvest is for (option_id)", field="option_id")
        self._tell_later(product_id)  # bundles (issue 13)
        # The script answers the product as it left it (a later read could see another change).
        return _product(_pairs(result[1:]))

    # --- options (issue 13) ----------------------------------------------------------------

    async def update_option_stock(
        self,
        product_id: str,
        option_id: str,
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        if stock is not None and stock_delta is not None:
            raise Invalid("send either stock or stock_delta, not both")
        if stock is None and stock_delta is None:
            raise Invalid("send stock or stock_delta")
        return await self._update(
            product_id, [], stock=stock, stock_delta=stock_delta, option_id=option_id
        )

    async def set_options(
        self, product_id: str, specs: list[domain.OptionSpec], new_ids: list[str]
    ) -> Product:
        domain.check_option_names([spec.name for spec in specs])
        fresh = iter(new_ids)
        wanted = [
            {
                "id": spec.id or next(fresh),
                "new": spec.id is None,
                "stock": spec.stock,
                "name": spec.name.strip(),
                "price": spec.price,
                "unit": spec.unit.strip(),
                "weight_g": spec.weight_g,
                "preorder_cap": spec.preorder_cap,
                "ships_from": spec.ships_from,
            }
            for spec in specs
        ]
        return await self._update(product_id, [], options=msgspec.json.encode(wanted).decode())

    async def receive_harvest(self, product_id: str, option_id: str | None, units: int) -> Product:
        # Not retried on a dead connection (as stock changes): a second run would add twice.
        return await self._update(product_id, [], harvest=units, option_id=option_id or "")

    # --- shows -----------------------------------------------------------------------------

    async def create_show(self, show: Show) -> Show:
        k = self.keys
        # A show without a code (made by code, not by the service) reserves a key nobody reads.
        short = k.short(show.short_code or f"none-{show.id}")
        keys = [k.show(show.id), k.lineup(show.id), k.shows(), short]
        for pid in show.lineup:
            keys += [k.product(pid), k.product_shows(pid)]
        fields: dict[str, str | int] = {
            "id": show.id,
            "title": show.title,
            "overlay_key": show.overlay_key,
            "ordering_open": "1" if show.ordering_open else "0",
            "featured": _opt(show.featured_product_id),
            "seq": show.seq,
            "eseq": show.event_seq,
            "ended": "1" if show.ended else "0",
            "created_at": repr(show.created_at),
            "short": show.short_code,
            "toasts": "1" if show.toasts else "0",
            "hold": show.hold_seconds,  # holds (issue 14)
        }
        args: list[str | int] = [show.id, len(show.lineup), *show.lineup]
        args += [x for pair in fields.items() for x in pair]
        async with self._guard():
            result = await self._create_show_script(keys=keys, args=args)
        if result[0] == "exists":
            raise Invalid(f"show {show.id} exists")
        if result[0] == "missing":
            raise Invalid(f"unknown product id: {result[1]}")
        if result[0] == "archived":
            raise Invalid(f"product {result[1]} is archived: it cannot join a lineup")
        if result[0] == "short_taken":
            raise Conflict(f"short code {show.short_code} is taken")
        return show

    @_idempotent
    async def list_shows(self) -> list[Show]:
        async with self._guard():
            ids = _strs(await self.redis.lrange(self.keys.shows(), -500, -1))
        shows = []
        for show_id in reversed(ids):
            async with self._guard():
                show, _ = await self._read_show(show_id)
            shows.append(show)
        return shows

    async def set_user(self, name: str, password_hash: str) -> None:
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.users(), name, password_hash)
            # A new password: a new random session generation (live.auth.epoch_key).
            pipe.hset(self.keys.session_epochs(), f"account:{name}", new_session_epoch())
            await pipe.execute()

    @_idempotent
    async def get_user(self, name: str) -> str | None:
        async with self._guard():
            value = await self.redis.hget(self.keys.users(), name)
        return str(value) if value else None

    @_idempotent
    async def get_coop_settings(self) -> dict[str, str]:
        async with self._guard():
            values = await self.redis.hgetall(self.keys.coop())
        return {str(k): str(v) for k, v in values.items()}

    @_idempotent
    async def set_coop_settings(self, changes: Mapping[str, str]) -> dict[str, str]:
        drop = [name for name, value in changes.items() if not value]
        keep = {name: value for name, value in changes.items() if value}
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            if keep:
                pipe.hset(self.keys.coop(), mapping=keep)  # type: ignore[arg-type]
            if drop:
                pipe.hdel(self.keys.coop(), *drop)
            pipe.hgetall(self.keys.coop())
            results = await pipe.execute()
        return {str(k): str(v) for k, v in results[-1].items()}

    @_idempotent
    async def session_epoch(self, name: str, *, start: bool = False) -> int | None:
        key = self.keys.session_epochs()
        async with self._guard():
            if start:
                # HSETNX then HGET in one transaction: two logins at once agree on one value.
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hsetnx(key, name, new_session_epoch())
                    pipe.hget(key, name)
                    value = (await pipe.execute())[1]
            else:
                value = await self.redis.hget(key, name)
        # Missing (never started, or Redis lost it): no session is valid.
        return int(value) if value else None

    async def end_sessions(self, name: str) -> int:
        epoch = new_session_epoch()
        async with self._guard():
            await self.redis.hset(self.keys.session_epochs(), name, epoch)
        return epoch

    @_idempotent
    async def show_by_code(self, code: str) -> str:
        async with self._guard():
            show_id = await self.redis.get(self.keys.short(code))
        if not show_id:
            raise NotFound(f"no show with code {code}")
        return str(show_id)

    async def _read_show(self, show_id: str) -> tuple[Show, list[str]]:
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(k.show(show_id))
            pipe.lrange(k.lineup(show_id), 0, -1)
            pipe.smembers(k.on_sale(show_id))
            pipe.hgetall(k.deals(show_id))
            h, lineup, on_sale, deals = await pipe.execute()
        if not h:
            raise NotFound(f"no show {show_id}")
        return _show(h, lineup, on_sale, deals), lineup

    @_idempotent
    async def get_show(self, show_id: str) -> Show:
        async with self._guard():
            show, _ = await self._read_show(show_id)
        return show

    @_idempotent
    async def show_state(self, show_id: str) -> ShowState:
        k = self.keys
        for _ in range(_STALE_RETRIES):
            async with self._guard():
                # Which products to read depends on the lineup, which the host may change: read
                # it, then everything in one MULTI with the lineup again. If it moved meanwhile,
                # read again; otherwise products and the seq belong to the same moment.
                lineup = _strs(await self.redis.lrange(k.lineup(show_id), 0, -1))
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hgetall(k.show(show_id))
                    pipe.lrange(k.lineup(show_id), 0, -1)
                    pipe.smembers(k.on_sale(show_id))
                    pipe.hgetall(k.deals(show_id))
                    for pid in lineup:
                        pipe.hgetall(k.product(pid))
                        pipe.smembers(k.product_shows(pid))
                    h, again, on_sale, deals, *rows = await pipe.execute()
            if not h:
                raise NotFound(f"no show {show_id}")
            if again == lineup:
                show = _show(h, lineup, on_sale, deals)
                products = rows[0::2]
                # The shows holding each product, read in the same step: a sale's first orders
                # then find them cached instead of all waiting for one read in a busy loop.
                for pid, row, members in zip(lineup, products, rows[1::2], strict=True):
                    if row:
                        self._keep_holders(
                            pid, Holders(str(row.get("shows_v") or "0"), tuple(sorted(members)))
                        )
                        self._parts_cache[pid] = str(row.get("parts") or "")  # box or not
                shown = await self._with_box_stock([_product(r) for r in products if r])
                return ShowState(show=show, products=tuple(shown))
        raise Unavailable("the show's lineup kept changing; try again")

    @_idempotent
    async def _change_show(self, show_id: str, op: str, *args: str) -> Show:
        """One show_change.lua step: the change, its seq, its event, and the show read back."""
        k = self.keys
        keys = [k.show(show_id), k.on_sale(show_id), k.deals(show_id), k.lineup(show_id)]
        async with self._guard():
            result = await self._show_script(keys=keys, args=[op, k.channel(show_id), *args])
        if result[0] == "missing":
            raise NotFound(f"no show {show_id}")
        if result[0] == "not_in_lineup":
            raise Invalid(f"product {args[0]} is not in the show's lineup")
        if result[0] == "ended":
            raise Conflict(f"the show {show_id} has ended; its sale cannot change")
        _, flat, lineup, on_sale, deals = result
        return _show(_pairs(flat), lineup, set(on_sale), _pairs(deals))

    async def set_featured(self, show_id: str, product_id: str | None) -> Show:
        return await self._change_show(show_id, "featured", _opt(product_id))

    async def set_ordering(self, show_id: str, open_: bool) -> Show:
        return await self._change_show(show_id, "ordering", "1" if open_ else "0")

    async def set_on_sale(self, show_id: str, product_id: str, on_sale: bool) -> Show:
        return await self._change_show(show_id, "on_sale", product_id, "1" if on_sale else "0")

    async def set_deal(self, show_id: str, product_id: str, deal: Deal | None) -> Show:
        if deal is None:
            return await self._change_show(show_id, "deal", product_id, "", "")
        return await self._change_show(
            show_id, "deal", product_id, str(deal.price), repr(deal.ends_at)
        )

    async def set_toasts(self, show_id: str, on: bool) -> Show:
        return await self._change_show(show_id, "toasts", "1" if on else "0")

    @_idempotent
    async def set_lineup(self, show_id: str, product_ids: tuple[str, ...]) -> Show:
        domain.check_lineup(product_ids)
        k = self.keys
        for _ in range(_STALE_RETRIES):
            async with self._guard():
                current = _strs(await self.redis.lrange(k.lineup(show_id), 0, -1))
            union = list(dict.fromkeys([*current, *product_ids]))
            keys = [k.show(show_id), k.lineup(show_id), k.on_sale(show_id), k.deals(show_id)]
            for pid in union:
                keys += [k.product(pid), k.product_shows(pid)]
            args: list[str | int] = [show_id, k.channel(show_id), len(current), len(product_ids)]
            args += [*current, *product_ids, *union]
            async with self._guard():
                result = await self._lineup_script(keys=keys, args=args)
            tag = result[0]
            if tag == "stale":
                continue  # the lineup changed between the read and the script: read it again
            if tag == "missing":
                raise NotFound(f"no show {show_id}")
            if tag == "ended":
                raise Conflict(f"the show {show_id} has ended; its sale cannot change")
            if tag == "unknown":
                raise Invalid(f"unknown product id: {result[1]}")
            if tag == "archived":
                raise Invalid(f"product {result[1]} is archived: it cannot join a lineup")
            _, flat, lineup, on_sale, deals = result
            return _show(_pairs(flat), lineup, set(on_sale), _pairs(deals))
        raise Unavailable("the show's lineup kept changing; try again")

    async def end_show(self, show_id: str) -> Show:
        return await self._change_show(show_id, "end")

    async def set_overlay_key(self, show_id: str, overlay_key: str) -> Show:
        return await self._change_show(show_id, "overlay_key", overlay_key, key_digest(overlay_key))

    # --- orders ----------------------------------------------------------------------------

    @_idempotent
    async def place_order(
        self, request: OrderRequest, *, send_by: float | None = None
    ) -> OrderAccepted:
        k, r = self.keys, request
        parts_text = await self._parts_text(r.product_id)  # bundles (issue 13)
        if parts_text:
            return await self._place_box_order(request, send_by)
        keys = [
            k.show(r.show_id),
            k.on_sale(r.show_id),
            k.deals(r.show_id),
            k.product(r.product_id),
            k.bought(r.buyer),
            k.idem(r.buyer, r.key),
            k.order(r.order_id),
            k.show_orders(r.show_id),
            k.product_shows(r.product_id),
            k.buyer_orders(r.buyer),
            k.profile(r.buyer),
        ]
        phone = self._phones.get(r.buyer, "")
        args: list[str | int] = [
            r.show_id,
            r.product_id,
            r.buyer,
            r.qty,
            r.key,
            r.order_id,
            repr(r.now),
            domain.IDEMPOTENCY_TTL,
        ]

        async def step(holders: Holders) -> list[Any]:
            others = [sid for sid in holders.shows if sid != r.show_id]
            channels = [k.channel(r.show_id), phone, r.ip, r.option_id or ""]
            channels += [k.channel(sid) for sid in others]
            # Not bounded by the store timeout as a whole: the batcher withdraws the call if it
            # is still queued at `send_by` (Busy: it never runs) and, once sent, waits for its
            # reply up to the timeout (Unavailable only if Redis does not give one).
            wait = None if send_by is None else send_by - time.monotonic()
            async with self._answers():
                return list(
                    await self._order_script(
                        [
                            *keys,
                            k.phone_bought(phone),
                            k.deadlines(),  # holds (issue 14)
                            *(k.show(sid) for sid in others),
                        ],
                        [*args, holders.version, *channels],
                        send_within=wait,
                    )
                )

        for _ in range(_STALE_RETRIES):
            result = await self._with_holders(r.product_id, step)
            if result[0] != "rephone":
                break
            phone = self._remember_phone(r.buyer, result[1])
        else:
            raise Unavailable("the buyer's phone kept changing; try again")
        tag = result[0]
        if tag == "ok":
            _, order_id, stock, seq, price, currency, number, option_name, preorder = result[:9]
            ships_from, harvest, expires_at = result[9:12]
            order = Order(
                id=order_id,
                show_id=r.show_id,
                product_id=r.product_id,
                buyer=r.buyer,
                qty=r.qty,
                price=int(price),
                currency=currency,
                status=OrderStatus.CLAIMED,
                created_at=r.now,
                key=r.key,
                number=int(number),
                ip=r.ip,
                option_id=r.option_id,
                option_name=option_name,
                preorder=preorder == "1",
                ships_from=ships_from,
                harvest=int(harvest),
                expires_at=float(expires_at) if expires_at else None,
            )
            self._tell_later(r.product_id)  # bundles (issue 13)
            return OrderAccepted(order=order, created=True, stock=int(stock), seq=int(seq))
        if tag == "dup":
            # The key's order exists: its answer must not turn into "busy".
            async with self._guard(patient=True), self.redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(k.order(result[1]))
                pipe.hmget(k.product(r.product_id), "stock", "options")
                h, (stock, raw_options) = await pipe.execute()
            earlier = _order(h)
            for option in _options(raw_options or ""):
                if option.id == earlier.option_id:
                    stock = option.stock
            return OrderAccepted(
                order=earlier, created=False, stock=int(stock or 0), seq=int(result[2])
            )
        if tag == "missing":
            raise NotFound(f"no show {r.show_id}")
        reason, stock = Reason(result[1]), int(result[2])
        if reason is Reason.INVALID:
            if result[3:] == ["option"]:
                raise OrderRefused(reason, detail=domain.OPTION_CHOICE)
            raise OrderRefused(reason, detail="this key was used for a different order")
        raise OrderRefused(reason, stock=stock if stock >= 0 else None)

    @_idempotent
    async def get_order(self, order_id: str) -> Order:
        async with self._guard():
            h = _map(await self.redis.hgetall(self.keys.order(order_id)))
        if not h:
            raise NotFound(f"no order {order_id}")
        return _order(h)

    @_idempotent
    async def list_orders(self, show_id: str) -> list[Order]:
        k = self.keys
        async with self._guard():
            if not await self.redis.exists(k.show(show_id)):
                raise NotFound(f"no show {show_id}")
            ids = _strs(await self.redis.lrange(k.show_orders(show_id), 0, -1))
            rows: list[dict[str, str]] = []
            # Bounded pipelines keep one reply from growing without limit on a big show.
            for start in range(0, len(ids), 1000):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for oid in ids[start : start + 1000]:
                        pipe.hgetall(k.order(oid))
                    rows += await pipe.execute()
        return [_order(h) for h in rows if h]

    @_idempotent
    async def cancel_order(self, order_id: str) -> tuple[Order, bool]:
        order = await self.get_order(order_id)
        tag = await self._give_back(order, "")
        if tag == "missing":
            raise NotFound(f"no order {order_id}")
        if tag == "shipped":
            raise Conflict("a shipped order cannot be cancelled")
        if tag == "expired":
            return dataclasses.replace(order, status=OrderStatus.EXPIRED), False
        cancelled = dataclasses.replace(order, status=OrderStatus.CANCELLED)
        return cancelled, tag == "cancelled"

    # --- holds (issue 14) ------------------------------------------------------------------

    async def expire_orders(self, now: float, limit: int = 100) -> list[Order]:
        k = self.keys
        async with self._guard():
            due = _strs(await self.redis.zrangebyscore(k.deadlines(), "-inf", now, 0, limit))

        async def expire(order_id: str) -> Order | None:
            try:
                order = await self.get_order(order_id)
            except NotFound:  # gone (a flushed store): nothing to give back
                async with self._guard():
                    await self.redis.zrem(k.deadlines(), order_id)
                return None
            # The script decides: of two processes sweeping the same order, one expires it.
            if await self._give_back(order, repr(now)) != "cancelled":
                return None
            return dataclasses.replace(order, status=OrderStatus.EXPIRED)

        done = await asyncio.gather(*(expire(order_id) for order_id in due))
        return [order for order in done if order is not None]

    async def pay_orders(self, order_ids: Sequence[str], now: float) -> list[Order]:
        if not order_ids:
            return []
        k = self.keys
        first = await self.get_order(order_ids[0])
        keys = [k.deadlines(), k.show(first.show_id), *(k.order(oid) for oid in order_ids)]
        async with self._guard():
            result = await self._pay_script(keys=keys, args=[repr(now), *order_ids])
        if result[0] == "missing":
            raise NotFound(f"no order {result[1]}")
        if result[0] == "refused":
            raise Conflict(f"order {result[1]} is {result[2]}: {domain.HOLD_EXPIRED}")
        async with self._guard(), self.redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hgetall(k.order(oid))
            rows = await pipe.execute()
        return [_order(h) for h in rows]

    async def set_payment_notice(self, show_id: str, buyer: str, notice: Mapping[str, str]) -> None:
        async with self._guard():
            if not await self.redis.exists(self.keys.show(show_id)):
                raise NotFound(f"no show {show_id}")
            await self.redis.hset(self.keys.notices(show_id), buyer, json.dumps(dict(notice)))

    @_idempotent
    async def payment_notices(self, show_id: str) -> dict[str, dict[str, str]]:
        async with self._guard():
            raw = _map(await self.redis.hgetall(self.keys.notices(show_id)))
        return {buyer: json.loads(text) for buyer, text in raw.items()}

    async def _give_back(self, order: Order, expire_now: str) -> str:
        """One cancel.lua step (an expiry when `expire_now` is a time); answers its tag."""
        k = self.keys
        if await self._parts_text(order.product_id):  # bundles (issue 13)
            return await self._give_back_box(order, expire_now)
        order_id = order.id
        phone = self._phones.get(order.buyer, "")

        async def step(holders: Holders) -> list[Any]:
            others = [sid for sid in holders.shows if sid != order.show_id]
            keys = [
                k.order(order_id),
                k.product(order.product_id),
                k.bought(order.buyer),
                k.show(order.show_id),
                k.product_shows(order.product_id),
                k.profile(order.buyer),
                k.phone_bought(phone),
                k.deadlines(),
                *(k.show(sid) for sid in others),
            ]
            channels = [k.channel(order.show_id), phone, expire_now]
            channels += [k.channel(sid) for sid in others]
            async with self._guard():
                return list(
                    await self._cancel_script(
                        keys=keys, args=[order.product_id, order.qty, holders.version, *channels]
                    )
                )

        for _ in range(_STALE_RETRIES):
            result = await self._with_holders(order.product_id, step)
            if result[0] != "rephone":
                break
            phone = self._remember_phone(order.buyer, result[1])
        else:
            raise Unavailable("the buyer's phone kept changing; try again")
        if result[0] == "cancelled":
            self._tell_later(order.product_id)  # bundles (issue 13)
        return str(result[0])

    # --- bundles (issue 13) ----------------------------------------------------------------

    async def _parts_text(self, product_id: str, *, refresh: bool = False) -> str:
        """The product's "parts" as its hash keeps them: "" for a product that is no box (or
        none at all; only a product that exists is remembered)."""
        cached = self._parts_cache.get(product_id)
        if cached is not None and not refresh:
            return cached
        # Every order asks first whether its product is a box: one read per product at a time.
        return await self._parts_reads.get(product_id, lambda: self._read_parts(product_id))

    async def _read_parts(self, product_id: str) -> str:
        async with self._guard():
            found, parts = await self.redis.hmget(self.keys.product(product_id), "id", "parts")
        if found is None:
            return ""
        text = str(parts or "")
        if len(self._parts_cache) >= 10_000:
            self._parts_cache.clear()
        self._parts_cache[product_id] = text
        return text

    async def set_parts(self, product_id: str, parts: tuple[domain.Part, ...]) -> Product:
        """update_product.lua sets "parts" (refusing a box with orders), then each part's set of
        boxes follows and the box's stock is told; both are advisory (tell_box.lua checks the
        parts), so a crash between only delays a box's stock on screens."""
        old = _parts(await self._parts_text(product_id, refresh=True))
        text = _parts_json(parts)
        updated = await self._update(product_id, ["parts", text])
        k = self.keys
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            for part in old:
                pipe.srem(k.product_boxes(part.product_id), product_id)
            for part in parts:
                pipe.sadd(k.product_boxes(part.product_id), product_id)
            await pipe.execute()
        self._parts_cache[product_id] = text
        for part in (*old, *parts):
            self._boxes_cache.pop(part.product_id, None)
        await self._tell_box(product_id)
        return (await self._with_box_stock([updated]))[0]

    async def _boxes_of(self, product_id: str) -> tuple[str, ...]:
        cached = self._boxes_cache.get(product_id)
        if cached is not None and time.monotonic() - cached[0] < _BOXES_TTL:
            return cached[1]
        async with self._guard():
            found = await self.redis.smembers(self.keys.product_boxes(product_id))
        boxes = tuple(sorted(_strs(found)))
        if len(self._boxes_cache) >= 10_000:
            self._boxes_cache.clear()
        self._boxes_cache[product_id] = (time.monotonic(), boxes)
        return boxes

    def _tell_later(self, product_id: str, *, parts: bool = False) -> None:
        """After a committed change: tell the boxes holding `product_id` (with `parts`, a box:
        the boxes sharing its parts) their new stock, in the background. Never in the answer's
        path: the change is done, so nothing here may delay its answer or turn it into an
        error (a burst of orders on one part would otherwise queue a read and a script behind
        every acceptance, and a timeout there would answer `busy` for an order that exists).
        A burst is coalesced: one run at a time per product, one more if changes came
        meanwhile. A failure is logged; the next change of any part corrects the box."""
        key = (product_id, parts)
        if key in self._telling:
            self._tell_again.add(key)
            return
        self._telling.add(key)
        task = asyncio.create_task(self._tell_runs(key))
        self._tell_tasks.add(task)
        task.add_done_callback(self._tell_tasks.discard)

    async def _tell_runs(self, key: tuple[str, bool]) -> None:
        product_id, parts = key
        try:
            while True:
                self._tell_again.discard(key)
                try:
                    if parts:
                        await self._tell_boxes_of_parts(product_id)
                    else:
                        await self._tell_boxes(product_id)
                except LiveError as exc:
                    log.warning("gift boxes of %s not told their stock: %s", product_id, exc)
                if key not in self._tell_again:
                    break
        finally:
            self._telling.discard(key)

    async def _tell_boxes_of_parts(self, box_id: str) -> None:
        """A box's order or cancel moved its parts: other boxes sharing a part may change."""
        for part in _parts(await self._parts_text(box_id)):
            await self._tell_boxes(part.product_id)

    async def _tell_boxes(self, product_id: str) -> None:
        """The product's stock changed: every box holding it shows the stock it allows now, on
        every show holding the box (tell_box.lua; a run that finds it unchanged tells nobody).
        A step after the change, not in it: the box's own orders check the parts themselves,
        and the next change of any part corrects a box a crash in between left behind."""
        for box_id in await self._boxes_of(product_id):
            await self._tell_box(box_id)

    async def _tell_box(self, box_id: str) -> None:
        k = self.keys
        for attempt in range(_STALE_RETRIES):
            parts_text = await self._parts_text(box_id, refresh=attempt > 0)
            holders = await self._holders(box_id, refresh=attempt > 0)
            parts = _parts(parts_text)
            keys = [k.product(box_id), k.product_shows(box_id)]
            keys += [k.product(p.product_id) for p in parts]
            keys += [k.show(sid) for sid in holders.shows]
            args: list[str | int] = [box_id, parts_text, holders.version, len(parts)]
            args += [k.channel(sid) for sid in holders.shows]
            async with self._guard():
                result = await self._tell_box_script(keys=keys, args=args)
            if result[0] != "stale":
                break

    async def _with_box_stock(self, products: list[Product]) -> list[Product]:
        """Boxes as read: the stock their parts allow now (parts not among `products` are read)."""
        wanted = {part.product_id for p in products for part in p.parts}
        if not wanted:
            return products
        known = {p.id: p for p in products}
        missing = sorted(wanted - known.keys())
        if missing:
            async with self._guard(), self.redis.pipeline(transaction=False) as pipe:
                for pid in missing:
                    pipe.hgetall(self.keys.product(pid))
                rows = await pipe.execute()
            known.update((p.id, p) for p in (_product(h) for h in rows if h))
        return [domain.with_bundle_stock(p, known) for p in products]

    async def _box_step(
        self,
        box_id: str,
        here: tuple[str, int, int],
        run: Callable[[str, list[str], list[str | int], list[str | int]], Awaitable[list[Any]]],
    ) -> list[Any]:
        """Run a box script with the parts and every show holding the box or a part; on
        "stale" read them again and re-run. `here` is the order's show, its index in KEYS
        (it hears of the parts it holds through that key) and the count of the script's fixed
        KEYS; `run` gets the parts' text, the keys after the fixed ones (parts, their sets of
        shows, the shows to tell), the box's and parts' versions of their sets of shows, and a
        triple per event (KEYS index, channel, product: 0 the box, i part i)."""
        k = self.keys
        show_id, show_index, fixed = here
        for attempt in range(_STALE_RETRIES):
            parts_text = await self._parts_text(box_id, refresh=attempt > 0)
            parts = _parts(parts_text)
            box_holders = await self._holders(box_id, refresh=attempt > 0)
            part_holders = [await self._holders(p.product_id, refresh=attempt > 0) for p in parts]
            keys = [k.product(p.product_id) for p in parts]
            keys += [k.product_shows(p.product_id) for p in parts]
            index = {show_id: show_index}
            told: list[str | int] = []
            tell = [(sid, i) for i, h in enumerate(part_holders, start=1) for sid in h.shows]
            tell += [(sid, 0) for sid in box_holders.shows if sid != show_id]
            for sid, product in tell:
                if sid not in index:
                    keys.append(k.show(sid))
                    index[sid] = fixed + len(keys)
                told += [index[sid], k.channel(sid), product]
            versions: list[str | int] = [box_holders.version, *(h.version for h in part_holders)]
            result = await run(parts_text, keys, versions, told)
            if result[0] != "stale":
                return result
        raise Unavailable("the box's parts or shows kept changing; try again")

    async def _place_box_order(self, request: OrderRequest, send_by: float | None) -> OrderAccepted:
        if send_by is not None and time.monotonic() > send_by:
            raise Busy("the order waited too long here to be placed; nothing was applied")
        k, r = self.keys, request
        phone = self._phones.get(r.buyer, "")
        fixed = [
            k.show(r.show_id),
            k.on_sale(r.show_id),
            k.deals(r.show_id),
            k.product(r.product_id),
            k.bought(r.buyer),
            k.idem(r.buyer, r.key),
            k.order(r.order_id),
            k.show_orders(r.show_id),
            k.buyer_orders(r.buyer),
            k.profile(r.buyer),
        ]

        async def run(
            parts_text: str, keys: list[str], versions: list[str | int], told: list[str | int]
        ) -> list[Any]:
            n = len(versions) - 1
            args: list[str | int] = [
                r.show_id, r.product_id, r.buyer, r.qty, r.key, r.order_id, repr(r.now),
                domain.IDEMPOTENCY_TTL, k.channel(r.show_id), phone, r.ip, n, parts_text,
                *versions, *told,
            ]  # fmt: skip
            all_keys = [*fixed, k.phone_bought(phone), k.deadlines(), k.product_shows(r.product_id)]
            # As a plain order: withdrawn unsent at `send_by` (Busy), else waited for.
            wait = None if send_by is None else send_by - time.monotonic()
            async with self._answers():
                return list(
                    await self._box_order_script([*all_keys, *keys], args, send_within=wait)
                )

        for _ in range(_STALE_RETRIES):
            if r.option_id is not None:
                raise OrderRefused(Reason.INVALID, detail=domain.OPTION_CHOICE)
            result = await self._box_step(r.product_id, (r.show_id, 1, 13), run)
            if result[0] != "rephone":
                break
            phone = self._remember_phone(r.buyer, result[1])
        else:
            raise Unavailable("the buyer's phone kept changing; try again")
        tag = result[0]
        if tag == "ok":
            _, order_id, stock, seq, price, currency, number, expires_at = result[:8]
            order = Order(
                id=order_id,
                show_id=r.show_id,
                product_id=r.product_id,
                buyer=r.buyer,
                qty=r.qty,
                price=int(price),
                currency=currency,
                status=OrderStatus.CLAIMED,
                created_at=r.now,
                key=r.key,
                number=int(number),
                ip=r.ip,
                expires_at=float(expires_at) if expires_at else None,
            )
            self._tell_later(r.product_id, parts=True)
            return OrderAccepted(order=order, created=True, stock=int(stock), seq=int(seq))
        if tag == "dup":
            earlier = await self.get_order(result[1])
            box = await self.get_product(r.product_id)
            return OrderAccepted(order=earlier, created=False, stock=box.stock, seq=int(result[2]))
        if tag == "missing":
            raise NotFound(f"no show {r.show_id}")
        reason, stock = Reason(result[1]), int(result[2])
        if reason is Reason.INVALID:
            raise OrderRefused(reason, detail="this key was used for a different order")
        raise OrderRefused(reason, stock=stock if stock >= 0 else None)

    async def _give_back_box(self, order: Order, expire_now: str) -> str:
        """One cancel_box.lua step (an expiry when `expire_now` is a time); answers its tag."""
        k = self.keys
        phone = self._phones.get(order.buyer, "")

        async def run(
            parts_text: str, keys: list[str], versions: list[str | int], told: list[str | int]
        ) -> list[Any]:
            fixed = [
                k.order(order.id),
                k.product(order.product_id),
                k.bought(order.buyer),
                k.show(order.show_id),
                k.product_shows(order.product_id),
                k.profile(order.buyer),
                k.phone_bought(phone),
                k.deadlines(),
            ]
            args: list[str | int] = [
                order.product_id, order.qty, k.channel(order.show_id), phone, expire_now,
                len(versions) - 1, parts_text, *versions, *told,
            ]  # fmt: skip
            async with self._guard():
                return list(await self._box_cancel_script(keys=[*fixed, *keys], args=args))

        for _ in range(_STALE_RETRIES):
            result = await self._box_step(order.product_id, (order.show_id, 4, 8), run)
            if result[0] != "rephone":
                break
            phone = self._remember_phone(order.buyer, result[1])
        else:
            raise Unavailable("the buyer's phone kept changing; try again")
        if result[0] == "cancelled":
            self._tell_later(order.product_id, parts=True)
        return str(result[0])

    @_idempotent
    async def buyer_orders(self, buyer: str, show_id: str) -> list[Order]:
        k = self.keys
        async with self._guard():
            ids = _strs(await self.redis.lrange(k.buyer_orders(buyer), -500, -1))
            async with self.redis.pipeline(transaction=False) as pipe:
                for oid in ids:
                    pipe.hgetall(k.order(oid))
                rows = await pipe.execute() if ids else []
        orders = [_order(h) for h in rows if h]
        return [o for o in orders if o.show_id == show_id]

    @_idempotent
    async def set_profile(self, buyer: str, profile: Profile, *, phone_key: str = "") -> None:
        k = self.keys
        fields = [x for pair in profile.fields.items() for x in pair]
        phone = self._phones.get(buyer, "")
        for _ in range(_STALE_RETRIES):
            keys = [k.profile(buyer), k.bought(buyer), k.buyer_orders(buyer)]
            keys += [k.phone_bought(phone), k.phone_bought(phone_key)]
            async with self._guard():
                result = await self._profile_script(
                    keys=keys, args=[phone, phone_key, self._profile_ttl, *fields]
                )
            if result[0] == "ok":
                self._remember_phone(buyer, phone_key)
                return
            phone = self._remember_phone(buyer, result[1])
        raise Unavailable("the buyer's phone kept changing; try again")

    def _remember_phone(self, buyer: str, phone_key: object) -> str:
        if len(self._phones) >= 100_000:
            self._phones.clear()
        self._phones[buyer] = str(phone_key)
        return self._phones[buyer]

    @_idempotent
    async def get_profiles(self, buyers: list[str]) -> dict[str, Profile]:
        if not buyers:
            return {}
        async with self._guard(), self.redis.pipeline(transaction=False) as pipe:
            for buyer in buyers:
                pipe.hgetall(self.keys.profile(buyer))
            rows = await pipe.execute()
        return {buyer: Profile.from_fields(h) for buyer, h in zip(buyers, rows, strict=True) if h}

    @_idempotent
    async def set_order_status(
        self, order_id: str, status: OrderStatus, *, unpaid: bool = False, now: float | None = None
    ) -> Order:
        order = await self.get_order(order_id)
        domain.check_status_change(order.status, status, unpaid=unpaid)
        k = self.keys
        async with self._guard():
            result = await self._status_script(
                keys=[k.order(order_id), k.show(order.show_id), k.deadlines()],
                args=[
                    status.value,
                    "1" if unpaid else "",
                    "" if now is None else repr(now),
                    repr(time.time() if now is None else now),
                ],
            )
        tag = result[0]
        if tag == "expired":  # holds (issue 14)
            raise Conflict(domain.HOLD_EXPIRED)
        if tag == "unpaid":
            raise Conflict(domain.UNPAID_SHIPPING)
        if tag == "cancelled":
            raise Conflict("the order is cancelled")
        if tag == "backwards":
            raise Conflict(f"an order cannot go back from {result[1]} to {status}")
        if tag == "missing":
            raise NotFound(f"no order {order_id}")
        return await self.get_order(order_id)

    # --- data lifecycle (issue 16): live/backends/redis/lifecycle.py -----------------------

    async def export_data(self) -> DataSet:
        return await lifecycle.export_data(self)

    async def import_data(self, data: DataSet, *, replace: bool = False) -> None:
        await lifecycle.import_data(self, data, replace=replace)

    async def buyers_with_details(self) -> dict[str, str]:
        return await lifecycle.buyers_with_details(self)

    @_idempotent
    async def forget_buyer(self, buyer: str, *, settled_before: float | None = None) -> bool:
        return await lifecycle.forget_buyer(self, buyer, settled_before=settled_before)
