"""The backend contract: a store, the event feed that carries its events, and the pair.

Two backends implement it, each in its own package: `memory` (one process, for demos and
single-process sales) and `redis` (durable, shared by many processes). The shared
contract tests (`tests/backends/test_store_contract.py`) run against both; a behaviour that only
one backend has is a bug.

Guarantees common to every store:
- Each method is one atomic step: nobody observes half of it, and it applies fully or not at all.
  The memory backend never awaits inside a step; the Redis backend runs each step as one Lua
  script or one MULTI/EXEC transaction.
- Values handed in and out are immutable snapshots: changing the store never changes a value a
  caller already holds, and vice versa.
- A store that cannot answer raises `Unavailable` (within `store_timeout`), never hangs and never
  leaves a step half-applied.
- Unknown ids raise `NotFound`; rule violations raise the `live.errors` type named per method.
- Every change that a show's viewers can see publishes an event for that show in the same step
  (one of `live.events`; see docs/protocol.md): each carries the show's new `seq`; discrete
  events (featured, on_sale, ordering, deal, product, lineup, toasts, show_ended) also carry
  `prev`, the seq of the show's previous discrete event; stock moves publish latest-value
  `order`/`stock` events. An `order` event carries `toast`: false when the show's sale toasts
  are off (and then no buyer name or city). A `product` event carries the product's public
  fields and its place in that show; an `overlay_key` event a digest of the new key.
- An ended show is final: changing its sale (featured, on sale, deal, lineup, toasts, opening
  ordering) raises `Conflict`; ending it again or closing its ordering changes nothing and
  publishes nothing; its orders are refused `ordering_closed`.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from live.authenticity import Feedback, Label, Lot, LotChoices, Verification
from live.domain import (
    Deal,
    OptionSpec,
    Order,
    OrderAccepted,
    OrderRequest,
    OrderStatus,
    Part,
    Product,
    Profile,
    Show,
    ShowState,
)
from live.events import Event


def new_session_epoch() -> int:
    """A fresh session generation: random, so a cookie can't name a generation that a store
    will reach later (a counter from 0 comes back after the store forgets it)."""
    return secrets.randbits(62) + 1


# Product fields a host may edit through `update_product` (stock has its own arguments).
EDITABLE_PRODUCT_FIELDS = frozenset(
    {
        "name",
        "price",
        "currency",
        "unit",
        "limit_per_buyer",
        "producer",
        "description",
        "image_url",
        "archived",
        # pre-orders (issue 13)
        "preorder_cap",
        "ships_from",
    }
)


# --- data lifecycle (issue 16): what `export_data` gives and `import_data` takes -------------


@dataclass(frozen=True, slots=True)
class BuyerData:
    """A buyer token's delivery details and the phone key it is tied to ("" none)."""

    buyer: str
    profile: Profile
    phone_key: str = ""


@dataclass(frozen=True, slots=True)
class DataSet:
    """A deployment's lasting data. Not in it: idempotency records (rebuilt from the orders),
    session generations (sessions end on a move), running counters (rebuilt)."""

    products: tuple[Product, ...] = ()
    shows: tuple[Show, ...] = ()  # oldest first
    orders: tuple[Order, ...] = ()  # show by show, oldest first
    buyers: tuple[BuyerData, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    accounts: Mapping[str, str] = field(default_factory=dict)  # name -> password hash
    # Authenticity (issue 15), so printed labels keep verifying after a move. A label carries
    # its scans, first scan, verification and feedback; `devices` is a count (import re-seeds
    # it), wrong-PIN windows are not carried.
    lots: tuple[Lot, ...] = ()  # oldest first
    lot_choices: Mapping[str, LotChoices] = field(default_factory=dict)  # show id -> choices
    labels: tuple[Label, ...] = ()  # show by show, in issue order
    # holds (issue 14): buyers' "I have paid" notices and the host's answers, show -> buyer ->
    # notice (live/payments.py). The screenshots they name stay in the upload folder.
    notices: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)


