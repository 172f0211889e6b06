"""The memory backend's authenticity steps (issue 15): lots, labels, scans, verification,
feedback. Mixed into `MemoryStore`; like every memory step, none awaits inside."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from live.authenticity import (
    LOT_FIELDS,
    Feedback,
    Label,
    Lot,
    LotChoices,
    Verification,
    pin_matches,
    unit_key,
)
from live.domain import Order, Product, Show
from live.errors import Conflict, Invalid, InvalidPin, NotFound, RateLimited

# Distinct devices kept per serial: far past the flag, so a flood can't grow memory.
_MAX_DEVICES = 1_000


@dataclass
class TrustTables:
    lots: dict[str, Lot] = field(default_factory=dict)
    show_lots: dict[str, dict[str, str]] = field(default_factory=dict)  # show -> product -> lot
    order_lots: dict[str, dict[str, str]] = field(default_factory=dict)  # show -> order -> lot
    labels: dict[str, Label] = field(default_factory=dict)  # serial -> label
    show_labels: dict[str, list[str]] = field(default_factory=dict)  # show -> serials
    units: dict[str, dict[str, str]] = field(default_factory=dict)  # show -> unit key -> serial
    devices: dict[str, set[str]] = field(default_factory=dict)
    wrong: dict[str, tuple[int, float]] = field(default_factory=dict)  # serial -> (n, until)
    feedback: list[str] = field(default_factory=list)  # serials, oldest first


class MemoryTrust:
    # Owned by MemoryStore.
    _trust: TrustTables
    _products: dict[str, Product]
    _shows: dict[str, Show]
    _orders: dict[str, Order]

    def _trust_show(self, show_id: str) -> None:
        if show_id not in self._shows:
            raise NotFound(f"no show {show_id}")

    def _trust_lot(self, lot_id: str) -> Lot:
        try:
            return self._trust.lots[lot_id]
        except KeyError:
            raise NotFound(f"no lot {lot_id}") from None

    def _trust_label(self, serial: str) -> Label:
        label = self._trust.labels.get(serial)
        if label is None:
            raise NotFound("no label with that serial")
        return dataclasses.replace(label, devices=len(self._trust.devices.get(serial, ())))

    async def create_lot(self, lot: Lot) -> Lot:
        if lot.product_id not in self._products:
            raise NotFound(f"no product {lot.product_id}")
        if lot.id in self._trust.lots:
            raise Invalid(f"lot {lot.id} exists")
        self._trust.lots[lot.id] = lot
        return lot

    async def update_lot(self, lot_id: str, changes: Mapping[str, str]) -> Lot:
        lot = self._trust_lot(lot_id)
        unknown = set(changes) - set(LOT_FIELDS)
        if unknown:
            raise Invalid(f"not editable: {', '.join(sorted(unknown))}")
        lot = dataclasses.replace(lot, **changes)  # type: ignore[arg-type]  # names checked
        self._trust.lots[lot_id] = lot
        return lot

    async def get_lot(self, lot_id: str) -> Lot:
        return self._trust_lot(lot_id)

    async def list_lots(self, product_id: str | None = None) -> list[Lot]:
        lots = self._trust.lots.values()
        return [lot for lot in lots if product_id is None or lot.product_id == product_id]

    async def set_show_lot(self, show_id: str, product_id: str, lot_id: str | None) -> None:
        self._trust_show(show_id)
        defaults = self._trust.show_lots.setdefault(show_id, {})
        if lot_id:
            defaults[product_id] = lot_id
        else:
            defaults.pop(product_id, None)

    async def set_order_lot(self, show_id: str, order_id: str, lot_id: str | None) -> None:
        self._trust_show(show_id)
        chosen = self._trust.order_lots.setdefault(show_id, {})
        if lot_id:
            chosen[order_id] = lot_id
        else:
            chosen.pop(order_id, None)

    async def lot_choices(self, show_id: str) -> LotChoices:
        self._trust_show(show_id)
        return LotChoices(
            defaults=dict(self._trust.show_lots.get(show_id, {})),
            orders=dict(self._trust.order_lots.get(show_id, {})),
        )

    async def issue_labels(self, show_id: str, drafts: Sequence[Label]) -> list[Label]:
        self._trust_show(show_id)
        units = self._trust.units.setdefault(show_id, {})
        new = [d for d in drafts if unit_key(d.order_id, d.unit) not in units]
        if any(d.serial in self._trust.labels for d in new):
            raise Conflict("a serial is taken; draw new ones")
        for draft in new:
            key = unit_key(draft.order_id, draft.unit)
            if key in units:  # two drafts for one unit: the first wins
                continue
            units[key] = draft.serial
            self._trust.labels[draft.serial] = draft
            self._trust.show_labels.setdefault(show_id, []).append(draft.serial)
        return await self.list_labels(show_id)

    async def list_labels(self, show_id: str) -> list[Label]:
        self._trust_show(show_id)
        return [self._trust_label(s) for s in self._trust.show_labels.get(show_id, [])]

    async def get_label(self, serial: str) -> Label:
        return self._trust_label(serial)

    async def record_scan(self, serial: str, device: str, now: float) -> Label:
        label = self._trust_label(serial)
        devices = self._trust.devices.setdefault(serial, set())
        if len(devices) < _MAX_DEVICES:
            devices.add(device)
        label = dataclasses.replace(
            label,
            scans=label.scans + 1,
            first_scan_at=label.first_scan_at if label.first_scan_at is not None else now,
        )
        self._trust.labels[serial] = dataclasses.replace(label, devices=0)
        return dataclasses.replace(label, devices=len(devices))

    def _check_pin(self, label: Label, pin: str, now: float, max_wrong: int, window: float) -> None:
        """The PIN rule shared by verification and feedback (see `Store.verify_label`)."""
        count, until = self._trust.wrong.get(label.serial, (0, 0.0))
        if until <= now:
            count, until = 0, 0.0
        if count >= max_wrong:
            raise RateLimited("too many wrong PINs for this label; try again tomorrow")
        if not pin_matches(label.pin, pin):
            self._trust.wrong[label.serial] = (count + 1, until or now + window)
            raise InvalidPin("that PIN is not this label's")

    async def verify_label(
        self, serial: str, pin: str, now: float, *, max_wrong: int, window: float
    ) -> Verification:
        label = self._trust_label(serial)
        self._check_pin(label, pin, now, max_wrong, window)
        if label.verified_at is not None:
            return Verification(verified_at=label.verified_at, first=False)
        self._trust.labels[serial] = dataclasses.replace(label, verified_at=now, devices=0)
        return Verification(verified_at=now, first=True)

    async def add_feedback(
        self, serial: str, pin: str, feedback: Feedback, *, max_wrong: int, window: float
    ) -> Feedback:
        label = self._trust_label(serial)
        self._check_pin(label, pin, feedback.at, max_wrong, window)
        if label.verified_at is None:
            raise Conflict("verify the label with its PIN first")
        if label.feedback is not None:
            raise Conflict("this unit has been rated already")
        self._trust.labels[serial] = dataclasses.replace(label, feedback=feedback, devices=0)
        self._trust.feedback.append(serial)
        return feedback

    async def list_feedback(self) -> list[tuple[str, Feedback]]:
        out = []
        for serial in self._trust.feedback:
            feedback = self._trust.labels[serial].feedback
            if feedback is not None:
                out.append((serial, feedback))
        return out

    # --- data lifecycle: what `export_data` carries and `import_data` rebuilds ------------------

    def _export_trust(self) -> tuple[tuple[Lot, ...], dict[str, LotChoices], tuple[Label, ...]]:
        t = self._trust
        choices = {
            show_id: LotChoices(
                defaults=dict(t.show_lots.get(show_id, {})),
                orders=dict(t.order_lots.get(show_id, {})),
            )
            for show_id in self._shows
            if t.show_lots.get(show_id) or t.order_lots.get(show_id)
        }
        labels = tuple(
            self._trust_label(serial)
            for show_id in self._shows
            for serial in t.show_labels.get(show_id, [])
        )
        return tuple(t.lots.values()), choices, labels

    def _import_trust(
        self, lots: Sequence[Lot], choices: Mapping[str, LotChoices], labels: Sequence[Label]
    ) -> None:
        t = self._trust
        t.lots.update((lot.id, lot) for lot in lots)
        for show_id, chosen in choices.items():
            t.show_lots.setdefault(show_id, {}).update(chosen.defaults)
            t.order_lots.setdefault(show_id, {}).update(chosen.orders)
        for label in labels:
            t.labels[label.serial] = dataclasses.replace(label, devices=0)
            t.show_labels.setdefault(label.show_id, []).append(label.serial)
            t.units.setdefault(label.show_id, {})[unit_key(label.order_id, label.unit)] = (
                label.serial
            )
            # The device tags themselves are not exported (a HyperLogLog can't list them): as
            # many placeholders as were counted, never equal to a real tag (16 hex digits).
            count = min(label.devices, _MAX_DEVICES)
            t.devices[label.serial] = {f"moved-{i}" for i in range(count)}
        # Oldest rating first, as they were added.
        rated = [(lb.feedback.at, lb.serial) for lb in labels if lb.feedback is not None]
        t.feedback.extend(serial for _, serial in sorted(rated, key=lambda pair: pair[0]))
