"""Use cases over the domain and the store: what the host and the buyers can do.

The web layer decodes requests (HTTP bodies into `live.messages` bodies, socket frames through
`live.protocol`) and calls these; it checks nothing else. The service decides: it checks tokens,
limits and ids, picks ids and clocks, applies the pure rules and calls one atomic store step,
so the same mistake gets the same error code over HTTP and the socket.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from msgspec import UNSET

from live import domain, payments, shipping
from live.accounts import Accounts
from live.admission import AdmissionGate
from live.backends import Store
from live.backoffice import Parcel as PackingParcel
from live.claims import Claims, RoomHint, SoldOutHere
from live.config import LANGS, Settings
from live.delivery import checked_profile, phone_key
from live.domain import (
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
    NotFound,
    OrderRefused,
    RateLimited,
    Reason,
    Unavailable,
)
from live.messages import (
    DealBody,
    HarvestBody,
    LineupBody,
    OptionsBody,
    OptionStockPatch,
    PartBody,
    PartsBody,
    PaymentMethodsBody,
    ProductCreate,
    ProductPatch,
    ProfileBody,
    RateBody,
    ShippingBody,
    ShowCreate,
)
from live.parcels import Parcel, build_parcel, normal_reference, price_packing, show_parcels
from live.payments import ManualTransfer
from live.ratelimit import RateLimiter, address_bucket
from live.shipping import ShippingRules
from live.trust import Trust

# Short text fields stored without surrounding blanks, on create and on edit alike.
_TRIMMED = ("name", "unit", "producer")


def new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


def new_short_code() -> str:
    return "".join(secrets.choice(domain.SHORT_CODE_ALPHABET) for _ in range(6))


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A buyer's order as a transport decoded it: an `order` frame on the buyer's socket, or the
    body and `X-Buyer` of `POST /api/shows/{id}/orders`. The decoders have checked the shape of
    `product_id`, `qty` and `key` (live.messages, live.protocol); nothing else is checked yet:
    `Service.place_order` checks the rest, the same way whichever transport carried it."""

    show_id: str
    buyer: str | None  # None: the request carried no token (a read-only socket, no X-Buyer)
    product_id: str
    qty: int
    key: str
    address: str = ""  # the client's address; empty for internal callers (not rate limited)
    # A resend of a key the client already sent: never refused from this process's own view
    # (only the store knows whether the first attempt made an order).
    retry: bool = False
    option_id: str | None = None  # the size or weight, for a product with options


# (show id, product id, option id) -> a reason every buyer's order would be refused for now,
# or None.
RefusalHint = Callable[[str, str, str | None], Reason | None]

# What a refusal hint may answer: refusals that hold for every buyer and every key. Anything
# else it says is ignored (the store decides).
HINTED_REASONS = frozenset({Reason.ORDERING_CLOSED, Reason.NOT_ON_SALE, Reason.SOLD_OUT})

# An accepted order's answer, told to the process's view: (show id, product id, option id,
# the stock it left, the show's seq).
AnsweredHook = Callable[[str, str, str | None, int, int], None]


def checked_buyer(buyer: str | None) -> str:
    if buyer is None or not domain.BUYER_TOKEN_RE.match(buyer):
        raise Invalid("a buyer token of 16-64 characters [A-Za-z0-9_-] is required (X-Buyer)")
    return buyer


def checked_id(value: str, what: str) -> str:
    """An id from a URL: anything outside the id alphabet cannot exist, so it is not found."""
    if not domain.is_valid_id(value):
        raise NotFound(f"no {what} {value[:64]!r}")
    return value


class HandedKeys:
    """The (buyer, key) pairs this process has handed to the store, newest last, at most
    `limit` of them. A first attempt whose key is here is a resend from a client that did not
    mark it `retry`: it goes to the store, which answers the order that key made, never the
    process's own view (docs/protocol.md, "busy and retries")."""

    def __init__(self, limit: int = 65_536) -> None:
        self.limit = limit
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()

    def add(self, buyer_key: tuple[str, str]) -> None:
        self._keys[buyer_key] = None
        self._keys.move_to_end(buyer_key)
        if len(self._keys) > self.limit:
            self._keys.popitem(last=False)

    def __contains__(self, buyer_key: object) -> bool:
        return buyer_key in self._keys