class Store(abc.ABC):
    """The store steps. Every method is one atomic step (see the module's guarantees)."""

    kind: str = "abstract"

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections. The store is unusable afterwards."""

    @abc.abstractmethod
    def open_feed(self) -> Feed:
        """A new feed of the events this store publishes, for one hub. Nothing is subscribed
        or connected until the feed is started."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return when the store answers; raise `Unavailable` otherwise."""

    # --- catalog ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_product(self, product: Product) -> Product:
        """Store a new product under `product.id` (chosen by the caller, unique)."""

    @abc.abstractmethod
    async def get_product(self, product_id: str) -> Product:
        """The product, or `NotFound`."""

    @abc.abstractmethod
    async def list_products(self) -> list[Product]:
        """Every product, oldest first."""

    @abc.abstractmethod
    async def update_product(
        self,
        product_id: str,
        changes: Mapping[str, object],
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        """Apply field `changes` and at most one stock change, atomically, and bump `version`.

        `stock` sets the stock; `stock_delta` adds to it in the same step as the read, so
        concurrent orders are never lost. A result below 0 raises `Conflict` and changes nothing.
        Every show whose lineup holds the product gets its `seq` bumped and hears of it: a
        `product` event (the product as it is now, on sale or not and its deal in that show)
        when fields changed, else a latest-value `stock` event.
        A product with options changes stock only through them: `stock` or `stock_delta` here
        raises `Conflict`.
        """

    # --- options (issue 13: sizes, weights) -------------------------------------------------

    @abc.abstractmethod
    async def update_option_stock(
        self,
        product_id: str,
        option_id: str,
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        """Set or move one option's stock in one step, as `update_product` does a product's
        (`Conflict` below 0, `Invalid` over `MAX_STOCK` for an increase); the product's stock
        stays the sum. `NotFound` for an unknown product or option. Publishes a latest-value
        `stock` event (with every option's stock) to every show holding the product."""

    @abc.abstractmethod
    async def set_options(
        self, product_id: str, specs: list[OptionSpec], new_ids: list[str]
    ) -> Product:
        """Replace the product's options in one step, as `domain.merge_options` says (add,
        rename, reprice, reorder, remove; a sold option can't be removed: `Conflict`), and bump
        its version. Every show holding it hears a `product` event."""

    @abc.abstractmethod
    async def receive_harvest(self, product_id: str, option_id: str | None, units: int) -> Product:
        """The harvest arrived: `units` more of the product (of one option, which a product with
        options must name: `Invalid` otherwise). It covers the pre-ordered units (fewer:
        `Conflict`, nothing changed), whose orders can now ship; the rest goes to stock.
        `preordered` becomes 0 and `harvests` grows by one, in one step; every show holding
        the product hears a `product` event.

        Pre-orders: an order that finds the stock (the option's) at 0 is taken as a pre-order
        while `preordered + qty <= preorder_cap` (else `sold_out`); it takes no stock, adds to
        `preordered` and `sold`, and records `preorder`, `ships_from` and the harvest it waits
        for (`harvests + 1`). Cancelling it before that harvest gives the units back to the
        pre-order room; after, to stock."""

    # --- bundles (issue 13) ----------------------------------------------------------------
    #
    # A gift box is a product with `parts`. Every read answers its `stock` as what its parts
    # allow now (`domain.bundle_stock`); its stock is never set (`Conflict`). `place_order` of
    # a box takes every part's units (`Product.sold` of each part grows) in one atomic step or
    # nothing (`sold_out` with the box's stock); its limit counts boxes. Cancelling or expiring
    # a box's order gives every part its units back, once. Every show holding a part hears its
    # stock, and every show holding a box hears the box's stock whenever a part's change (of
    # any kind, in any show) changes it.

    @abc.abstractmethod
    async def set_parts(self, product_id: str, parts: tuple[Part, ...]) -> Product:
        """Replace a box's parts (checked by the caller against the catalog) while none of it
        is sold (`domain.check_parts_change`: `Conflict` otherwise, nothing changed), bump its
        version; every show holding it hears a `product` event, and its new stock."""

    # --- shows -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_show(self, show: Show) -> Show:
        """Store a new show. Every lineup id must name an existing, not archived product
        (`Invalid` if not); its short code must be free (`Conflict` if not: the caller picks
        another)."""

    @abc.abstractmethod
    async def list_shows(self) -> list[Show]:
        """Every show, newest first."""

    @abc.abstractmethod
    async def show_by_code(self, code: str) -> str:
        """The id of the show with this short code, or `NotFound`."""

    @abc.abstractmethod
    async def get_show(self, show_id: str) -> Show:
        """The show, or `NotFound`."""

    @abc.abstractmethod
    async def show_state(self, show_id: str) -> ShowState:
        """The show and its lineup products, read in one consistent step (one `seq`)."""

    @abc.abstractmethod
    async def set_featured(self, show_id: str, product_id: str | None) -> Show:
        """Feature a lineup product (also putting it on sale), or clear the featured product."""

    @abc.abstractmethod
    async def set_ordering(self, show_id: str, open_: bool) -> Show:
        """Open or close ordering. The on-sale flags stay as they are, so opening again resumes
        the sale as it was. Opening an ended show raises `Conflict`."""

    @abc.abstractmethod
    async def set_on_sale(self, show_id: str, product_id: str, on_sale: bool) -> Show:
        """Put a lineup product on or off sale."""

    @abc.abstractmethod
    async def set_deal(self, show_id: str, product_id: str, deal: Deal | None) -> Show:
        """Start (or replace) a lineup product's flash deal, or end it with `None`."""

    @abc.abstractmethod
    async def set_lineup(self, show_id: str, product_ids: tuple[str, ...]) -> Show:
        """Replace the lineup (add, remove, reorder) in one step.

        Every id must name an existing product and an added one must not be archived, with no
        duplicates and at most `MAX_LINEUP` (`Invalid` otherwise, changing nothing). A
        removed product leaves the show's on-sale set, its deal and the featured slot, and the
        show leaves the product's set of shows, so its stock events stop reaching it; orders
        already placed are untouched. Publishes a discrete `lineup` event; an unchanged lineup
        changes nothing and publishes nothing.
        """

    @abc.abstractmethod
    async def set_toasts(self, show_id: str, on: bool) -> Show:
        """Turn the show's sale toasts on or off (a discrete `toasts` event)."""

    @abc.abstractmethod
    async def end_show(self, show_id: str) -> Show:
        """End the show for good: ordering closed, nothing on sale or featured, `ended` set.
        Ending an ended show answers it unchanged."""

    @abc.abstractmethod
    async def set_overlay_key(self, show_id: str, overlay_key: str) -> Show:
        """Replace the show's overlay key; the old key stops working at once. Publishes an
        `overlay_key` event carrying `live.events.key_digest` of the new key (never the key),
        also on an ended show."""

    # --- host accounts and sessions -------------------------------------------------------

    @abc.abstractmethod
    async def set_user(self, name: str, password_hash: str) -> None:
        """Create or replace a named host account (the hash is made by live.auth). A new
        password ends the account's sessions (it gets a new random session generation)."""

    @abc.abstractmethod
    async def get_user(self, name: str) -> str | None:
        """The stored password hash of a host account, or None."""

    @abc.abstractmethod
    async def session_epoch(self, name: str, *, start: bool = False) -> int | None:
        """The account's session generation: sessions made under another one are dead. None
        when the store has none (never logged in, or the store forgot it): no session is
        valid then. `start=True` makes one (random) if there is none, atomically (a login)."""

    @abc.abstractmethod
    async def end_sessions(self, name: str) -> int:
        """Move the account to a new random generation (logout, password reset); returns it."""

    # --- co-op settings -------------------------------------------------------------------

    @abc.abstractmethod
    async def get_coop_settings(self) -> dict[str, str]:
        """The co-op's settings made in the console (e.g. `lang`), as strings; empty if none."""

    @abc.abstractmethod
    async def set_coop_settings(self, changes: Mapping[str, str]) -> dict[str, str]:
        """Merge `changes` into the co-op's settings in one step; an empty value removes a
        setting. Returns every setting after the change."""

    # --- orders ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def place_order(
        self, request: OrderRequest, *, send_by: float | None = None
    ) -> OrderAccepted:
        """The whole order step, atomically: idempotency, rules, decrement, record, seq bump.

        - `send_by` (a `time.monotonic()` instant): if the step has not been handed to the
          store's writer by then (still queued in this process), it is withdrawn and raises
          `Busy`: it never runs, nothing is applied. Once handed over it is waited for and
          answers its real result, however late; `Unavailable` only if the store itself does
          not answer (the outcome is then unknown; the same key again tells it).

        - The same buyer and key again answer the first order (`created=False`), never taking
          stock twice, for at least `IDEMPOTENCY_TTL` seconds; with another show, product or
          qty the key raises `OrderRefused(INVALID)`.
        - Otherwise the rules of `live.domain.order_refusal` decide, raising `OrderRefused`
          with the stock left; an accepted order takes `unit_price` at `request.now`.
        - An accepted order gets the show's next `number` (1, 2, 3, … in acceptance order).
        - A product with options: the order names one (`request.option_id`; missing or
          unknown: `OrderRefused(INVALID)`, after `not_on_sale`); its stock is that option's,
          taken in the same step; the option's own price (a deal takes the same amount off,
          `domain.option_unit_price`); the order keeps `option_id` and `option_name`; the
          `order` event names the option and carries every option's stock.
        - `limit_per_buyer` counts the units of the buyer token and, once the token is tied to
          a phone (`set_profile`), of every token tied to the same phone, in the same step.
        - The order keeps `request.ip` (host-only); the buyer's delivery details stop expiring.
        - `NotFound` if the show does not exist.
        """

    @abc.abstractmethod
    async def get_order(self, order_id: str) -> Order:
        """The order, or `NotFound`."""

    @abc.abstractmethod
    async def list_orders(self, show_id: str) -> list[Order]:
        """Every order of the show, oldest first."""

    @abc.abstractmethod
    async def cancel_order(self, order_id: str) -> tuple[Order, bool]:
        """Cancel and restock, once. Returns the order and whether this call changed it.
        The units count no more against the buyer's limit, nor against its phone's.

        A cancelled order is answered unchanged (`False`); a shipped one raises `Conflict`.
        """

    @abc.abstractmethod
    async def buyer_orders(self, buyer: str, show_id: str) -> list[Order]:
        """The buyer's orders in a show, oldest first."""

    # --- buyers ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def set_profile(self, buyer: str, profile: Profile, *, phone_key: str = "") -> None:
        """Store (replace) the buyer's delivery details and tie the token to `phone_key` (a
        number as `live.domain.phone_key` writes it; empty: to no phone), in one step.

        The token's units so far move with the tie: they count for the new phone (and no more
        for a phone it was tied to before). Details of a token without any order are kept for
        the store's `profile_ttl` seconds, then forgotten with the tie; a token with an order
        (before or after) keeps them.
        """

    @abc.abstractmethod
    async def get_profiles(self, buyers: list[str]) -> dict[str, Profile]:
        """Delivery details of these buyers (those who gave them, and not expired)."""

    @abc.abstractmethod
    async def set_order_status(
        self, order_id: str, status: OrderStatus, *, unpaid: bool = False, now: float | None = None
    ) -> Order:
        """Move an order forward: claimed → paid → shipped (cancelling is `cancel_order`).

        Shipping a claimed (unpaid) order needs `unpaid=True` (`Conflict` otherwise) and records
        `cash_on_delivery`; see `domain.check_status_change`. Shipping records `shipped_at`.
        Holds (issue 14): an expired order raises `Conflict`, and so does a claim whose
        `expires_at` is at or before `now` (its expiry is due: it can only expire).
        """

    # --- holds (issue 14) -------------------------------------------------------------------

    @abc.abstractmethod
    async def expire_orders(self, now: float, limit: int = 100) -> list[Order]:
        """Expire up to `limit` claims whose `expires_at` is at or before `now`, each in one
        atomic step as `cancel_order` does (units back to stock or to the pre-order room, the
        buyer's limit freed, `stock` events published) but with status `expired`. Answers the
        orders this call expired. An order expires exactly once whoever sweeps concurrently;
        a paid or cancelled one never does.

        `place_order` in a show with `hold_seconds` gives each claim `expires_at` (`now` plus
        the hold) and puts it in the deadline index this reads; `cancel_order` of an expired
        order answers it unchanged (`False`)."""

    @abc.abstractmethod
    async def pay_orders(self, order_ids: Sequence[str], now: float) -> list[Order]:
        """Mark these orders paid, all or none, in one step (a parcel paid at once). Paid or
        shipped ones stay as they are; one that is cancelled, expired or due to expire (its
        `expires_at` at or before `now`) raises `Conflict` naming it, changing nothing.
        `NotFound` for an unknown id. Answers the orders after the step, in the given order."""

    @abc.abstractmethod
    async def set_payment_notice(self, show_id: str, buyer: str, notice: Mapping[str, str]) -> None:
        """Keep (replace) the buyer's payment notice in the show: "I have paid", the host's
        rejection (live/payments.py says the fields). Never published: host and buyer only."""

    @abc.abstractmethod
    async def payment_notices(self, show_id: str) -> dict[str, dict[str, str]]:
        """Every buyer's payment notice in the show, by buyer token."""

    # --- Authenticity (issue 15): lots, labels, verification, feedback ----------------------
    # Nothing here publishes an event: no viewer screen shows labels. See live/authenticity.py.

    @abc.abstractmethod
    async def create_lot(self, lot: Lot) -> Lot:
        """Store a new lot under `lot.id` (chosen by the caller, unique); its product must exist
        (`NotFound`)."""

    @abc.abstractmethod
    async def update_lot(self, lot_id: str, changes: Mapping[str, str]) -> Lot:
        """Apply field `changes` (names of `authenticity.LOT_FIELDS`) in one step."""

    @abc.abstractmethod
    async def get_lot(self, lot_id: str) -> Lot:
        """The lot, or `NotFound`."""

    @abc.abstractmethod
    async def list_lots(self, product_id: str | None = None) -> list[Lot]:
        """The lots of a product (of every product with None), oldest first."""

    @abc.abstractmethod
    async def set_show_lot(self, show_id: str, product_id: str, lot_id: str | None) -> None:
        """The lot a show's units of a product come from by default (None: no default)."""

    @abc.abstractmethod
    async def set_order_lot(self, show_id: str, order_id: str, lot_id: str | None) -> None:
        """The lot an order's units come from, over the show's default (None: the default)."""

    @abc.abstractmethod
    async def lot_choices(self, show_id: str) -> LotChoices:
        """The show's default lots and per-order lots, read in one step."""

    @abc.abstractmethod
    async def issue_labels(self, show_id: str, drafts: Sequence[Label]) -> list[Label]:
        """Store the drafts whose unit (`order_id`, `unit`) has no label yet, all in one step,
        and answer every label of the show in issue order. A unit is labelled at most once,
        whoever issues concurrently: a draft for a labelled unit is dropped. A draft whose
        serial is already taken anywhere raises `Conflict` and stores nothing (the caller
        draws new serials)."""

    @abc.abstractmethod
    async def list_labels(self, show_id: str) -> list[Label]:
        """Every label of the show, in issue order, with its scans, verification, feedback."""

    @abc.abstractmethod
    async def get_label(self, serial: str) -> Label:
        """The label of a serial, or `NotFound`."""

    @abc.abstractmethod
    async def record_scan(self, serial: str, device: str, now: float) -> Label:
        """Count one view of the serial's page (the first one's time, distinct `device`s) and
        answer the label after it; `NotFound` for an unknown serial, creating nothing."""

    @abc.abstractmethod
    async def verify_label(
        self, serial: str, pin: str, now: float, *, max_wrong: int, window: float
    ) -> Verification:
        """Check the PIN, atomically. The first correct PIN ever sets `verified_at` to `now`
        and answers `first=True` exactly once, whoever verifies concurrently; every later one
        answers that time with `first=False`. `NotFound` for an unknown serial; `RateLimited`
        (checking nothing) once the serial took `max_wrong` wrong PINs within `window`
        seconds of the first of them; else a wrong PIN counts and raises `InvalidPin`."""

    @abc.abstractmethod
    async def add_feedback(
        self, serial: str, pin: str, feedback: Feedback, *, max_wrong: int, window: float
    ) -> Feedback:
        """Keep the unit's one rating: the PIN is checked as `verify_label` does (and a wrong
        one counts the same); the label must be verified (`Conflict` if not) and have no
        feedback yet (`Conflict`: one per serial, whoever sends concurrently)."""

    @abc.abstractmethod
    async def list_feedback(self) -> list[tuple[str, Feedback]]:
        """Every unit's feedback as (serial, feedback), oldest first."""

    # --- data lifecycle (issue 16) ---------------------------------------------------------

    @abc.abstractmethod
    async def export_data(self) -> DataSet:
        """Every product, show, order, buyer's details, co-op setting and host account. Read in
        several steps, not one: export a deployment whose sale is stopped."""

    @abc.abstractmethod
    async def import_data(self, data: DataSet, *, replace: bool = False) -> None:
        """Load `data`, rebuilding what is derived from it (lineup indexes, per-buyer and
        per-phone units, order numbers, idempotency records of orders under a day old).
        A store holding any product, show or account raises `Conflict` and changes nothing,
        unless `replace`: then everything it holds is deleted first. Not one atomic step: no
        server process may use the store meanwhile."""

    @abc.abstractmethod
    async def buyers_with_details(self) -> dict[str, str]:
        """Every buyer token holding delivery details, with the phone key it is tied to."""

    @abc.abstractmethod
    async def forget_buyer(self, buyer: str, *, settled_before: float | None = None) -> bool:
        """Delete a buyer token's delivery details in one step: its details, its tie to a
        phone (and its units from that phone's count) and the client address on its orders.
        The orders keep their figures (product, quantities, prices, statuses, times).

        With `settled_before`, only if every order of the token is settled — shipped before
        that time, or cancelled (counted from its creation) — and it has at least one order.
        Returns whether anything was deleted; forgetting again is a no-op."""


# --- the event feed ------------------------------------------------------------------------

# deliver(show_id, event): called synchronously for each event, in order.
Deliver = Callable[[str, Event], None]
# resync(show_ids): events of these shows may have been lost.
Resync = Callable[[set[str]], Coroutine[Any, Any, None]]


class Feed(abc.ABC):
    """Carries the events a store publishes to this process's hub.

    Guarantees: events of one show reach `deliver` in the order the store published them (their
    seq order), at most once, as `live.events` Structs. Delivery can break (a dropped Redis
    connection, a silent subscription, a message that does not decode); when the feed notices,
    it calls `resync` with the shows whose events may have been lost, after it is subscribed
    again, so the hub can send those clients a fresh snapshot. A feed never raises into the
    store step that published.
    """

    # Called (synchronously) when the event feed is lost, e.g. Redis went away; the hub tells
    # clients that ordering is paused until the resync that follows the reconnection.
    on_down: Callable[[], None] | None = None

    @abc.abstractmethod
    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Begin delivering; nothing is subscribed yet."""

    @abc.abstractmethod
    async def subscribe(self, show_id: str) -> None:
        """Return once every event the store publishes for the show from now on is delivered;
        raise `Unavailable` if that cannot be made sure in time."""

    @abc.abstractmethod
    async def unsubscribe(self, show_id: str) -> None:
        """Stop delivering the show's events."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop everything; no call to `deliver` after this returns. Closing again is a no-op."""


@dataclass(frozen=True, slots=True)
class Backend:
    """A store and the feed of its events: opened together, closed together."""

    store: Store
    feed: Feed

    @classmethod
    def around(cls, store: Store) -> Backend:
        """The backend of an open store, with a new feed of its events."""
        return cls(store, store.open_feed())

    @property
    def kind(self) -> str:
        return self.store.kind

    async def close(self) -> None:
        """Close the feed (if a hub has not already), then the store."""
        await self.feed.close()
        await self.store.close()
