"""Authenticity use cases (issue 15): lots, labels, verification, feedback, quality, recalls.

`Service.trust` is one of these. Like the service, it decides: it checks ids, PINs, ratings and
the per-address limit on wrong PINs, picks serials, PINs and clocks, and calls one atomic store
step. The rules are in live/authenticity.py; docs/authenticity.md explains the scheme.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from live import authenticity as au
from live.authenticity import Feedback, Label, Lot, LotChoices, Quality, Verification
from live.backends import Store
from live.domain import ID_RE, Order, Product, Profile, Show
from live.errors import Conflict, Invalid, InvalidPin, NotFound, RateLimited, Unavailable
from live.ratelimit import RateLimiter, address_bucket

T = TypeVar("T")

LotName = Annotated[str, Meta(min_length=1, max_length=au.MAX_LOT_TEXT)]
LotText = Annotated[str, Meta(max_length=au.MAX_LOT_TEXT)]
LotNotes = Annotated[str, Meta(max_length=au.MAX_LOT_NOTES)]
LotId = Annotated[str, Meta(pattern=ID_RE.pattern)]


class LotBody(msgspec.Struct, forbid_unknown_fields=True):
    name: LotName
    producer: LotText = ""
    date: LotText = ""  # YYYY-MM-DD
    place: LotText = ""
    notes: LotNotes = ""
    image_url: LotNotes = ""


class LotPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: LotName | UnsetType = UNSET
    producer: LotText | UnsetType = UNSET
    date: LotText | UnsetType = UNSET
    place: LotText | UnsetType = UNSET
    notes: LotNotes | UnsetType = UNSET
    image_url: LotNotes | UnsetType = UNSET

    def changes(self) -> dict[str, str]:
        return {f: v for f in self.__struct_fields__ if isinstance(v := getattr(self, f), str)}


class ShowLotBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: LotId
    lot_id: LotId | None


class OrderLotBody(msgspec.Struct, forbid_unknown_fields=True):
    lot_id: LotId | None


class VerifyBody(msgspec.Struct, forbid_unknown_fields=True):
    pin: Annotated[str, Meta(max_length=32)]


class FeedbackBody(msgspec.Struct, forbid_unknown_fields=True):
    pin: Annotated[str, Meta(max_length=32)]
    rating: int
    note: Annotated[str, Meta(max_length=au.MAX_NOTE)] = ""


@dataclass(frozen=True, slots=True)
class Unit:
    """What the public page of a serial shows: the unit, never its buyer."""

    label: Label
    product: Product
    lot: Lot | None

    @property
    def producer(self) -> str:
        return (self.lot.producer if self.lot else "") or self.product.producer


@dataclass(frozen=True, slots=True)
class QualityReport:
    by_lot: list[tuple[Lot | None, Quality]]  # None: units rated before any lot was chosen
    by_producer: list[Quality]


@dataclass(frozen=True, slots=True)
class TraceRow:
    show: Show
    order: Order
    serials: tuple[str, ...]
    profile: Profile | None


def new_lot_id() -> str:
    return "l" + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


def checked_serial(text: str) -> str:
    """A serial from a URL or a form; one that cannot be ours is simply not found."""
    serial = au.clean_serial(text)
    if serial is None:
        raise NotFound("no label with that serial")
    return serial


def _id(value: str, what: str) -> str:
    if not ID_RE.match(value):
        raise NotFound(f"no {what} {value[:64]!r}")
    return value


class Trust:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        # Wrong PINs per client address, across serials (a slow trickle of 20 an hour).
        self.address_pins = RateLimiter(au.ADDRESS_WRONG_PINS / 3600, au.ADDRESS_WRONG_PINS)

    # --- the co-op on labels ------------------------------------------------------------------

    async def coop(self) -> tuple[str, str]:
        """The co-op's name and story as labels and the public page show them (console
        settings `coop_name`, `coop_story`; empty when not set)."""
        settings = await self.store.get_coop_settings()
        return settings.get("coop_name", ""), settings.get("coop_story", "")

    async def set_coop(self, name: str, story: str) -> None:
        name, story = name.strip(), story.strip()
        if len(name) > au.MAX_LOT_TEXT:
            raise Invalid(f"the name is over {au.MAX_LOT_TEXT} characters", field="name")
        if len(story) > au.MAX_LOT_NOTES:
            raise Invalid(f"the story is over {au.MAX_LOT_NOTES} characters", field="story")
        await self.store.set_coop_settings({"coop_name": name, "coop_story": story})

    # --- lots --------------------------------------------------------------------------------

    async def create_lot(self, product_id: str, body: LotBody) -> Lot:
        product = await self.store.get_product(_id(product_id, "product"))
        fields = au.check_lot_fields({f: getattr(body, f) for f in au.LOT_FIELDS})
        if not fields.get("producer"):
            fields["producer"] = product.producer
        lot = Lot(id=new_lot_id(), product_id=product.id, created_at=self.clock(), **fields)
        return await self.store.create_lot(lot)

    async def update_lot(self, lot_id: str, patch: LotPatch) -> Lot:
        changes = au.check_lot_fields(patch.changes())
        return await self.store.update_lot(_id(lot_id, "lot"), changes)

    async def get_lot(self, lot_id: str) -> Lot:
        return await self.store.get_lot(_id(lot_id, "lot"))

    async def lots(self, product_id: str | None = None) -> list[Lot]:
        if product_id is not None:
            await self.store.get_product(_id(product_id, "product"))
        return await self.store.list_lots(product_id)

    async def _lot_of_product(self, lot_id: str | None, product_id: str) -> None:
        if lot_id is None:
            return
        lot = await self.get_lot(lot_id)
        if lot.product_id != product_id:
            raise Invalid(f"lot {lot_id} is not a lot of product {product_id}", field="lot_id")

    async def set_show_lot(self, show_id: str, body: ShowLotBody) -> LotChoices:
        show = await self.store.get_show(_id(show_id, "show"))
        if body.product_id not in show.lineup:
            raise Invalid(f"product {body.product_id} is not in the show's lineup")
        await self._lot_of_product(body.lot_id, body.product_id)
        await self.store.set_show_lot(show.id, body.product_id, body.lot_id)
        return await self.store.lot_choices(show.id)

    async def set_order_lot(self, order_id: str, body: OrderLotBody) -> LotChoices:
        order = await self.store.get_order(_id(order_id, "order"))
        await self._lot_of_product(body.lot_id, order.product_id)
        await self.store.set_order_lot(order.show_id, order.id, body.lot_id)
        return await self.store.lot_choices(order.show_id)

    async def lot_choices(self, show_id: str) -> LotChoices:
        return await self.store.lot_choices(_id(show_id, "show"))

    # --- labels ------------------------------------------------------------------------------

    async def issue_labels(self, show_id: str) -> list[Label]:
        """A label for every unit of the show's live orders that has none yet; every label of
        the show, old and new, in issue order. Concurrent calls give one set of labels (the
        store drops drafts for units labelled meanwhile)."""
        show = await self.store.get_show(_id(show_id, "show"))
        existing = await self.store.list_labels(show.id)
        labelled = {au.unit_key(label.order_id, label.unit) for label in existing}
        wanted = au.units_to_label(await self.store.list_orders(show.id), labelled)
        if not wanted:
            return existing
        for _ in range(4):  # a taken serial is a 1-in-1e12 event; four in a row, a broken RNG
            now = self.clock()
            drafts = [
                Label(
                    serial=au.new_serial(),
                    pin=au.new_pin(),
                    show_id=show.id,
                    order_id=order.id,
                    unit=unit,
                    product_id=order.product_id,
                    # The option ordered (issue 13); None for a product without options.
                    option_id=order.option_id,
                    option_name=order.option_name or None,
                    issued_at=now,
                )
                for order, unit in wanted
            ]
            try:
                return await self.store.issue_labels(show.id, drafts)
            except Conflict:
                continue
        raise Unavailable("could not draw free serials; try again")

    async def labels(self, show_id: str) -> list[Label]:
        return await self.store.list_labels(_id(show_id, "show"))

    async def _unit(self, label: Label) -> Unit:
        product = await self.store.get_product(label.product_id)
        choices = await self.store.lot_choices(label.show_id)
        lot_id = choices.lot_of(label.order_id, label.product_id)
        lot = None
        if lot_id:
            try:
                lot = await self.store.get_lot(lot_id)
            except NotFound:
                lot = None
        return Unit(label=label, product=product, lot=lot)

    async def view(self, serial_text: str, *, device: str) -> Unit:
        """The unit behind a serial for its public page, counting the view as a scan."""
        label = await self.store.record_scan(checked_serial(serial_text), device, self.clock())
        return await self._unit(label)

    async def unit(self, serial_text: str) -> Unit:
        """The unit behind a serial, without counting a scan."""
        return await self._unit(await self.store.get_label(checked_serial(serial_text)))

    # --- verification and feedback -------------------------------------------------------------

    async def _pin_step(self, address: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run a store step that checks a PIN, within the address's budget of wrong PINs (an
        empty address: an internal caller, not limited). Every try takes one from the budget
        and gets it back unless the PIN was wrong, so only wrong PINs are counted."""
        bucket = address_bucket(address) if address else ""
        if bucket and not self.address_pins.allow(bucket):
            raise RateLimited("too many wrong PINs from this address; wait an hour")
        try:
            result = await step()
        except InvalidPin:
            raise  # a wrong PIN keeps its cost
        except BaseException:
            self._refund(bucket)
            raise
        self._refund(bucket)
        return result

    def _refund(self, bucket: str) -> None:
        if bucket:
            self.address_pins.allow(bucket, cost=-1.0)

    async def verify(self, serial_text: str, pin_text: str, *, address: str = "") -> Verification:
        serial = checked_serial(serial_text)
        pin = au.clean_pin(pin_text)  # a malformed PIN is not a guess: it costs nothing
        return await self._pin_step(
            address,
            lambda: self.store.verify_label(
                serial, pin, self.clock(), max_wrong=au.WRONG_PIN_LIMIT, window=au.WRONG_PIN_WINDOW
            ),
        )

    async def add_feedback(
        self, serial_text: str, body: FeedbackBody, *, address: str = ""
    ) -> Feedback:
        serial = checked_serial(serial_text)
        pin = au.clean_pin(body.pin)
        note = au.check_feedback(body.rating, body.note)
        unit = await self.unit(serial)
        feedback = Feedback(
            rating=body.rating,
            note=note,
            at=self.clock(),
            product_id=unit.product.id,
            lot_id=unit.lot.id if unit.lot else "",
            producer=unit.producer,
        )
        return await self._pin_step(
            address,
            lambda: self.store.add_feedback(
                serial, pin, feedback, max_wrong=au.WRONG_PIN_LIMIT, window=au.WRONG_PIN_WINDOW
            ),
        )

    # --- quality and recalls -------------------------------------------------------------------

    async def quality(self) -> QualityReport:
        feedback = [fb for _, fb in await self.store.list_feedback()]
        lots = {lot.id: lot for lot in await self.store.list_lots()}
        by_lot = au.quality_by(feedback, "lot_id")
        by_producer = au.quality_by(feedback, "producer")
        return QualityReport(
            by_lot=[(lots.get(key), q) for key, q in sorted(by_lot.items())],
            by_producer=[by_producer[key] for key in sorted(by_producer)],
        )

    async def trace(self, lot_id: str) -> tuple[Lot, list[TraceRow]]:
        """Every live order whose units came from the lot (the show's default for its product,
        or the order's own lot), with its serials and its buyer's delivery details: the list a
        recall needs. Host only."""
        lot = await self.get_lot(lot_id)
        rows: list[TraceRow] = []
        for show in reversed(await self.store.list_shows()):  # oldest show first
            choices = await self.store.lot_choices(show.id)
            if lot.id not in choices.defaults.values() and lot.id not in choices.orders.values():
                continue
            orders = [
                o
                for o in await self.store.list_orders(show.id)
                if o.product_id == lot.product_id
                and o.status in au.LABELLED_STATUSES
                and choices.lot_of(o.id, o.product_id) == lot.id
            ]
            if not orders:
                continue
            serials: dict[str, list[str]] = {}
            for label in await self.store.list_labels(show.id):
                serials.setdefault(label.order_id, []).append(label.serial)
            profiles = await self.store.get_profiles(sorted({o.buyer for o in orders}))
            rows += [
                TraceRow(show, o, tuple(serials.get(o.id, ())), profiles.get(o.buyer))
                for o in orders
            ]
        return lot, rows
