"""Per-process fan-out of show events to the sockets connected to this process.

One feed subscription per show with clients here, one event worker per show, one bounded
mailbox per client. Each outgoing message is serialized once and the same text is queued for
every client. Stock is latest-value: a burst of orders becomes at most one stock message per
product every `stock_interval` seconds, and the newest value always goes out. A client whose
mailbox overflows, or whose socket does not take a message within `send_timeout`, is dropped
(close code 4008) and its backlog freed; nobody else waits for it.

Each client is brought up to date from a snapshot read *after* its subscription is live; the
writer then skips what the snapshot already holds (events with seq <= the snapshot's seq, stock
with version <= the snapshot's version), so nothing is missed and nothing goes backwards.

Events arrive typed (`live.events`) and carry what their messages need: the hub reads the store
only for snapshots (a client joining, a lineup change, events that may have been lost), never to
complete an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, assert_never

import msgspec

from live.backends import Feed, Store
from live.config import Settings
from live.domain import Deal, Product, ShowState
from live.errors import CloseCode, LiveError, NotFound, Reason
from live.events import (
    DealChanged,
    Event,
    Featured,
    LineupChanged,
    OnSale,
    OptionStock,
    Ordering,
    OrderPlaced,
    OverlayKeyRotated,
    ProductEdited,
    PublicOption,
    PublicProduct,
    ShowEnded,
    Stock,
    Toasts,
    key_digest,
)
from live.messages import product_in_show_json, snapshot_json

log = logging.getLogger("live.hub")

TOAST_CITY = 12  # characters of a buyer's city shown in a sale toast

# The hub's tunables default to the settings' defaults (one place: live.config.Settings).
_DEFAULTS = Settings()
# Stock and toast frames are spaced at least this many times what handing one frame to every
# client took (fan-out keeps under a fifth of the loop's time), and never more than
# _MAX_INTERVAL seconds apart.
_FANOUT_SPACING = 4.0
_MAX_INTERVAL = 1.0


class Kind(enum.IntEnum):
    SNAPSHOT = 1  # replaces the client's whole state
    EVENT = 2  # a discrete change, skipped if the snapshot already holds it
    STOCK = 3  # latest value of a product's stock, skipped if not newer
    TOAST = 4  # a sale toast: may be dropped, never replayed
    DIRECT = 5  # for this client only (order results, errors, pongs)


@dataclass(slots=True)
class Outgoing:
    kind: Kind
    text: str
    seq: int = 0
    product_id: str = ""
    version: int = 0
    versions: Mapping[str, int] | None = None
    _frame: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def frame(self) -> bytes:
        """The message as a whole websocket frame, made once however many sockets get it (a
        snapshot shared by a connect storm, say)."""
        if self._frame is None:
            self._frame = text_frame(self.text)
        return self._frame


def encode(message: Mapping[str, Any] | msgspec.Struct) -> str:
    return msgspec.json.encode(message).decode()


def text_frame(text: str) -> bytes:
    """The complete websocket frame (header and payload) of a text message from the server.
    Server frames are unmasked, so these bytes are the same for every connection: a message
    sent to thousands is framed once and the same bytes are written to each socket."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def batch_text(texts: list[str]) -> str:
    """One frame's text for messages applied in order: the message itself when alone, else a
    JSON array of them (the contract's "Frames")."""
    return texts[0] if len(texts) == 1 else "[" + ",".join(texts) + "]"


class Writer(Protocol):
    """Writes whole frames straight to a socket, synchronously (live/web/transport.py)."""

    def write(self, frame: bytes) -> bool:
        """Write the frame now and say True, or say False (nothing written) when the socket
        can't take it now: its write buffer is above its high-water mark, or it is closing."""
        ...


class SlowConsumer(Exception):
    pass


