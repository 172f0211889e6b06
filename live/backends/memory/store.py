"""The in-memory backend: one process, nothing kept across restarts.

Atomicity comes from never awaiting inside a step: each public coroutine does all its reading,
checking and writing synchronously, so no other task runs in between. Values are frozen
dataclasses, replaced (never mutated) on change, so callers can't alter the store by accident.
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType

from live import domain, events
from live.backends.base import (
    EDITABLE_PRODUCT_FIELDS,
    BuyerData,
    DataSet,
    Feed,
    Store,
    new_session_epoch,
)
from live.backends.memory.feed import LocalBus, LocalFeed
from live.backends.memory.trust import MemoryTrust, TrustTables  # authenticity (issue 15)
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
from live.errors import Busy, Conflict, Invalid, NotFound, OrderRefused, Reason

# A discrete event without its seq and prev, which `_discrete` fills in.
MakeDiscrete = Callable[..., events.Discrete]


@dataclasses.dataclass(slots=True)
class _IdemRecord:
    order_id: str
    expires_at: float


class MemoryStore(MemoryTrust, Store):
    kind = "memory"

    def __init__(self, *, profile_ttl: float = 24 * 3600) -> None:
        self._products: dict[str, Product] = {}
        self._shows: dict[str, Show] = {}
        self._orders: dict[str, Order] = {}
        self._show_orders: dict[str, list[str]] = {}
        self._product_shows: dict[str, set[str]] = {}
        # (buyer, product_id) -> units held by the buyer's not-cancelled orders
        self._bought: dict[tuple[str, str], int] = {}
        self._idem: dict[tuple[str, str], _IdemRecord] = {}
        self._short: dict[str, str] = {}
        self._users: dict[str, str] = {}
        self._epochs: dict[str, int] = {}
        self._profiles: dict[str, Profile] = {}
        self._coop: dict[str, str] = {}
        self._buyer_orders: dict[str, list[str]] = {}
        self._order_numbers: dict[str, int] = {}  # show id -> the last order number given
        # Per-phone limits: the phone key each token is tied to (by its delivery details) and
        # units per (phone key, product), always the sum over the tokens tied to that phone.
        self._phone_of: dict[str, str] = {}
        self._phone_bought: dict[tuple[str, str], int] = {}
        # Delivery details of tokens without an order go after profile_ttl (oldest first).
        self._profile_ttl = profile_ttl
        self._profile_expiry: dict[str, float] = {}
        self._expiring: deque[tuple[float, str]] = deque()
        self._closed = False
        # Events go out in the same (await-free) step as the change, as Lua PUBLISH does.
        self.bus = LocalBus()
        self._trust = TrustTables()  # authenticity (issue 15): lots, labels, feedback
        # holds (issue 14): (expires_at, order id) of claims that may expire, soonest first.
        self._deadlines: list[tuple[float, str]] = []
        self._notices: dict[str, dict[str, dict[str, str]]] = {}  # show -> buyer -> notice
        self._boxes_of: dict[str, set[str]] = {}  # bundles (issue 13): part -> boxes holding it

    async def close(self) -> None:
        self._closed = True

    def open_feed(self) -> Feed:
        return LocalFeed(self.bus)

    async def ping(self) -> None:
        return None

    # --- catalog ---------------------------------------------------------------------------

    async def create_product(self, product: Product) -> Product:
        if product.id in self._products:
            raise Invalid(f"product {product.id} exists")
        self._products[product.id] = product
        self._product_shows[product.id] = set()
        self._know_box(product)  # bundles (issue 13)
        return product

    def _product(self, product_id: str) -> Product:
        try:
            return self._products[product_id]
        except KeyError:
            raise NotFound(f"no product {product_id}") from None

    async def get_product(self, product_id: str) -> Product:
        return self._shown(self._product(product_id))

    async def list_products(self) -> list[Product]:
        return [self._shown(p) for p in self._products.values()]

    async def update_product(
        self,
        product_id: str,
        changes: Mapping[str, object],
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        product = self._product(product_id)
        unknown = set(changes) - EDITABLE_PRODUCT_FIELDS
        if unknown:
            raise Invalid(f"not editable: {', '.join(sorted(unknown))}")
        if product.options and (stock is not None or stock_delta is not None):
            raise Conflict("the product's stock changes through its options")
        if product.parts and (stock is not None or stock_delta is not None):
            raise Conflict(domain.BOX_STOCK)  # bundles (issue 13)
        new_stock = domain.check_new_stock(product.stock, set_to=stock, delta=stock_delta)
        updated = dataclasses.replace(
            product,
            **changes,  # type: ignore[arg-type]  # names checked above, values at the edge
            stock=new_stock,
            version=product.version + 1,
        )
        self._publish_product(updated, edited=bool(changes))
        return self._shown(updated)

    # --- options (issue 13) ----------------------------------------------------------------

    async def update_option_stock(
        self,
        product_id: str,
        option_id: str,
        *,
        stock: int | None = None,
        stock_delta: int | None = None,
    ) -> Product:
        product = self._product(product_id)
        option = domain.find_option(product, option_id)
        if option is None:
            raise NotFound(f"no option {option_id} of product {product_id}")
        new_stock = domain.check_new_stock(option.stock, set_to=stock, delta=stock_delta)
        updated = domain.with_option_stock(product, option_id, new_stock, option.sold)
        updated = dataclasses.replace(updated, version=product.version + 1)
        self._publish_product(updated, edited=False)
        return updated

    async def set_options(
        self, product_id: str, specs: list[domain.OptionSpec], new_ids: list[str]
    ) -> Product:
        product = self._product(product_id)
        updated = domain.merge_options(product, specs, new_ids)
        updated = dataclasses.replace(updated, version=product.version + 1)
        self._publish_product(updated, edited=True)
        return updated

    # --- pre-orders (issue 13) ------------------------------------------------------------

    async def receive_harvest(self, product_id: str, option_id: str | None, units: int) -> Product:
        product = self._product(product_id)
        option = domain.find_option(product, option_id)
        if option_id is not None and option is None:
            raise NotFound(f"no option {option_id} of product {product_id}")
        if product.options and option is None:
            raise Invalid("name the option the harvest is for (option_id)", field="option_id")
        cell = option or product
        domain.check_harvest(units, cell.preordered)
        stock = cell.stock + units - cell.preordered
        if option is not None:
            changed = dataclasses.replace(
                option, stock=stock, preordered=0, harvests=option.harvests + 1
            )
            updated = domain.with_option(product, changed)
        else:
            updated = dataclasses.replace(
                product, stock=stock, preordered=0, harvests=product.harvests + 1
            )
        updated = dataclasses.replace(updated, version=product.version + 1)
        self._publish_product(updated, edited=True)
        return updated

    def _publish_product(self, updated: Product, *, edited: bool) -> None:
        """Keep the changed product; every show holding it hears a product event (fields
        edited) or a stock event."""
        product_id = updated.id
        self._products[product_id] = updated
        updated = self._shown(updated)  # bundles (issue 13): a box's stock is its parts'
        public = events.PublicProduct.of(updated)
        for show_id in sorted(self._product_shows[product_id]):
            if edited:
                show = self._shows[show_id]
                deal = show.deals.get(product_id)
                event = partial(
                    events.ProductEdited,
                    product=public,
                    on_sale=product_id in show.on_sale,
                    deal=events.DealTerms(price=deal.price, ends_at=deal.ends_at) if deal else None,
                )
                self._discrete(show_id, event)
            else:
                show = self._bump(show_id)
                self.bus.publish(show_id, self._stock_event(updated, show.seq))
        self._tell_boxes(product_id)  # bundles (issue 13)

    # --- shows -----------------------------------------------------------------------------

    async def create_show(self, show: Show) -> Show:
        if show.id in self._shows:
            raise Invalid(f"show {show.id} exists")
        self._check_additions(show.lineup, ())
        if show.short_code and show.short_code in self._short:
            raise Conflict(f"short code {show.short_code} is taken")
        self._shows[show.id] = show
        if show.short_code:
            self._short[show.short_code] = show.id
        self._show_orders[show.id] = []
        for pid in show.lineup:
            self._product_shows[pid].add(show.id)
        return show

    def _show(self, show_id: str) -> Show:
        try:
            return self._shows[show_id]
        except KeyError:
            raise NotFound(f"no show {show_id}") from None

    def _bump(self, show_id: str, **changes: object) -> Show:
        show = self._shows[show_id]
        updated = dataclasses.replace(show, **changes, seq=show.seq + 1)  # type: ignore[arg-type]
        self._shows[show_id] = updated
        return updated

    def _discrete(self, show_id: str, make: MakeDiscrete, **changes: object) -> Show:
        """A discrete change: a new seq that becomes the show's event_seq, and its event naming
        the previous one as `prev`."""
        prev = self._shows[show_id].event_seq
        show = self._bump(show_id, **changes)
        show = dataclasses.replace(show, event_seq=show.seq)
        self._shows[show_id] = show
        self.bus.publish(show_id, make(seq=show.seq, prev=prev))
        return show

    @staticmethod
    def _stock_event(product: Product, seq: int) -> events.Stock:
        return events.Stock(
            seq=seq,
            product_id=product.id,
            stock=product.stock,
            sold=product.sold,
            version=product.version,
            options=events.Stock.options_of(product),
            preordered=product.preordered,
        )

    def _bump_holders(self, product: Product, show_id: str) -> Show:
        """A stock change shows in every show holding the product: each one's seq grows and
        hears a stock event (the show where it happened is left to the caller)."""
        for other in sorted(self._product_shows[product.id] - {show_id}):
            self.bus.publish(other, self._stock_event(product, self._bump(other).seq))
        self._tell_boxes(product.id)  # bundles (issue 13)
        return self._bump(show_id)

    async def list_shows(self) -> list[Show]:
        return list(reversed(self._shows.values()))

    async def set_user(self, name: str, password_hash: str) -> None:
        self._users[name] = password_hash
        self._epochs[f"account:{name}"] = new_session_epoch()  # live.auth.epoch_key

    async def get_user(self, name: str) -> str | None:
        return self._users.get(name)

    async def session_epoch(self, name: str, *, start: bool = False) -> int | None:
        if start and name not in self._epochs:
            self._epochs[name] = new_session_epoch()
        return self._epochs.get(name)

    async def end_sessions(self, name: str) -> int:
        self._epochs[name] = new_session_epoch()
        return self._epochs[name]

    async def get_coop_settings(self) -> dict[str, str]:
        return dict(self._coop)

    async def set_coop_settings(self, changes: Mapping[str, str]) -> dict[str, str]:
        for name, value in changes.items():
            if value:
                self._coop[name] = value
            else:
                self._coop.pop(name, None)
        return dict(self._coop)

    async def show_by_code(self, code: str) -> str:
        try:
            return self._short[code]
        except KeyError:
            raise NotFound(f"no show with code {code}") from None

    async def get_show(self, show_id: str) -> Show:
        return self._show(show_id)

    async def show_state(self, show_id: str) -> ShowState:
        show = self._show(show_id)
        return ShowState(
            show=show, products=tuple(self._shown(self._products[pid]) for pid in show.lineup)
        )

    def _check_additions(self, lineup: tuple[str, ...], current: tuple[str, ...]) -> None:
        """Every id names a product; one not already in the lineup must not be archived."""
        for pid in lineup:
            product = self._products.get(pid)
            if product is None:
                raise Invalid(f"unknown product id: {pid}")
            if product.archived and pid not in current:
                raise Invalid(f"product {pid} is archived: it cannot join a lineup")

    def _open_show(self, show_id: str) -> Show:
        """The show, if its sale may still change (an ended show is final)."""
        show = self._show(show_id)
        domain.check_not_ended(show)
        return show

    def _lineup_product(self, show: Show, product_id: str) -> None:
        if product_id not in show.lineup:
            raise Invalid(f"product {product_id} is not in the show's lineup")

    async def set_featured(self, show_id: str, product_id: str | None) -> Show:
        show = self._open_show(show_id)
        event = partial(events.Featured, product_id=product_id)
        if product_id is None:
            return self._discrete(show_id, event, featured_product_id=None)
        self._lineup_product(show, product_id)
        return self._discrete(
            show_id, event, featured_product_id=product_id, on_sale=show.on_sale | {product_id}
        )

    async def set_ordering(self, show_id: str, open_: bool) -> Show:
        show = self._show(show_id)
        if show.ended and not open_:
            return show  # closed for good already
        domain.check_not_ended(show)
        # The on-sale flags stay: opening again resumes the sale as it was.
        return self._discrete(show_id, partial(events.Ordering, open=open_), ordering_open=open_)

    async def set_on_sale(self, show_id: str, product_id: str, on_sale: bool) -> Show:
        show = self._open_show(show_id)
        self._lineup_product(show, product_id)
        new = show.on_sale | {product_id} if on_sale else show.on_sale - {product_id}
        event = partial(events.OnSale, product_id=product_id, on_sale=on_sale)
        return self._discrete(show_id, event, on_sale=new)

    async def set_deal(self, show_id: str, product_id: str, deal: Deal | None) -> Show:
        show = self._open_show(show_id)
        self._lineup_product(show, product_id)
        deals = dict(show.deals)
        if deal is None:
            deals.pop(product_id, None)
        else:
            deals[product_id] = deal
        event = partial(
            events.DealChanged,
            product_id=product_id,
            deal_price=deal.price if deal else None,
            deal_ends_at=deal.ends_at if deal else None,
        )
        return self._discrete(show_id, event, deals=MappingProxyType(deals))

    async def set_lineup(self, show_id: str, product_ids: tuple[str, ...]) -> Show:
        show = self._open_show(show_id)
        domain.check_lineup(product_ids)
        self._check_additions(product_ids, show.lineup)
        if product_ids == show.lineup:
            return show
        removed = set(show.lineup) - set(product_ids)
        for pid in removed:
            self._product_shows[pid].discard(show_id)
        for pid in set(product_ids) - set(show.lineup):
            self._product_shows[pid].add(show_id)
        featured = show.featured_product_id
        return self._discrete(
            show_id,
            events.LineupChanged,
            lineup=product_ids,
            on_sale=show.on_sale - removed,
            featured_product_id=None if featured in removed else featured,
            deals=MappingProxyType({k: v for k, v in show.deals.items() if k not in removed}),
        )

    async def set_toasts(self, show_id: str, on: bool) -> Show:
        self._open_show(show_id)
        return self._discrete(show_id, partial(events.Toasts, on=on), toasts=on)

    async def end_show(self, show_id: str) -> Show:
        if self._show(show_id).ended:
            return self._shows[show_id]  # ending again changes nothing
        return self._discrete(
            show_id,
            events.ShowEnded,
            ended=True,
            ordering_open=False,
            on_sale=frozenset(),
            featured_product_id=None,
        )

    async def set_overlay_key(self, show_id: str, overlay_key: str) -> Show:
        self._show(show_id)
        show = self._bump(show_id, overlay_key=overlay_key)
        digest = events.key_digest(overlay_key)
        self.bus.publish(show_id, events.OverlayKeyRotated(seq=show.seq, key_digest=digest))
        return show

    # --- orders ----------------------------------------------------------------------------

    async def place_order(
        self, request: OrderRequest, *, send_by: float | None = None
    ) -> OrderAccepted:
        # The step runs now, all at once; a caller held up before it (a slowed event loop)
        # is past its deadline here, and the step is withdrawn untouched, as on Redis.
        if send_by is not None and time.monotonic() > send_by:
            raise Busy("the order waited too long here to be placed; nothing was applied")
        show = self._show(request.show_id)
        idem_key = (request.buyer, request.key)
        record = self._idem.get(idem_key)
        if record is not None and record.expires_at <= request.now:
            del self._idem[idem_key]
            record = None
        if record is not None:
            earlier = self._orders[record.order_id]
            if not domain.is_same_order(earlier, request):
                raise OrderRefused(Reason.INVALID, detail="this key was used for a different order")
            now_product = self._products[earlier.product_id]
            earlier_option = domain.find_option(now_product, earlier.option_id)
            stock = earlier_option.stock if earlier_option else now_product.stock
            return OrderAccepted(order=earlier, created=False, stock=stock, seq=show.seq)

        product = self._products.get(request.product_id)
        if product is not None and product.parts:  # bundles (issue 13)
            return self._place_box_order(request, show, product)
        option = domain.find_option(product, request.option_id) if product else None
        # The stock an order takes: its option's for a product with options.
        cell = option or product
        stock_here = cell.stock if cell else 0
        room = domain.preorder_room(stock_here, cell.preorder_cap, cell.preordered) if cell else 0
        bought = self._bought.get((request.buyer, request.product_id), 0)
        self._forget_expired_profiles()
        phone = self._phone_of.get(request.buyer, "")
        phone_units = self._phone_bought.get((phone, request.product_id), 0) if phone else 0
        reason = domain.order_refusal(
            ordering_open=show.ordering_open and not show.ended,
            in_lineup=product is not None and request.product_id in show.lineup,
            on_sale=request.product_id in show.on_sale,
            stock=stock_here,
            qty=request.qty,
            bought=max(bought, phone_units),  # every token tied to the phone counts
            limit_per_buyer=product.limit_per_buyer if product else None,
            option_ok=product is None
            or domain.option_choice_refusal(product, request.option_id) is None,
            preorder_room=room,
        )
        if reason is not None or product is None:
            reason = reason or Reason.NOT_ON_SALE
            # Stock is told only where it explains the refusal (as the Redis backend does).
            told = product is not None and reason in (Reason.SOLD_OUT, Reason.LIMIT_EXCEEDED)
            if reason is Reason.INVALID:
                raise OrderRefused(reason, detail=domain.OPTION_CHOICE)
            raise OrderRefused(reason, stock=stock_here if told else None)

        price = domain.option_unit_price(product, option, show.deals.get(product.id), request.now)
        # Once the stock is gone, an accepted order is a pre-order of the next harvest.
        preorder = stock_here <= 0
        ships_from, harvests = (option or product).ships_from, (option or product).harvests
        number = self._order_numbers.get(show.id, 0) + 1
        self._order_numbers[show.id] = number
        order = Order(
            id=request.order_id,
            show_id=show.id,
            product_id=product.id,
            buyer=request.buyer,
            qty=request.qty,
            price=price,
            currency=product.currency,
            status=OrderStatus.CLAIMED,
            created_at=request.now,
            key=request.key,
            number=number,
            ip=request.ip,
            option_id=option.id if option else None,
            option_name=option.name if option else "",
            preorder=preorder,
            ships_from=ships_from if preorder else "",
            harvest=harvests + 1 if preorder else 0,
            expires_at=domain.hold_deadline(show.hold_seconds, request.now),  # holds (issue 14)
        )
        self._orders[order.id] = order
        if order.expires_at is not None:
            heapq.heappush(self._deadlines, (order.expires_at, order.id))
        self._show_orders[show.id].append(order.id)
        self._buyer_orders.setdefault(request.buyer, []).append(order.id)
        self._idem[idem_key] = _IdemRecord(order.id, request.now + domain.IDEMPOTENCY_TTL)
        self._bought[(request.buyer, product.id)] = bought + request.qty
        if phone:
            self._phone_bought[(phone, product.id)] = phone_units + request.qty
        self._profile_expiry.pop(request.buyer, None)  # the token has an order: details stay
        taken = 0 if preorder else request.qty
        waiting = request.qty if preorder else 0
        if option is not None:
            option = dataclasses.replace(
                option,
                stock=option.stock - taken,
                sold=option.sold + request.qty,
                preordered=option.preordered + waiting,
            )
            product = domain.with_option(product, option)
            stock_here = option.stock
        else:
            product = dataclasses.replace(
                product,
                stock=product.stock - taken,
                sold=product.sold + request.qty,
                preordered=product.preordered + waiting,
            )
            stock_here = product.stock
        product = dataclasses.replace(product, version=product.version + 1)
        self._products[product.id] = product
        show = self._bump_holders(product, show.id)
        self._announce_order(show, product, order)
        return OrderAccepted(order=order, created=True, stock=stock_here, seq=show.seq)

    def _announce_order(self, show: Show, product: Product, order: Order) -> None:
        """The order event on its show: the stock it left, and the sale for a toast."""
        # No toast at all (and so no buyer name or city) when the show's toasts are off.
        name, city = None, None
        if show.toasts:
            name, city = domain.toast_fields(self._profiles.get(order.buyer))
        self.bus.publish(
            show.id,
            events.OrderPlaced(
                seq=show.seq,
                product_id=product.id,
                stock=product.stock,
                sold=product.sold,
                version=product.version,
                qty=order.qty,
                name=name,
                city=city,
                toast=show.toasts,
                options=events.Stock.options_of(product),
                preordered=product.preordered,
                option_id=order.option_id,
            ),
        )

    def _order(self, order_id: str) -> Order:
        try:
            return self._orders[order_id]
        except KeyError:
            raise NotFound(f"no order {order_id}") from None

    async def get_order(self, order_id: str) -> Order:
        return self._order(order_id)

    async def list_orders(self, show_id: str) -> list[Order]:
        self._show(show_id)
        return [self._orders[oid] for oid in self._show_orders[show_id]]

    async def cancel_order(self, order_id: str) -> tuple[Order, bool]:
        order = self._order(order_id)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            return order, False
        domain.check_cancellable(order)
        return self._give_back(order, OrderStatus.CANCELLED), True

    # --- holds (issue 14) ------------------------------------------------------------------

    async def expire_orders(self, now: float, limit: int = 100) -> list[Order]:
        expired: list[Order] = []
        while self._deadlines and self._deadlines[0][0] <= now and len(expired) < limit:
            _, order_id = heapq.heappop(self._deadlines)
            order = self._orders[order_id]
            if domain.hold_due(order, now):
                expired.append(self._give_back(order, OrderStatus.EXPIRED))
        return expired

    async def pay_orders(self, order_ids: Sequence[str], now: float) -> list[Order]:
        orders = [self._order(oid) for oid in order_ids]
        for order in orders:
            if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED):
                continue
            if order.status is not OrderStatus.CLAIMED or domain.hold_due(order, now):
                raise Conflict(f"order {order.id} is {order.status}: {domain.HOLD_EXPIRED}")
        paid = [
            dataclasses.replace(o, status=OrderStatus.PAID)
            if o.status is OrderStatus.CLAIMED
            else o
            for o in orders
        ]
        for order in paid:
            self._orders[order.id] = order
        if paid:
            self._bump(paid[0].show_id)
        return paid

    async def set_payment_notice(self, show_id: str, buyer: str, notice: Mapping[str, str]) -> None:
        self._show(show_id)
        self._notices.setdefault(show_id, {})[buyer] = dict(notice)

    async def payment_notices(self, show_id: str) -> dict[str, dict[str, str]]:
        return {b: dict(n) for b, n in self._notices.get(show_id, {}).items()}

    def _give_back(self, order: Order, status: OrderStatus) -> Order:
        """Cancel or expire: the order's units go back, once (the caller checked its status)."""
        order = dataclasses.replace(order, status=status)
        self._orders[order.id] = order
        product = self._products[order.product_id]
        if product.parts:  # bundles (issue 13)
            return self._give_back_box(order, product)
        option = domain.find_option(product, order.option_id)
        # A pre-order still waiting for its harvest gives back its pre-order room; any other
        # order (a pre-order whose harvest came too) its stock.
        cell = option or product
        waiting = order.qty if order.preorder and order.harvest == cell.harvests + 1 else 0
        back = order.qty - waiting
        if option is not None:
            option = dataclasses.replace(
                option,
                stock=option.stock + back,
                sold=option.sold - order.qty,
                preordered=option.preordered - waiting,
            )
            product = domain.with_option(product, option)
        else:
            product = dataclasses.replace(
                product,
                stock=product.stock + back,
                sold=product.sold - order.qty,
                preordered=product.preordered - waiting,
            )
        product = dataclasses.replace(product, version=product.version + 1)
        self._products[product.id] = product
        key = (order.buyer, order.product_id)
        self._bought[key] = max(0, self._bought.get(key, 0) - order.qty)
        self._add_phone_units(self._phone_of.get(order.buyer, ""), order.product_id, -order.qty)
        show = self._bump_holders(product, order.show_id)
        self.bus.publish(order.show_id, self._stock_event(product, show.seq))
        return order

    # --- bundles (issue 13) ----------------------------------------------------------------

    def _shown(self, product: Product) -> Product:
        """A product as read: a gift box with the stock its parts allow now."""
        return domain.with_bundle_stock(product, self._products)

    async def set_parts(self, product_id: str, parts: tuple[domain.Part, ...]) -> Product:
        box = self._product(product_id)
        domain.check_parts_change(box)
        for part in box.parts:
            self._boxes_of[part.product_id].discard(box.id)
        updated = dataclasses.replace(box, parts=parts, version=box.version + 1)
        self._know_box(updated)
        self._publish_product(self._shown(updated), edited=True)
        return self._shown(updated)

    def _know_box(self, product: Product) -> None:
        for part in product.parts:
            self._boxes_of.setdefault(part.product_id, set()).add(product.id)

    def _tell_boxes(self, product_id: str, *, but: str = "") -> None:
        """The product's stock changed: every box holding it (but `but`) shows the stock it
        allows now, on every show holding the box, when that differs from what was told."""
        for box_id in sorted(self._boxes_of.get(product_id, set()) - {but}):
            box = self._products[box_id]
            stock = domain.bundle_stock(box.parts, self._products)
            if stock == box.stock:
                continue
            box = dataclasses.replace(box, stock=stock, version=box.version + 1)
            self._products[box_id] = box
            for holder in sorted(self._product_shows[box_id]):
                self.bus.publish(holder, self._stock_event(box, self._bump(holder).seq))

    def _place_box_order(self, request: OrderRequest, show: Show, box: Product) -> OrderAccepted:
        """A gift box's order takes every part's units in this one step, or nothing."""
        bought = self._bought.get((request.buyer, box.id), 0)
        phone = self._phone_of.get(request.buyer, "")
        phone_units = self._phone_bought.get((phone, box.id), 0) if phone else 0
        stock = domain.bundle_stock(box.parts, self._products)
        reason = domain.order_refusal(
            ordering_open=show.ordering_open and not show.ended,
            in_lineup=box.id in show.lineup,
            on_sale=box.id in show.on_sale,
            stock=stock,
            qty=request.qty,
            bought=max(bought, phone_units),
            limit_per_buyer=box.limit_per_buyer,
            option_ok=request.option_id is None,
        )
        if reason is Reason.INVALID:
            raise OrderRefused(reason, detail=domain.OPTION_CHOICE)
        if reason is not None:
            told = reason in (Reason.SOLD_OUT, Reason.LIMIT_EXCEEDED)
            raise OrderRefused(reason, stock=stock if told else None)
        number = self._order_numbers.get(show.id, 0) + 1
        self._order_numbers[show.id] = number
        order = Order(
            id=request.order_id,
            show_id=show.id,
            product_id=box.id,
            buyer=request.buyer,
            qty=request.qty,
            price=domain.unit_price(box.price, show.deals.get(box.id), request.now),
            currency=box.currency,
            status=OrderStatus.CLAIMED,
            created_at=request.now,
            key=request.key,
            number=number,
            ip=request.ip,
            expires_at=domain.hold_deadline(show.hold_seconds, request.now),
        )
        self._orders[order.id] = order
        if order.expires_at is not None:
            heapq.heappush(self._deadlines, (order.expires_at, order.id))
        self._show_orders[show.id].append(order.id)
        self._buyer_orders.setdefault(request.buyer, []).append(order.id)
        self._idem[(request.buyer, request.key)] = _IdemRecord(
            order.id, request.now + domain.IDEMPOTENCY_TTL
        )
        self._bought[(request.buyer, box.id)] = bought + request.qty
        if phone:
            self._phone_bought[(phone, box.id)] = phone_units + request.qty
        self._profile_expiry.pop(request.buyer, None)
        box = self._move_box_units(box, -request.qty, show.id)
        show = self._shows[show.id]
        self._announce_order(show, box, order)
        return OrderAccepted(order=order, created=True, stock=box.stock, seq=show.seq)

    def _give_back_box(self, order: Order, box: Product) -> Order:
        key = (order.buyer, box.id)
        self._bought[key] = max(0, self._bought.get(key, 0) - order.qty)
        self._add_phone_units(self._phone_of.get(order.buyer, ""), box.id, -order.qty)
        box = self._move_box_units(box, order.qty, order.show_id)
        show = self._shows[order.show_id]
        self.bus.publish(order.show_id, self._stock_event(box, show.seq))
        return order

    def _move_box_units(self, box: Product, boxes: int, show_id: str) -> Product:
        """Take (boxes < 0) or give back `boxes` boxes' units of every part; every show holding
        a part hears its stock, and every other show holding the box the box's stock. The show
        `show_id` is bumped last (its seq is for the caller's own event), as `_bump_holders`."""
        for part in box.parts:
            product = self._products[part.product_id]
            units = part.qty * boxes
            option = domain.find_option(product, part.option_id)
            if option is not None:
                moved = dataclasses.replace(
                    option, stock=option.stock + units, sold=option.sold - units
                )
                product = domain.with_option(product, moved)
            else:
                product = dataclasses.replace(
                    product, stock=product.stock + units, sold=product.sold - units
                )
            product = dataclasses.replace(product, version=product.version + 1)
            self._products[product.id] = product
            for holder in sorted(self._product_shows[product.id]):
                self.bus.publish(holder, self._stock_event(product, self._bump(holder).seq))
            self._tell_boxes(product.id, but=box.id)
        box = dataclasses.replace(box, sold=box.sold - boxes, version=box.version + 1)
        shown = self._shown(box)
        self._products[box.id] = shown  # its stock as of now, as Redis keeps it
        self._bump_holders(shown, show_id)
        return shown

    async def buyer_orders(self, buyer: str, show_id: str) -> list[Order]:
        orders = (self._orders[oid] for oid in self._buyer_orders.get(buyer, []))
        return [o for o in orders if o.show_id == show_id]

    async def set_profile(self, buyer: str, profile: Profile, *, phone_key: str = "") -> None:
        self._forget_expired_profiles()
        old = self._phone_of.get(buyer, "")
        if old != phone_key:
            # The token's units so far move with it: off the phone it was tied to, onto the new.
            held: Counter[str] = Counter()
            for oid in self._buyer_orders.get(buyer, []):
                o = self._orders[oid]
                if o.status not in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
                    held[o.product_id] += o.qty
            for product_id, units in held.items():
                self._add_phone_units(old, product_id, -units)
                self._add_phone_units(phone_key, product_id, units)
        if phone_key:
            self._phone_of[buyer] = phone_key
        else:
            self._phone_of.pop(buyer, None)
        self._profiles[buyer] = profile
        if buyer in self._buyer_orders:
            self._profile_expiry.pop(buyer, None)
        else:
            expires_at = time.monotonic() + self._profile_ttl
            self._profile_expiry[buyer] = expires_at
            self._expiring.append((expires_at, buyer))

    def _add_phone_units(self, phone: str, product_id: str, units: int) -> None:
        if not phone:
            return
        left = self._phone_bought.get((phone, product_id), 0) + units
        if left > 0:
            self._phone_bought[(phone, product_id)] = left
        else:
            self._phone_bought.pop((phone, product_id), None)

    def _forget_expired_profiles(self) -> None:
        """Drop the details (and phone tie) of tokens that got no order within the TTL. The
        TTL is fixed, so `_expiring` is in expiry order; an entry whose token got an order or
        saved again since then no longer matches `_profile_expiry` and is skipped."""
        now = time.monotonic()
        while self._expiring and self._expiring[0][0] <= now:
            expires_at, buyer = self._expiring.popleft()
            if self._profile_expiry.get(buyer) == expires_at:
                del self._profile_expiry[buyer]
                self._profiles.pop(buyer, None)
                self._phone_of.pop(buyer, None)

    async def get_profiles(self, buyers: list[str]) -> dict[str, Profile]:
        self._forget_expired_profiles()
        return {b: self._profiles[b] for b in buyers if b in self._profiles}

    async def set_order_status(
        self, order_id: str, status: OrderStatus, *, unpaid: bool = False, now: float | None = None
    ) -> Order:
        order = self._order(order_id)
        if now is not None and status is not order.status and domain.hold_due(order, now):
            raise Conflict(domain.HOLD_EXPIRED)  # holds (issue 14): due, so it can only expire
        cod = domain.check_status_change(order.status, status, unpaid=unpaid)
        if order.status is status:
            return order
        shipped_at = time.time() if status is OrderStatus.SHIPPED else order.shipped_at
        order = dataclasses.replace(
            order, status=status, cash_on_delivery=cod, shipped_at=shipped_at
        )
        self._orders[order_id] = order
        self._bump(order.show_id)
        return order

    # --- data lifecycle (issue 16) ---------------------------------------------------------

    async def export_data(self) -> DataSet:
        self._forget_expired_profiles()
        lots, lot_choices, labels = self._export_trust()  # authenticity (issue 15)
        return DataSet(
            products=tuple(self._products.values()),
            shows=tuple(self._shows.values()),
            orders=tuple(self._orders[oid] for ids in self._show_orders.values() for oid in ids),
            buyers=tuple(
                BuyerData(buyer, profile, self._phone_of.get(buyer, ""))
                for buyer, profile in self._profiles.items()
            ),
            settings=dict(self._coop),
            accounts=dict(self._users),
            lots=lots,
            lot_choices=lot_choices,
            labels=labels,
            notices={s: {b: dict(n) for b, n in by.items()} for s, by in self._notices.items()},
        )

    async def import_data(self, data: DataSet, *, replace: bool = False) -> None:
        if (self._products or self._shows or self._users) and not replace:
            raise Conflict("the store is not empty: import into an empty one, or replace")
        if replace:  # everything goes, except the bus its feeds listen on
            bus = self.bus
            MemoryStore.__init__(self, profile_ttl=self._profile_ttl)
            self.bus = bus
        now = time.time()
        self._products.update((p.id, p) for p in data.products)
        for product in data.products:
            self._product_shows.setdefault(product.id, set())
            self._know_box(product)  # bundles (issue 13)
        for show in data.shows:
            self._shows[show.id] = show
            self._show_orders.setdefault(show.id, [])
            if show.short_code:
                self._short[show.short_code] = show.id
            for pid in show.lineup:
                self._product_shows.setdefault(pid, set()).add(show.id)
        for order in data.orders:
            self._orders[order.id] = order
            self._show_orders.setdefault(order.show_id, []).append(order.id)
            self._buyer_orders.setdefault(order.buyer, []).append(order.id)
            numbers = self._order_numbers
            numbers[order.show_id] = max(numbers.get(order.show_id, 0), order.number)
            if order.created_at + domain.IDEMPOTENCY_TTL > now:
                expires_at = order.created_at + domain.IDEMPOTENCY_TTL
                self._idem[(order.buyer, order.key)] = _IdemRecord(order.id, expires_at)
        self._bought = Counter()
        for order in self._orders.values():
            if order.status not in domain.RELEASED:
                self._bought[(order.buyer, order.product_id)] += order.qty
        for entry in data.buyers:
            self._profiles[entry.buyer] = entry.profile
            if entry.phone_key:
                self._phone_of[entry.buyer] = entry.phone_key
            if entry.buyer not in self._buyer_orders:
                expires_at = time.monotonic() + self._profile_ttl
                self._profile_expiry[entry.buyer] = expires_at
                self._expiring.append((expires_at, entry.buyer))
        self._phone_bought = {}
        for (buyer, product_id), units in self._bought.items():
            self._add_phone_units(self._phone_of.get(buyer, ""), product_id, units)
        self._coop.update(data.settings)
        self._users.update(data.accounts)
        self._import_trust(data.lots, data.lot_choices, data.labels)  # authenticity (issue 15)
        # holds (issue 14): claims that may still expire, and the payment notices
        for order in data.orders:
            if order.status is OrderStatus.CLAIMED and order.expires_at is not None:
                heapq.heappush(self._deadlines, (order.expires_at, order.id))
        for show_id, by_buyer in data.notices.items():
            self._notices[show_id] = {b: dict(n) for b, n in by_buyer.items()}

    async def buyers_with_details(self) -> dict[str, str]:
        self._forget_expired_profiles()
        return {buyer: self._phone_of.get(buyer, "") for buyer in self._profiles}

    async def forget_buyer(self, buyer: str, *, settled_before: float | None = None) -> bool:
        orders = [self._orders[oid] for oid in self._buyer_orders.get(buyer, [])]
        if settled_before is not None and not domain.settled_before(orders, settled_before):
            return False
        had = buyer in self._profiles or buyer in self._phone_of
        had |= any(o.ip for o in orders)
        phone = self._phone_of.pop(buyer, "")
        for order in orders:
            if order.status not in domain.RELEASED:
                self._add_phone_units(phone, order.product_id, -order.qty)
            if order.ip:
                self._orders[order.id] = dataclasses.replace(order, ip="")
        self._profiles.pop(buyer, None)
        self._profile_expiry.pop(buyer, None)
        return had