class Service:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        buyer_rate: float = 5.0,
        buyer_burst: float = 10.0,
        refusal_hint: RefusalHint | None = None,
        admission: AdmissionGate | None = None,
        room_hint: RoomHint | None = None,
        on_answered: AnsweredHook | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        # What this process already knows refuses a product to anyone (the hub's view):
        # first attempts are answered from it without a store round trip.
        self.refusal_hint = refusal_hint
        # First attempts wait here while the units this process knows are left are spoken for
        # by orders in flight (live/claims.py); accepted answers tell the view the stock left.
        # A parked order waits at most as long as an order in flight can take (queued until the
        # deadline, then the store's time to answer): by then the ones it waits for are over.
        patience = settings.order_deadline + settings.store_timeout
        self.claims = Claims(room_hint, patience=patience) if room_hint else None
        self.on_answered = on_answered
        self.handed = HandedKeys()
        # How many orders may wait for the store here at once (LIVE_ORDER_DEADLINE).
        self.admission = admission or AdmissionGate(settings.order_deadline)
        # Orders per second per buyer token, shared by every connection of this process.
        self.buyer_limiter = RateLimiter(buyer_rate, buyer_burst)
        # Per client address (HTTP and sockets alike): a fresh buyer token per order gets past
        # the limits above, a fresh address is harder to come by (docs/security.md).
        self.address_orders = RateLimiter(settings.order_rate_per_ip, settings.order_burst_per_ip)
        self.address_profiles = RateLimiter(
            settings.profile_rate_per_ip, settings.profile_burst_per_ip
        )
        # Host accounts and console sessions: the console's login, logout and session checks.
        self.accounts = Accounts(store, settings)
        # Authenticity (issue 15): lots, labels, verification, feedback (live/trust.py).
        self.trust = Trust(store, self.clock)

    # --- the store and the co-op -----------------------------------------------------------

    @property
    def store_kind(self) -> str:
        """`memory` or `redis`, for readiness answers and logs."""
        return self.store.kind

    async def ping_store(self) -> None:
        """Return when the store answers; raise `Unavailable` otherwise."""
        await self.store.ping()

    async def coop_lang(self) -> str:
        """The co-op's language: its console setting, else LIVE_LANG. For what cannot ask the
        viewer (OBS reports English whatever the co-op speaks) and for the links handed out."""
        lang = (await self.store.get_coop_settings()).get("lang", "")
        return lang if lang in LANGS else self.settings.default_lang

    async def set_coop_lang(self, lang: str) -> None:
        """The co-op's language, one of `LANGS` (else `Invalid`)."""
        if lang not in LANGS:
            raise Invalid(f"lang must be one of {', '.join(LANGS)}")
        await self.store.set_coop_settings({"lang": lang})

    # --- catalog ---------------------------------------------------------------------------

    async def create_product(self, body: ProductCreate) -> Product:
        options: tuple[domain.Option, ...] = ()
        if body.options is not None:
            specs = [o.spec() for o in body.options]
            if any(s.id is not None for s in specs):
                raise Invalid("a new product's options have no id yet", field="options")
            empty = Product(id="", name="", price=0, stock=0)
            new_ids = [new_id("v") for _ in specs]
            options = domain.merge_options(empty, specs, new_ids).options
            if body.stock not in (0, sum(o.stock for o in options)):
                raise Invalid(
                    "a product with options has their stock: send stock 0 (or their sum)",
                    field="stock",
                )
        parts, box_stock = await self._box_parts(body)  # bundles (issue 13)
        product = Product(
            id=new_id("p"),
            parts=parts,
            name=body.name.strip(),
            price=body.price,
            stock=sum(o.stock for o in options) if options else box_stock,
            options=options,
            preorder_cap=body.preorder_cap,
            ships_from=body.ships_from,
            currency=body.currency,
            unit=body.unit.strip(),
            limit_per_buyer=body.limit_per_buyer,
            producer=body.producer.strip(),
            description=body.description,
            image_url=body.image_url,
            created_at=self.clock(),
        )
        return await self.store.create_product(product)

    async def get_product(self, product_id: str) -> Product:
        return await self.store.get_product(checked_id(product_id, "product"))

    async def _box_parts(self, body: ProductCreate) -> tuple[tuple[domain.Part, ...], int]:
        """bundles (issue 13): a gift box's parts, checked against the catalog; a box keeps no
        stock, options or pre-orders of its own."""
        if body.parts is None:
            return (), body.stock
        if body.options is not None or body.stock != 0 or body.preorder_cap != 0:
            raise Invalid(
                "a gift box has no options, stock or pre-orders of its own: send stock 0",
                field="parts",
            )
        return await self._named_parts("", body.parts)

    async def _named_parts(
        self, box_id: str, bodies: list[PartBody]
    ) -> tuple[tuple[domain.Part, ...], int]:
        parts = tuple(p.part() for p in bodies)
        products = {p.id: p for p in await self.store.list_products()}
        domain.check_parts(box_id, parts, products)
        named = tuple(replace(p, name=domain.part_name(p, products)) for p in parts)
        return named, domain.bundle_stock(parts, products)

    async def set_parts(self, product_id: str, body: PartsBody) -> Product:
        """A box's new parts, while none of it is sold (the store checks, in its step)."""
        box_id = checked_id(product_id, "product")
        parts, _ = await self._named_parts(box_id, body.parts)
        return await self.store.set_parts(box_id, parts)

    async def list_products(self, *, include_archived: bool = True) -> list[Product]:
        products = await self.store.list_products()
        return [p for p in products if include_archived or not p.archived]

    async def update_product(self, product_id: str, patch: ProductPatch) -> Product:
        changes = patch.changes()
        for name in _TRIMMED:
            value = changes.get(name)
            if isinstance(value, str):
                changes[name] = value.strip()
        stock = None if patch.stock is UNSET else patch.stock
        delta = None if patch.stock_delta is UNSET else patch.stock_delta
        if stock is not None and delta is not None:
            raise Invalid("send either stock or stock_delta, not both")
        return await self.store.update_product(
            checked_id(product_id, "product"), changes, stock=stock, stock_delta=delta
        )

    # --- options (issue 13) ----------------------------------------------------------------

    async def set_options(self, product_id: str, body: OptionsBody) -> Product:
        specs = [o.spec() for o in body.options]
        new_ids = [new_id("v") for s in specs if s.id is None]
        return await self.store.set_options(checked_id(product_id, "product"), specs, new_ids)

    async def update_option_stock(
        self, product_id: str, option_id: str, patch: OptionStockPatch
    ) -> Product:
        stock = None if patch.stock is UNSET else patch.stock
        delta = None if patch.stock_delta is UNSET else patch.stock_delta
        if (stock is None) == (delta is None):
            raise Invalid("send either stock or stock_delta")
        return await self.store.update_option_stock(
            checked_id(product_id, "product"),
            checked_id(option_id, "option"),
            stock=stock,
            stock_delta=delta,
        )

    async def receive_harvest(self, product_id: str, body: HarvestBody) -> Product:
        """The harvest arrived: pre-orders become orders that ship, the rest goes to stock."""
        return await self.store.receive_harvest(
            checked_id(product_id, "product"), body.option_id, body.units
        )

    # --- shows -----------------------------------------------------------------------------

    async def create_show(self, body: ShowCreate) -> Show:
        lineup = tuple(body.product_ids)
        domain.check_lineup(lineup)
        for _ in range(8):  # 31^6 codes: a clash is rare, eight in a row absurd
            show = Show(
                id=new_id("s"),
                title=body.title.strip(),
                lineup=lineup,
                overlay_key=secrets.token_urlsafe(24),
                created_at=self.clock(),
                short_code=new_short_code(),
                toasts=body.toasts,
                hold_seconds=(  # holds (issue 14)
                    self.settings.hold_seconds if body.hold_seconds is None else body.hold_seconds
                ),
            )
            try:
                return await self.store.create_show(show)
            except Conflict:
                continue
        raise Unavailable("could not find a free short code; try again")

    async def list_shows(self) -> list[Show]:
        """Every show, newest first."""
        return await self.store.list_shows()

    async def show_by_code(self, code: str) -> str:
        code = code.strip().upper()
        if not domain.SHORT_CODE_RE.match(code):
            raise NotFound("no show with that code")
        return await self.store.show_by_code(code)

    async def show_state(self, show_id: str) -> ShowState:
        return await self.store.show_state(checked_id(show_id, "show"))

    async def get_show(self, show_id: str) -> Show:
        return await self.store.get_show(checked_id(show_id, "show"))

    async def set_featured(self, show_id: str, product_id: str | None) -> Show:
        return await self.store.set_featured(checked_id(show_id, "show"), product_id)

    async def set_ordering(self, show_id: str, open_: bool) -> Show:
        return await self.store.set_ordering(checked_id(show_id, "show"), open_)

    async def set_on_sale(self, show_id: str, product_id: str, on_sale: bool) -> Show:
        return await self.store.set_on_sale(checked_id(show_id, "show"), product_id, on_sale)

    async def set_deal(self, show_id: str, body: DealBody) -> Show:
        show = await self.get_show(show_id)
        domain.check_not_ended(show)  # before judging the deal: nothing about it may change
        if body.price is None:
            return await self.store.set_deal(show.id, body.product_id, None)
        if body.ends_at is None:
            raise Invalid("a deal needs ends_at (Unix seconds)")
        if body.product_id not in show.lineup:
            raise Invalid(f"product {body.product_id} is not in the show's lineup")
        product = await self.store.get_product(body.product_id)
        deal = domain.check_deal(product.price, body.price, body.ends_at, self.clock())
        return await self.store.set_deal(show.id, body.product_id, deal)

    async def set_lineup(self, show_id: str, body: LineupBody) -> Show:
        lineup = tuple(body.product_ids)
        domain.check_lineup(lineup)
        return await self.store.set_lineup(checked_id(show_id, "show"), lineup)

    async def set_toasts(self, show_id: str, on: bool) -> Show:
        return await self.store.set_toasts(checked_id(show_id, "show"), on)

    async def end_show(self, show_id: str) -> Show:
        return await self.store.end_show(checked_id(show_id, "show"))

    async def rotate_overlay_key(self, show_id: str) -> Show:
        return await self.store.set_overlay_key(
            checked_id(show_id, "show"), secrets.token_urlsafe(24)
        )

    # --- orders ----------------------------------------------------------------------------

    async def place_order(self, order: PlaceOrder) -> OrderAccepted:
        """Every check of a buyer's order, whichever transport carried it. Raises, in this order:
        `NotFound` for a show id that cannot exist (and, from the store, one that does not);
        then `OrderRefused` in the contract's precedence (`invalid` without a valid buyer
        token, `rate_limited` past the buyer's or the address's limit; for a first attempt, a
        refusal this process already knows (`refusal_hint`); `busy` when the orders waiting
        here for the store already fill the deadline, or this one was withdrawn unsent at
        it; then the store's reasons); `Unavailable` when the store does not answer (the
        outcome is unknown). Nothing is applied unless the order is accepted, and every
        order handed to a healthy store is answered with its real result."""
        show_id, buyer, address = checked_id(order.show_id, "show"), order.buyer, order.address
        if buyer is None or not domain.BUYER_TOKEN_RE.match(buyer):
            raise OrderRefused(
                Reason.INVALID,
                detail="a buyer token of 16-64 characters [A-Za-z0-9_-] is required "
                "(X-Buyer over HTTP, ?buyer= on the socket)",
            )
        # One budget per buyer token, shared by every connection of this process and by HTTP.
        if not self.buyer_limiter.allow(buyer):
            raise OrderRefused(Reason.RATE_LIMITED)
        if address and not self.address_orders.allow(address_bucket(address)):
            raise OrderRefused(
                Reason.RATE_LIMITED, detail="too many orders from this address; wait a moment"
            )
        resend = order.retry or (buyer, order.key) in self.handed
        if not resend and self.refusal_hint is not None:
            # A refusal changes nothing, so a stale view costs at most a refusal the store
            # would no longer give; a retry goes to the store, so an order that exists is never
            # answered from here.
            known = self.refusal_hint(show_id, order.product_id, order.option_id)
            if known is not None and known in HINTED_REASONS:
                raise OrderRefused(known, stock=0 if known is Reason.SOLD_OUT else None)
        claim = None
        if not resend and self.claims is not None:
            try:
                claim = await self.claims.claim(
                    (show_id, order.product_id, order.option_id), order.qty
                )
            except SoldOutHere:
                raise OrderRefused(Reason.SOLD_OUT, stock=0) from None
        if claim is None or self.claims is None:
            return await self._admitted(show_id, buyer, address, order)
        settle_after = 0.0
        try:
            return await self._admitted(show_id, buyer, address, order)
        except OrderRefused as exc:
            if exc.reason is Reason.BUSY:
                # Not the store's answer: the units are still there, but the next parked order
                # would only be refused busy too (one after another, thousands in an instant).
                # They are let go again after the hint.
                settle_after = (exc.retry_after_ms or 100) / 1000
            raise
        finally:
            self.claims.release(claim, settle_after=settle_after)

    async def _admitted(
        self, show_id: str, buyer: str, address: str, order: PlaceOrder
    ) -> OrderAccepted:
        """The order through the admission gate to the store."""
        gate = self.admission
        ticket = gate.admit()
        if ticket is None:
            raise self._busy()
        request = OrderRequest(
            show_id=show_id,
            buyer=buyer,
            product_id=order.product_id,
            qty=order.qty,
            key=order.key,
            order_id=new_id("o"),
            now=self.clock(),
            ip=address,
            option_id=order.option_id,
        )
        self.handed.add((buyer, order.key))
        try:
            result = await self.store.place_order(request, send_by=ticket.send_by)
        except Busy:  # still queued here at the deadline: withdrawn, never sent
            gate.withdraw(ticket)
            raise self._busy() from None
        except (OrderRefused, NotFound):  # the store's own answer
            gate.leave(ticket, answered=True)
            raise
        except BaseException:
            gate.leave(ticket, answered=False)
            raise
        gate.leave(ticket, answered=True)
        if self.on_answered is not None:
            self.on_answered(show_id, order.product_id, order.option_id, result.stock, result.seq)
        return result

    def _busy(self) -> OrderRefused:
        return OrderRefused(Reason.BUSY, retry_after_ms=self.admission.retry_after_ms())

    async def list_orders(self, show_id: str) -> list[Order]:
        return await self.store.list_orders(checked_id(show_id, "show"))

    async def list_orders_for_host(self, show_id: str) -> tuple[list[Order], dict[str, Profile]]:
        """The show's orders and the delivery details of their buyers (host only)."""
        orders = await self.list_orders(show_id)
        buyers = sorted({o.buyer for o in orders})
        return orders, await self.store.get_profiles(buyers)

    async def my_orders(self, show_id: str, buyer: str | None) -> list[Order]:
        await self.get_show(show_id)
        return await self.store.buyer_orders(checked_buyer(buyer), show_id)

    async def set_profile(
        self, buyer: str | None, body: ProfileBody, *, address: str = ""
    ) -> Profile:
        """Keep the buyer's delivery details, checked and normalized (live.delivery), sent from
        client `address` (none: an internal caller, not limited); answers them as kept, so the
        buyer's page shows what the courier will read."""
        token = checked_buyer(buyer)
        profile = checked_profile(body)
        if address and not self.address_profiles.allow(address_bucket(address)):
            raise RateLimited("too many delivery details from this address; wait a minute")
        # The token's units count for this phone from now on (docs/security.md).
        await self.store.set_profile(token, profile, phone_key=phone_key(profile.phone))
        return profile

    async def get_order(self, order_id: str) -> Order:
        return await self.store.get_order(checked_id(order_id, "order"))

    async def cancel_order(self, order_id: str) -> tuple[Order, bool]:
        return await self.store.cancel_order(checked_id(order_id, "order"))

    async def set_order_status(
        self, order_id: str, status: OrderStatus, *, unpaid: bool = False
    ) -> Order:
        if unpaid and status is not OrderStatus.SHIPPED:
            raise Invalid('"unpaid" goes with "status": "shipped" (cash on delivery)')
        return await self.store.set_order_status(
            checked_id(order_id, "order"), status, unpaid=unpaid, now=self.clock()
        )

    # --- holds (issue 14) ------------------------------------------------------------------

    async def shipping_rules(self) -> ShippingRules:
        raw = (await self.store.get_coop_settings()).get("shipping")
        return shipping.rules_from_json(json.loads(raw)) if raw else ShippingRules()

    async def set_shipping_rules(self, body: ShippingBody) -> ShippingRules:
        def rate(r: RateBody) -> shipping.Rate:
            return shipping.Rate(r.first, r.extra_kg)

        names = [shipping.region_key(name) for name in body.regions]
        if len(set(names)) != len(names) or {"", shipping.ABROAD, shipping.ELSEWHERE} & set(names):
            raise Invalid("regions: each province once, none named abroad or elsewhere")
        rules = ShippingRules(
            elsewhere=rate(body.elsewhere),
            regions={name.strip(): rate(r) for name, r in body.regions.items()},
            abroad=rate(body.abroad) if body.abroad is not None else None,
            free_above=body.free_above,
        )
        await self.store.set_coop_settings({"shipping": json.dumps(shipping.rules_json(rules))})
        return rules

    async def my_parcel(self, show_id: str, buyer: str | None) -> Parcel:
        """The buyer's parcel in the show, its shipping priced for the buyer's address."""
        orders = await self.my_orders(show_id, buyer)
        token = checked_buyer(buyer)
        profiles = await self.store.get_profiles([token])
        wanted = {o.product_id for o in orders}
        products = {pid: await self.store.get_product(pid) for pid in wanted}
        rules = await self.shipping_rules()
        return build_parcel(show_id, token, orders, products, profiles.get(token), rules)

    async def payment_methods(self) -> list[ManualTransfer]:
        raw = (await self.store.get_coop_settings()).get("payment_methods")
        return payments.methods_from_json(raw) if raw else []

    async def set_payment_methods(self, body: PaymentMethodsBody) -> list[ManualTransfer]:
        methods = []
        for m in body.methods:
            if m.image_url and not m.image_url.startswith(("https://", "http://", "/")):
                raise Invalid("image_url must be an http(s) URL or a path starting with /")
            if not m.name.strip():
                raise Invalid("a payment method needs a name", field="methods")
            text = {str(lang): t.strip() for lang, t in m.instruction.items() if t.strip()}
            methods.append(
                ManualTransfer(m.kind, m.name.strip(), m.image_url, m.details.strip(), text)
            )
        raw = json.dumps(payments.methods_json(methods), ensure_ascii=False)
        await self.store.set_coop_settings({"payment_methods": raw})
        return methods

    async def my_notice(self, show_id: str, buyer: str) -> dict[str, str] | None:
        return (await self.store.payment_notices(show_id)).get(buyer)

    async def say_paid(self, show_id: str, buyer: str | None, proof: str = "") -> Parcel:
        """The buyer says the parcel is paid (`proof`: a screenshot's file name, or ""): the
        host's queue gets it. Only an unpaid parcel can be (`Conflict` otherwise)."""
        parcel = await self.my_parcel(show_id, buyer)
        if parcel.status != "unpaid":
            raise Conflict("nothing is waiting for payment in this parcel")
        notice = {"state": payments.PENDING, "amount": str(parcel.to_pay)}
        notice |= {"at": repr(self.clock()), "proof": proof, "reference": parcel.reference}
        await self.store.set_payment_notice(show_id, parcel.buyer, notice)
        return parcel

    async def find_parcel(self, show_id: str, reference: str) -> Parcel:
        wanted = normal_reference(reference)
        for parcel in await self.show_parcels(show_id):
            if parcel.reference == wanted:
                return parcel
        raise NotFound(f"no parcel {reference[:20]!r} in this show")

    async def mark_parcel_paid(self, show_id: str, reference: str) -> Parcel:
        """Every claim of the parcel paid at once (`Conflict`, nothing paid, if one expired)."""
        parcel = await self.find_parcel(show_id, reference)
        if not parcel.claimed:
            raise Conflict("nothing is waiting for payment in this parcel (paid, or expired)")
        await self.store.pay_orders([o.id for o in parcel.claimed], self.clock())
        notice = await self.my_notice(show_id, parcel.buyer)
        if notice is not None:
            notice = {**notice, "state": payments.ACCEPTED}
            await self.store.set_payment_notice(show_id, parcel.buyer, notice)
        return await self.find_parcel(show_id, reference)

    async def reject_payment(self, show_id: str, reference: str, reason: str) -> Parcel:
        """The host did not find the money: the buyer's page says why."""
        parcel = await self.find_parcel(show_id, reference)
        notice = await self.my_notice(show_id, parcel.buyer) or {"amount": str(parcel.to_pay)}
        notice = {**notice, "state": payments.REJECTED, "reason": reason.strip()}
        await self.store.set_payment_notice(show_id, parcel.buyer, notice)
        return parcel

    async def parcel_board(
        self, show_id: str
    ) -> tuple[list[Parcel], dict[str, dict[str, str]], int]:
        """The host's view of paying: every parcel, every payment notice, and how many
        claims expired."""
        orders, profiles = await self.list_orders_for_host(show_id)
        products = {p.id: p for p in await self.store.list_products()}
        parcels = show_parcels(show_id, orders, products, profiles, await self.shipping_rules())
        expired = sum(1 for o in orders if o.status is OrderStatus.EXPIRED)
        return parcels, await self.store.payment_notices(show_id), expired

    async def price_packing(self, show_id: str, packing: list[PackingParcel]) -> None:
        """The packing list's parcels get their reference and shipping fee."""
        orders = await self.store.list_orders(show_id)
        products = {p.id: p for p in await self.store.list_products()}
        price_packing(packing, show_id, orders, products, await self.shipping_rules())

    async def shipping_collected(self, show_id: str) -> tuple[int, str]:
        """Shipping the show's paid orders brought, and its currency: the co-op's money, kept
        out of producers' statements."""
        parcels = await self.show_parcels(show_id)
        currency = parcels[0].currency if parcels else "CNY"
        return sum(p.paid_shipping for p in parcels), currency

    async def show_parcels(self, show_id: str) -> list[Parcel]:
        """Every buyer's parcel in the show, for the host."""
        orders, profiles = await self.list_orders_for_host(show_id)
        products = {p.id: p for p in await self.store.list_products()}
        return show_parcels(show_id, orders, products, profiles, await self.shipping_rules())

    async def expire_due(self, batch: int = 100) -> list[Order]:
        """Expire every claim whose hold ran out by now, `batch` per store call."""
        expired: list[Order] = []
        now = self.clock()
        while True:
            done = await self.store.expire_orders(now, batch)
            expired += done
            if len(done) < batch:
                return expired