class Client:
    """One socket's view: a bounded mailbox and what it has already been sent.

    With a `writer` (a real socket), a message for a client that has nothing queued goes
    straight to its socket, synchronously, as bytes framed once for everyone; only a client
    whose socket is not taking bytes right now (or that is catching up) gets a mailbox backlog,
    which `drain` (started through `on_wake`) sends at the socket's pace. Without a writer
    (Starlette's test client, the hub's own tests) every message goes through the mailbox.
    """

    __slots__ = (
        "base_seq",
        "close_code",
        "close_reason",
        "items",
        "limit",
        "on_wake",
        "overflowed",
        "overlay_key",
        "pumping",
        "seen",
        "send_timeout",
        "sending_since",
        "stalled",
        "task",
        "viewer",
        "writer",
    )

    def __init__(
        self,
        *,
        limit: int,
        overlay_key: str | None = None,
        viewer: bool = True,
        writer: Writer | None = None,
    ) -> None:
        self.limit = limit
        self.overlay_key = overlay_key
        # A person watching (the buy page); the overlay and the host console are not counted.
        self.viewer = viewer
        self.writer = writer
        # Called when the mailbox needs sending (or the client was killed) and no drain runs.
        self.on_wake: Callable[[], None] | None = None
        self.items: list[Outgoing] = []
        # The seq of the snapshot this client holds (-1: none yet, so nothing goes straight
        # to its socket); stock versions it was sent through its mailbox since then.
        self.base_seq = -1
        self.seen: dict[str, int] | None = None
        self.pumping = False
        self.overflowed = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.send_timeout = 1.0
        self.sending_since = 0.0
        self.stalled = False
        self.task: asyncio.Task[Any] | None = None

    def direct_ok(self, seq: int) -> bool:
        """Whether a message of this seq (0: one for this client only) may go straight to the
        socket: nothing is queued or being sent before it, the client holds its snapshot, and
        the snapshot does not already hold the message."""
        return (
            self.writer is not None
            and not self.items
            and not self.pumping
            and self.close_code is None
            and 0 <= self.base_seq < (seq or self.base_seq + 1)
        )

    def put(self, item: Outgoing, frame: bytes | None = None) -> None:
        if self.overflowed or self.close_code is not None:
            return
        if (
            item.kind is not Kind.SNAPSHOT
            and self.direct_ok(item.seq)
            and self.writer is not None
            and self.writer.write(frame if frame is not None else item.frame)
        ):
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.items.clear()  # free the backlog at once
        else:
            self.items.append(item)
        self._wake()

    def put_first(self, item: Outgoing) -> None:
        """A snapshot goes in front of everything queued, replacing any snapshot not yet sent
        (a newer one supersedes it), so a client can never hold more than one."""
        if self.close_code is not None or self.overflowed:
            return
        if any(queued.kind is Kind.SNAPSHOT for queued in self.items):
            self.items = [q for q in self.items if q.kind is not Kind.SNAPSHOT]
        self.items.insert(0, item)
        if len(self.items) > self.limit:
            self.overflowed = True
            self.items.clear()
        self._wake()

    def kill(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        self.items.clear()
        self._wake()

    def start(self, on_wake: Callable[[], None]) -> None:
        """Hand the client its sender once its snapshot is queued: `on_wake` is called when
        the mailbox needs sending (it starts a `drain`)."""
        self.on_wake = on_wake
        items = self.items
        if (
            len(items) == 1
            and items[0].kind is Kind.SNAPSHOT
            and self.writer is not None
            and self.writer.write(items[0].frame)
        ):
            # The usual start: the shared snapshot, framed once for everyone joining with
            # this client, straight to the socket (no task at all for an idle viewer).
            self.accepts(items.pop())
            return
        if items or self.close_code is not None or self.overflowed:
            self._wake()

    def _wake(self) -> None:
        if not self.pumping and self.on_wake is not None:
            self.pumping = True  # from now on nothing jumps the queue
            self.on_wake()

    def accepts(self, item: Outgoing) -> bool:
        """Whether a queued item is news to this client (and note what it now holds)."""
        if item.kind is Kind.SNAPSHOT:
            self.base_seq = item.seq
            self.seen = None
            return True
        if item.kind is Kind.DIRECT:
            return True
        if item.seq <= self.base_seq:
            return False  # the snapshot holds it
        if item.product_id:
            # Stock is latest-value: never an older version after a newer one (a coalesced
            # stock value may be older than a product edit already sent). Edits always go.
            if self.seen is None:
                self.seen = {}
            old = self.seen.get(item.product_id, -1)
            if item.kind is Kind.STOCK and item.version <= old:
                return False
            self.seen[item.product_id] = max(old, item.version)
        return True

    def _take(self) -> list[str]:
        """The texts of the queued items that are news, up to the next snapshot (a snapshot
        travels alone, so a client starts from a frame that holds one message)."""
        texts: list[str] = []
        while self.items:
            if self.items[0].kind is Kind.SNAPSHOT and texts:
                break
            item = self.items.pop(0)
            if self.accepts(item):
                texts.append(item.text)
                if item.kind is Kind.SNAPSHOT:
                    break
        return texts

    async def drain(
        self,
        send: Callable[[str], Awaitable[None]],
        send_timeout: float,
        watchdog: SendWatchdog | None = None,
    ) -> None:
        """Send the mailbox until it is empty, a frame per batch of queued messages (a JSON
        array when several); then messages go straight to the socket again. Raises
        `SlowConsumer` when the client falls behind: its mailbox overflowed, or its socket
        did not take a frame within `send_timeout` (the server's send waits while the
        socket's write buffer is full). With a `watchdog`, one hub-wide timer checks every
        sending client; without one, each backlog gets its own deadline.
        """
        self.send_timeout = send_timeout
        self.task = asyncio.current_task()
        self.pumping = True
        try:
            while self.items and self.close_code is None:
                texts = self._take()
                if not texts:
                    continue
                try:
                    if watchdog is None:
                        async with asyncio.timeout(send_timeout):
                            await send(batch_text(texts))
                    else:
                        self.sending_since = asyncio.get_running_loop().time()
                        watchdog.sending.add(self)
                        await send(batch_text(texts))
                except TimeoutError:
                    raise SlowConsumer("the client did not take its messages in time") from None
                except asyncio.CancelledError:
                    if self.stalled:
                        raise SlowConsumer("the client did not take its messages in time") from None
                    raise
                finally:
                    if watchdog is not None:
                        watchdog.sending.discard(self)
            if self.overflowed:
                raise SlowConsumer("the mailbox overflowed")
        finally:
            self.pumping = False


class SendWatchdog:
    """One timer for every client that is sending: cheaper than a deadline per backlog."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.sending: set[Client] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="live-send-watchdog")

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            now = loop.time()
            for client in list(self.sending):
                if now - client.sending_since > client.send_timeout and client.task is not None:
                    client.stalled = True
                    self.sending.discard(client)
                    client.task.cancel()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _takes_preorders(product: Product | PublicProduct) -> bool:
    return product.preorder_cap > 0 or any(o.preorder_cap > 0 for o in product.options or ())


class ShowView:
    """What this process knows of a show's sale from its latest snapshot and the events since:
    whether ordering is open, which lineup products are on sale and their stock. Enough to
    tell a buyer-independent refusal without asking the store (`Hub.known_refusal`).

    Events are applied as they arrive from the feed (in seq order; one the snapshot already
    holds is skipped). When events may have been lost (the feed was down, a lineup changed:
    the event does not say how), the view is unsure until a snapshot whose read started after
    that (`epoch` tells), with the events that arrived meanwhile applied on top.
    """

    __slots__ = (
        "dropped_seq",
        "ended",
        "epoch",
        "fresh",
        "on_sale",
        "option_stock",
        "ordering_open",
        "preorders",
        "seq",
        "stock",
        "told",
        "waiting",
    )

    def __init__(self) -> None:
        self.fresh = False
        self.epoch = 0
        self.seq = -1
        self.ordering_open = False
        self.ended = False
        self.on_sale: set[str] = set()
        self.stock: dict[str, int] = {}
        # product id -> option id -> stock, for products with options (issue 13): an option
        # sold out is refused here as a product is.
        self.option_stock: dict[str, dict[str, int]] = {}
        # Products taking pre-orders (theirs or an option's): their stock at 0 is no refusal
        # this view can tell (the pre-order room is the store's to judge).
        self.preorders: set[str] = set()
        self.waiting: list[Event] = []  # events while unsure, applied over the next snapshot
        self.dropped_seq = -1  # the newest waiting event dropped for room
        # (product id, option id or None) -> (seq, stock) an accepted order's answer told ahead
        # of its event (`answered`): no older snapshot or event overwrites it; the first event
        # as new replaces it.
        self.told: dict[tuple[str, str | None], tuple[int, int]] = {}

    def lost(self) -> None:
        """Events may have been lost: unsure until a snapshot read from now on."""
        self.fresh = False
        self.epoch += 1
        self.waiting.clear()
        self.dropped_seq = -1

    def reset(self, state: ShowState, epoch: int) -> None:
        """A snapshot read that started at `epoch`."""
        if self.fresh and state.show.seq <= self.seq:
            return  # the events since have been applied already
        show = state.show
        self.seq = show.seq
        self.ordering_open = show.ordering_open
        self.ended = show.ended
        self.on_sale = set(show.on_sale)
        self.stock = {p.id: p.stock for p in state.products}
        self.option_stock = {
            p.id: {o.id: o.stock for o in p.options} for p in state.products if p.options
        }
        self.preorders = {p.id for p in state.products if _takes_preorders(p)}
        self.told = {k: v for k, v in self.told.items() if v[0] > show.seq}
        for (product_id, option_id), (_, stock) in self.told.items():
            self._put_stock(product_id, option_id, stock)
        if epoch != self.epoch or self.dropped_seq > self.seq:
            return  # it may miss what was lost (or dropped): wait for the next one
        self.fresh = True
        waiting, self.waiting = self.waiting, []
        for event in waiting:
            self.apply(event, 0)

    def apply(self, event: Event, backlog: int) -> None:
        if not self.fresh:
            if len(self.waiting) >= backlog > 0:
                self.dropped_seq = self.waiting.pop(0).seq
            self.waiting.append(event)
            if isinstance(event, LineupChanged):
                self.lost()
            return
        if event.seq <= self.seq:
            return
        self.seq = event.seq
        match event:
            case Stock():
                if event.product_id in self.stock:
                    self.stock[event.product_id] = event.stock
                    self._set_options(event.product_id, event.options)
                    if self.told:
                        self._keep_told(event.product_id, event.seq)
            case OnSale():
                self._set_on_sale(event.product_id, event.on_sale)
            case Featured():
                if event.product_id is not None:  # featuring puts a product on sale
                    self._set_on_sale(event.product_id, True)
            case Ordering():
                self.ordering_open = event.open
            case ShowEnded():
                self.ended = True
            case ProductEdited():
                product_id = event.product.id
                if product_id in self.stock:
                    self.stock[product_id] = event.product.stock
                    self._set_on_sale(product_id, event.on_sale)
                    self._set_options(product_id, event.product.options)
                    if self.told:
                        self._keep_told(product_id, event.seq)
                    if _takes_preorders(event.product):
                        self.preorders.add(product_id)
                    else:
                        self.preorders.discard(product_id)
            case LineupChanged():
                self.lost()  # it does not name the new lineup: the snapshot read for it does
            case _:
                pass

    def _set_options(
        self, product_id: str, options: tuple[OptionStock, ...] | tuple[PublicOption, ...] | None
    ) -> None:
        if options:
            self.option_stock[product_id] = {o.id: o.stock for o in options}
        else:
            self.option_stock.pop(product_id, None)

    def _set_on_sale(self, product_id: str, on_sale: bool) -> None:
        if on_sale:
            self.on_sale.add(product_id)
        else:
            self.on_sale.discard(product_id)

    def _keep_told(self, product_id: str, seq: int) -> None:
        """After an event's stock for `product_id`: what answers told of it since stands."""
        for told_key in [k for k in self.told if k[0] == product_id]:
            told_seq, stock = self.told[told_key]
            if told_seq <= seq:
                del self.told[told_key]  # the event is as new
            else:
                self._put_stock(product_id, told_key[1], stock)

    def _put_stock(self, product_id: str, option_id: str | None, stock: int) -> None:
        if option_id is None:
            if product_id in self.stock:
                self.stock[product_id] = stock
        else:
            options = self.option_stock.get(product_id)
            if options is not None and option_id in options:
                options[option_id] = stock

    def answered(self, product_id: str, option_id: str | None, stock: int, seq: int) -> None:
        """An accepted order's answer: the product's (option's) stock at the show's `seq`, told
        before the order's event arrives, so the next orders see it at once. Only the stock of
        that product (option) moves; the view's own seq stays, so no event is skipped."""
        if not self.fresh or seq <= self.seq:
            return  # its event (or a newer one) is here already, or the view is unsure
        told_key = (product_id, option_id)
        earlier = self.told.get(told_key)
        if earlier is not None and earlier[0] >= seq:
            return
        if len(self.told) >= 10_000:
            self.told.clear()
        self.told[told_key] = (seq, stock)
        self._put_stock(product_id, option_id, stock)

    def room(self, product_id: str, option_id: str | None = None) -> int | None:
        """The units of the product (the option) this view is sure are left, for an order
        that `refusal` lets through; None when it can't tell (pre-orders, an unknown product
        or option, an unsure view)."""
        refusal = self.refusal(product_id, option_id)
        if refusal is Reason.SOLD_OUT:
            return 0
        if refusal is not None or not self.fresh:
            return None
        if product_id in self.preorders or product_id not in self.on_sale:
            return None
        options = self.option_stock.get(product_id)
        if options is not None or option_id is not None:
            return (options or {}).get(option_id or "")
        return self.stock.get(product_id)

    def refusal(self, product_id: str, option_id: str | None = None) -> Reason | None:
        if not self.fresh:
            return None
        if not self.ordering_open or self.ended:
            return Reason.ORDERING_CLOSED
        stock = self.stock.get(product_id)
        if stock is None:
            return None  # not a product of the lineup as this process knows it: the store says
        if product_id not in self.on_sale:
            return Reason.NOT_ON_SALE
        if product_id in self.preorders:
            return None
        options = self.option_stock.get(product_id)
        if options is not None or option_id is not None:
            # A product with options: the option's stock decides (a missing or unknown option
            # is `invalid`, which the store tells).
            option_stock = (options or {}).get(option_id or "")
            return Reason.SOLD_OUT if option_stock is not None and option_stock <= 0 else None
        if stock <= 0:
            return Reason.SOLD_OUT
        return None


class ShowChannel:
    """Everything this process does for one show: its clients and its event worker."""

    def __init__(self, hub: Hub, show_id: str) -> None:
        self.hub = hub
        self.show_id = show_id
        self.clients: set[Client] = set()
        self.events: deque[Event] = deque()
        self.wake = asyncio.Event()
        self.needs_resync = False
        self.pending_stock: dict[str, Stock] = {}
        self.last_flush = 0.0
        self.flush_handle: asyncio.TimerHandle | None = None
        self.last_toast = 0.0
        self.pending_toast: OrderPlaced | None = None
        self.toast_handle: asyncio.TimerHandle | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.unsubscribe_handle: asyncio.TimerHandle | None = None
        self.snapshot_waiting: asyncio.Future[Outgoing] | None = None  # joiners of the next read
        self.snapshot_reading = False  # a shared snapshot read is in flight
        self.tick: list[Outgoing] = []
        self.sent_versions: dict[str, int] = {}  # the newest product version sent to clients
        self.tick_scheduled = False
        self.view = ShowView()
        self.tick_cost = 0.0  # seconds the latest frame took to hand to every client here
        self.received_at = 0.0  # when the oldest event not yet in a frame arrived (metrics)
        self.worker = asyncio.create_task(self._work(), name=f"live-show-{show_id}")

    # events arrive here synchronously from the feed, in seq order
    def push(self, event: Event) -> None:
        if not self.received_at:
            self.received_at = time.monotonic()
        self.view.apply(event, self.hub.event_backlog)
        if len(self.events) >= self.hub.event_backlog:
            self.events.clear()
            self.needs_resync = True  # too far behind: a snapshot is cheaper than catching up
            self.view.lost()
        else:
            self.events.append(event)
        self.wake.set()
        self.hub._view_changed(self.show_id)

    async def _work(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.events:
                event = self.events.popleft()
                try:
                    await self._handle(event)
                except LiveError as exc:
                    log.warning("show %s: event %s not applied (%s)", self.show_id, event, exc)
                    self.needs_resync = True
                    self.view.lost()
                except Exception:
                    log.exception("show %s: event %s failed", self.show_id, event)
                    self.needs_resync = True
                    self.view.lost()
            if self.needs_resync:
                self.needs_resync = False
                await self.hub.resync_channel(self)

    async def _handle(self, event: Event) -> None:
        match event:
            case Stock():  # an order too: it is a stock move with a sale
                self._stock(event)
                # The store says whether the show's toasts are on (`toast`, in the same step as
                # the order), so every process agrees without reading the show.
                if isinstance(event, OrderPlaced) and event.toast:
                    self._toast(event)
            case LineupChanged():
                # Products came or went: rather than a diff every client must get right, each
                # one gets a fresh snapshot (which replaces its whole state), read after this
                # event and put ahead of anything queued. Later events wait in this worker
                # until it is queued.
                await self.hub.resync_channel(self)
            case ProductEdited():
                self._product(event)
            case OverlayKeyRotated():
                self._close_old_overlays(event)
            case Featured() | OnSale() | Ordering() | DealChanged() | Toasts() | ShowEnded():
                if isinstance(event, Toasts) and not event.on:
                    self._drop_pending_toast()  # a sale from before the switch shows no more
                self.broadcast(Outgoing(Kind.EVENT, encode(event), seq=event.seq))
            case _:
                assert_never(event)

    def _product(self, event: ProductEdited) -> None:
        """A product edit: the event carries the product and its place in this show."""
        product = event.product.to_product()
        terms = event.deal
        deal = Deal(price=terms.price, ends_at=terms.ends_at) if terms is not None else None
        message = {
            "type": "product",
            "seq": event.seq,
            "prev": event.prev,
            # with its place in this show: on sale, and the deal only while it is a discount
            "product": product_in_show_json(
                product, on_sale=event.on_sale, deal=deal, now=self.hub.clock()
            ),
        }
        self.sent_versions[product.id] = max(
            product.version, self.sent_versions.get(product.id, -1)
        )
        self.broadcast(
            Outgoing(
                Kind.EVENT,
                encode(message),
                seq=event.seq,
                product_id=product.id,
                version=product.version,
            )
        )

    def _close_old_overlays(self, event: OverlayKeyRotated) -> None:
        """Overlays opened with another key than the new one close; the event carries the new
        key's digest only (compared in constant time)."""
        for client in list(self.clients):
            if client.overlay_key is None:
                continue
            if not hmac.compare_digest(key_digest(client.overlay_key), event.key_digest):
                client.kill(CloseCode.KEY_ROTATED, "the overlay key was rotated")

    def _stock(self, event: Stock) -> None:
        held = self.pending_stock.get(event.product_id)
        if held is None or event.version > held.version:
            self.pending_stock[event.product_id] = event
        now = time.monotonic()
        wait = self.last_flush + self._interval(self.hub.stock_interval) - now
        if wait <= 0:
            self.flush_stock()
        elif self.flush_handle is None:
            self.flush_handle = asyncio.get_running_loop().call_later(wait, self.flush_stock)

    def _interval(self, configured: float) -> float:
        """Seconds between two stock (toast) frames: as configured, or longer while writing one
        frame to every client here costs more than a share of that (ten thousand viewers in a
        flash sale): then stock moves are coalesced more, and the loop keeps most of its time
        for the orders."""
        return min(max(configured, self.tick_cost * _FANOUT_SPACING), _MAX_INTERVAL)

    def flush_stock(self) -> None:
        self.flush_handle = None
        self.last_flush = time.monotonic()
        pending, self.pending_stock = self.pending_stock, {}
        for event in pending.values():
            # Never an older stock after a product edit that carried a newer one (clients
            # that take frames straight from the socket are not filtered one by one).
            if event.version <= self.sent_versions.get(event.product_id, -1):
                continue
            self.sent_versions[event.product_id] = event.version
            message = {
                "type": "stock",
                "seq": event.seq,
                "product_id": event.product_id,
                "stock": event.stock,
                "sold": event.sold,
                "version": event.version,
            }
            if event.options is not None:  # every option's stock at this version
                message["options"] = [
                    {"id": o.id, "stock": o.stock, "sold": o.sold, "preordered": o.preordered}
                    for o in event.options
                ]
            if event.preordered:  # units of pre-orders waiting (absent: none)
                message["preordered"] = event.preordered
            self.broadcast(
                Outgoing(
                    Kind.STOCK,
                    encode(message),
                    seq=event.seq,
                    product_id=event.product_id,
                    version=event.version,
                )
            )

    def _toast(self, event: OrderPlaced) -> None:
        """A sale toast now and then: the overlay shows one at a time, so a burst needs few.
        The latest sale of a busy second is shown when the second is up (never lost when it is
        the last one); the ones in between are skipped."""
        self.pending_toast = event
        wait = self.last_toast + self._interval(self.hub.toast_interval) - time.monotonic()
        if wait <= 0:
            self.flush_toast()
        elif self.toast_handle is None:
            self.toast_handle = asyncio.get_running_loop().call_later(wait, self.flush_toast)

    def _drop_pending_toast(self) -> None:
        self.pending_toast = None
        if self.toast_handle is not None:
            self.toast_handle.cancel()
            self.toast_handle = None

    def flush_toast(self) -> None:
        self.toast_handle = None
        event, self.pending_toast = self.pending_toast, None
        if event is None:
            return
        self.last_toast = time.monotonic()
        message = {
            "type": "sale",
            "seq": event.seq,
            "product_id": event.product_id,
            "qty": event.qty,
            # the first character of the buyer's name and the city, when the buyer gave them;
            # the city is free text a buyer typed, so only a short start of it reaches the stream
            "name": event.name,
            "city": event.city[:TOAST_CITY] if event.city else None,
        }
        if event.option_id is not None:  # the size or weight bought (issue 13)
            message["option_id"] = event.option_id
        self.broadcast(Outgoing(Kind.TOAST, encode(message), seq=event.seq))

    def broadcast(self, item: Outgoing) -> None:
        """Queue a message for every client of the show. Messages of one turn of the event loop
        travel together: at the end of the turn they become one frame (a JSON array when
        several), framed once and written to every socket that is taking bytes."""
        self.tick.append(item)
        if not self.tick_scheduled:
            self.tick_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_tick)

    def flush_tick(self) -> None:
        self.tick_scheduled = False
        items, self.tick = self.tick, []
        received, self.received_at = self.received_at, 0.0
        if not items or not self.clients:
            return
        started = time.perf_counter()
        frame = text_frame(batch_text([item.text for item in items]))
        # The frame goes straight to a client only if it is news to the client as a whole.
        seq = min((item.seq for item in items if item.kind is not Kind.DIRECT), default=0)
        direct = 0
        for client in self.clients:
            writer = client.writer
            if writer is not None and client.direct_ok(seq) and writer.write(frame):
                direct += 1
            elif len(items) == 1:
                client.put(items[0], frame)
            else:
                for item in items:
                    client.put(item)
        hub = self.hub
        hub.deliveries += len(items) * len(self.clients)
        hub.frames_direct += direct
        # operating (issue 16): counted once per tick, not per socket write
        hub.bytes_direct += direct * len(frame)
        self.tick_cost = time.perf_counter() - started
        if received and hub.on_lag is not None:
            hub.on_lag(time.monotonic() - received)

    async def close(self) -> None:
        if self.flush_handle is not None:
            self.flush_handle.cancel()
        if self.toast_handle is not None:
            self.toast_handle.cancel()
        if self.unsubscribe_handle is not None:
            self.unsubscribe_handle.cancel()
        self.worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker


class Hub:
    """This process's clients of every show, fed by one `Feed`.

    Tunables (`live.config.Settings`, each with its LIVE_ variable): `mailbox_limit` messages
    queued per client; `stock_interval` seconds between stock messages of a show; `toast_interval`
    seconds between sale toasts; `event_backlog` events queued per show before the show's
    clients get a snapshot instead; `unsubscribe_grace` seconds a show with no client here stays
    subscribed.
    """

    def __init__(
        self,
        store: Store,
        feed: Feed,
        *,
        clock: Callable[[], float] = time.time,
        mailbox_limit: int = _DEFAULTS.mailbox_limit,
        stock_interval: float = _DEFAULTS.stock_interval,
        toast_interval: float = _DEFAULTS.toast_interval,
        event_backlog: int = _DEFAULTS.event_backlog,
        unsubscribe_grace: float = _DEFAULTS.unsubscribe_grace,
    ) -> None:
        self.store = store
        self.feed = feed
        self.clock = clock
        self.mailbox_limit = mailbox_limit
        self.stock_interval = stock_interval
        self.toast_interval = toast_interval
        self.event_backlog = event_backlog
        self.unsubscribe_grace = unsubscribe_grace
        self.channels: dict[str, ShowChannel] = {}
        self.deliveries = 0  # messages handed to clients
        self.frames_direct = 0  # frames written straight to a socket (framed once per tick)
        # operating (issue 16): read by live/metrics.py at scrape time
        self.bytes_direct = 0
        self.frames_queued = 0  # frames sent from a mailbox backlog (live/web/sockets.py)
        self.bytes_queued = 0
        self.slow_consumers = 0
        self.resyncs = 0
        self.on_lag: Callable[[float], None] | None = None  # event received -> frame written
        # A show's view changed (an event, a snapshot, it became unsure): orders parked on it
        # (live/claims.py) may go on.
        self.on_view_change: Callable[[str], None] | None = None
        self.watchdog = SendWatchdog()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.feed.on_down = self._store_down
        self.watchdog.start()
        await self.feed.start(self._deliver, self.resync)

    async def close(self) -> None:
        for channel in list(self.channels.values()):
            await channel.close()
        self.channels.clear()
        for task in list(self._tasks):
            task.cancel()
        await self.watchdog.close()
        await self.feed.close()

    def _store_down(self) -> None:
        """The store's event feed is gone (Redis down): every client hears that ordering is
        paused; the snapshot sent after reconnecting lifts it."""
        message = Outgoing(
            Kind.DIRECT,
            encode(
                {"type": "status", "ordering_paused": True, "detail": "the store is not answering"}
            ),
        )
        for channel in self.channels.values():
            channel.view.lost()
            self._view_changed(channel.show_id)
            channel.broadcast(message)

    def _deliver(self, show_id: str, event: Event) -> None:
        channel = self.channels.get(show_id)
        if channel is not None:
            channel.push(event)

    @property
    def connections(self) -> int:
        return sum(len(c.clients) for c in self.channels.values())

    async def join(self, show_id: str, client: Client) -> None:
        """Register a client; its first message (the snapshot) is queued before any event."""
        channel = self.channels.get(show_id)
        if channel is None:
            channel = ShowChannel(self, show_id)
            self.channels[show_id] = channel
            try:
                # Under the show's lock: an earlier channel's unsubscribe can't land after this.
                async with self._lock(show_id):
                    await self.feed.subscribe(show_id)
            except BaseException as exc:
                channel.ready.set_exception(exc)
                channel.ready.exception()  # consumed: later joiners re-raise it themselves
                del self.channels[show_id]
                await channel.close()
                raise
            channel.ready.set_result(None)
        else:
            await asyncio.shield(channel.ready)
        if channel.unsubscribe_handle is not None:
            channel.unsubscribe_handle.cancel()
            channel.unsubscribe_handle = None
        channel.clients.add(client)
        try:
            snapshot = await self.shared_snapshot(channel)
        except BaseException as exc:
            self.leave(show_id, client)
            if isinstance(exc, NotFound) and not channel.clients:
                self._drop_channel(show_id)  # no such show: keep nothing for it
            raise
        client.put_first(snapshot)

    def _lock(self, show_id: str) -> asyncio.Lock:
        lock = self._locks.get(show_id)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[show_id] = asyncio.Lock()
        return lock

    def leave(self, show_id: str, client: Client) -> None:
        channel = self.channels.get(show_id)
        if channel is None:
            return
        channel.clients.discard(client)
        if not channel.clients and channel.unsubscribe_handle is None:
            # Keep the subscription a while: viewers on weak networks come straight back.
            channel.unsubscribe_handle = asyncio.get_running_loop().call_later(
                self.unsubscribe_grace, self._drop_channel, show_id
            )

    def _drop_channel(self, show_id: str) -> None:
        channel = self.channels.get(show_id)
        if channel is None or channel.clients:
            return
        del self.channels[show_id]

        async def drop() -> None:
            await channel.close()
            async with self._lock(show_id):
                if show_id not in self.channels:  # nobody came back meanwhile
                    await self.feed.unsubscribe(show_id)

        task = asyncio.create_task(drop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resync(self, show_ids: set[str]) -> None:
        """Events of these shows may have been lost: every client gets a fresh snapshot."""
        self.resyncs += len(show_ids)
        for show_id in show_ids:
            channel = self.channels.get(show_id)
            if channel is not None:
                channel.view.lost()
                self._view_changed(show_id)
        for show_id in show_ids:
            channel = self.channels.get(show_id)
            if channel is not None:
                await self.resync_channel(channel)

    async def resync_channel(self, channel: ShowChannel) -> None:
        # Only clients registered before the read began: their mailboxes hold every event
        # after it, so a snapshot put in front of what they have queued loses nothing.
        targets = list(channel.clients)
        try:
            snapshot = await self.snapshot(channel.show_id)
        except NotFound:
            return
        except LiveError as exc:
            log.warning("show %s: resync failed (%s); retrying", channel.show_id, exc)
            await asyncio.sleep(0.5)
            channel.needs_resync = True
            channel.wake.set()
            return
        for client in targets:
            client.put_first(snapshot)

    async def resync_client(self, show_id: str, client: Client) -> None:
        """A client saw a gap: a fresh snapshot ahead of whatever it has queued."""
        channel = self.channels.get(show_id)
        if channel is None or client not in channel.clients:
            return
        self.resyncs += 1
        client.put_first(await self.shared_snapshot(channel))

    async def shared_snapshot(self, channel: ShowChannel) -> Outgoing:
        """A snapshot for a client already registered in the channel, shared with every other
        client that registers before the read starts (a connect storm costs a few reads, not
        thousands). The read starts on the next turn of the loop, after all those
        registrations, so none of them can miss an event between the read and their mailbox;
        while a read is in flight the next one waits for it, so a storm's joiners share one
        read per read time, not one per turn of the loop.
        """
        waiting = channel.snapshot_waiting
        if waiting is None:
            loop = asyncio.get_running_loop()
            waiting = loop.create_future()
            channel.snapshot_waiting = waiting
            if not channel.snapshot_reading:
                loop.call_soon(self._start_snapshot, channel)
        return await asyncio.shield(waiting)

    def _start_snapshot(self, channel: ShowChannel) -> None:
        waiting = channel.snapshot_waiting
        if waiting is None or channel.snapshot_reading:
            return
        channel.snapshot_waiting = None  # joiners from now on need a read that starts later
        channel.snapshot_reading = True

        def done(task: asyncio.Task[Outgoing]) -> None:
            channel.snapshot_reading = False
            if channel.snapshot_waiting is not None:  # joiners came during this read
                asyncio.get_running_loop().call_soon(self._start_snapshot, channel)
            if waiting.done():
                return
            if task.cancelled():
                waiting.cancel()
            elif task.exception() is not None:
                waiting.set_exception(task.exception())  # type: ignore[arg-type]
                waiting.exception()  # retrieved here; every waiter re-raises it
            else:
                waiting.set_result(task.result())

        task = asyncio.create_task(self.snapshot(channel.show_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(done)

    def known_refusal(
        self, show_id: str, product_id: str, option_id: str | None = None
    ) -> Reason | None:
        """The refusal any buyer's first order of this product in this show gets, as this
        process's view tells it (`ShowView`: the latest snapshot and every event since), in the
        contract's precedence: `ordering_closed` (ordering closed or the show ended),
        `not_on_sale`, `sold_out` (stock 0). None when the view can't tell for sure: a show no
        client here watches, a product outside the lineup it knows, events maybe lost and no
        snapshot since. Buyer-dependent reasons (limits, a key already used) are the store's.
        """
        channel = self.channels.get(show_id)
        if channel is None:
            return None
        return channel.view.refusal(product_id, option_id)

    def known_room(self, show_id: str, product_id: str, option_id: str | None = None) -> int | None:
        """The units of a product (an option) this process's view is sure are left in a show
        (`ShowView.room`), or None when it can't tell."""
        channel = self.channels.get(show_id)
        if channel is None:
            return None
        return channel.view.room(product_id, option_id)

    def answered(
        self, show_id: str, product_id: str, option_id: str | None, stock: int, seq: int
    ) -> None:
        """An accepted order's answer told the stock it left (`ShowView.answered`)."""
        channel = self.channels.get(show_id)
        if channel is not None:
            channel.view.answered(product_id, option_id, stock, seq)

    def _view_changed(self, show_id: str) -> None:
        if self.on_view_change is not None:
            self.on_view_change(show_id)

    async def snapshot(self, show_id: str) -> Outgoing:
        channel = self.channels.get(show_id)
        epoch = channel.view.epoch if channel is not None else 0
        state = await self.store.show_state(show_id)
        if channel is not None and self.channels.get(show_id) is channel:
            channel.view.reset(state, epoch)
            self._view_changed(show_id)
        return Outgoing(
            Kind.SNAPSHOT,
            encode(snapshot_json(state, self.clock())),
            seq=state.show.seq,
            versions={p.id: p.version for p in state.products},
        )
