"""The Redis backend's authenticity steps (issue 15): lots, labels, scans, verification,
feedback. Mixed into `RedisStore`. What must be atomic runs as one Lua script: issuing labels
(`issue_labels.lua`: a unit labelled once), counting a scan (`scan_label.lua`), checking a PIN
(`check_pin.lua`: the first verification exactly once, one feedback per serial, the wrong-PIN
limit), making and editing a lot (`create_lot.lua`, `update_lot.lua`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis

from live.authenticity import LOT_FIELDS, Feedback, Label, Lot, LotChoices, Verification, unit_key
from live.backends.redis.keys import Keys
from live.errors import Conflict, Invalid, InvalidPin, NotFound, RateLimited


def _lua(name: str) -> str:
    return resources.files("live.backends.redis").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _f(value: str | None) -> float | None:
    return float(value) if value else None


def _lot_fields(lot: Lot) -> dict[str, str]:
    return {
        "id": lot.id,
        "product_id": lot.product_id,
        "created_at": repr(lot.created_at),
        **{name: str(getattr(lot, name)) for name in LOT_FIELDS},
    }


def _lot(h: Mapping[str, str]) -> Lot:
    return Lot(
        id=h["id"],
        product_id=h["product_id"],
        created_at=float(h.get("created_at", "0")),
        **{name: h.get(name, "") for name in LOT_FIELDS},
    )


def _label_fields(label: Label) -> list[str]:
    fields = {
        "serial": label.serial,
        "pin": label.pin,
        "show_id": label.show_id,
        "order_id": label.order_id,
        "unit": str(label.unit),
        "product_id": label.product_id,
        "option_id": label.option_id or "",
        "option_name": label.option_name or "",
        "issued_at": repr(label.issued_at),
    }
    return [x for pair in fields.items() for x in pair]


def _feedback_fields(feedback: Feedback) -> list[str]:
    fields = {
        "fb_rating": str(feedback.rating),
        "fb_note": feedback.note,
        "fb_at": repr(feedback.at),
        "fb_product": feedback.product_id,
        "fb_lot": feedback.lot_id,
        "fb_producer": feedback.producer,
    }
    return [x for pair in fields.items() for x in pair]


def _feedback(h: Mapping[str, str]) -> Feedback | None:
    if not h.get("fb_at"):
        return None
    return Feedback(
        rating=int(h["fb_rating"]),
        note=h.get("fb_note", ""),
        at=float(h["fb_at"]),
        product_id=h.get("fb_product", ""),
        lot_id=h.get("fb_lot", ""),
        producer=h.get("fb_producer", ""),
    )


def _label(h: Mapping[str, str], devices: int) -> Label:
    return Label(
        serial=h["serial"],
        pin=h["pin"],
        show_id=h["show_id"],
        order_id=h["order_id"],
        unit=int(h["unit"]),
        product_id=h["product_id"],
        option_id=h.get("option_id") or None,
        option_name=h.get("option_name") or None,
        issued_at=float(h.get("issued_at", "0")),
        scans=int(h.get("scans", "0")),
        first_scan_at=_f(h.get("first_scan")),
        devices=devices,
        verified_at=_f(h.get("verified_at")),
        feedback=_feedback(h),
    )


class TrustScripts:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.issue = redis.register_script(_lua("issue_labels"))
        self.scan = redis.register_script(_lua("scan_label"))
        self.check_pin = redis.register_script(_lua("check_pin"))
        self.update_lot = redis.register_script(_lua("update_lot"))
        self.create_lot = redis.register_script(_lua("create_lot"))


class RedisTrust:
    # Owned by RedisStore.
    keys: Keys
    redis: aioredis.Redis
    _trust_scripts: TrustScripts
    _guard: Callable[[], AbstractAsyncContextManager[None]]

    async def _trust_show(self, show_id: str) -> None:
        # Shows are never deleted: a show found here still exists at the write that follows.
        if not await self.redis.exists(self.keys.show(show_id)):
            raise NotFound(f"no show {show_id}")

    async def create_lot(self, lot: Lot) -> Lot:
        k = self.keys
        keys = [k.lot(lot.id), k.lots(), k.product(lot.product_id)]
        fields = [x for pair in _lot_fields(lot).items() for x in pair]
        async with self._guard():
            result = await self._trust_scripts.create_lot(keys=keys, args=[lot.id, *fields])
        if result[0] == "no_product":
            raise NotFound(f"no product {lot.product_id}")
        if result[0] == "exists":
            raise Invalid(f"lot {lot.id} exists")
        return lot

    async def update_lot(self, lot_id: str, changes: Mapping[str, str]) -> Lot:
        unknown = set(changes) - set(LOT_FIELDS)
        if unknown:
            raise Invalid(f"not editable: {', '.join(sorted(unknown))}")
        args = [x for pair in changes.items() for x in pair]
        async with self._guard():
            flat = await self._trust_scripts.update_lot(keys=[self.keys.lot(lot_id)], args=args)
        if not flat:
            raise NotFound(f"no lot {lot_id}")
        return _lot(_pairs(flat))

    async def get_lot(self, lot_id: str) -> Lot:
        async with self._guard():
            h = cast(dict[str, str], await self.redis.hgetall(self.keys.lot(lot_id)))
        if not h:
            raise NotFound(f"no lot {lot_id}")
        return _lot(h)

    async def list_lots(self, product_id: str | None = None) -> list[Lot]:
        k = self.keys
        async with self._guard():
            ids = cast(list[str], await self.redis.lrange(k.lots(), 0, -1))
            async with self.redis.pipeline(transaction=False) as pipe:
                for lot_id in ids:
                    pipe.hgetall(k.lot(lot_id))
                rows: list[dict[str, str]] = await pipe.execute()
        lots = [_lot(h) for h in rows if h]
        return [lot for lot in lots if product_id is None or lot.product_id == product_id]

    async def _set_choice(self, key: str, show_id: str, name: str, lot_id: str | None) -> None:
        async with self._guard():
            await self._trust_show(show_id)
            if lot_id:
                await self.redis.hset(key, name, lot_id)
            else:
                await self.redis.hdel(key, name)

    async def set_show_lot(self, show_id: str, product_id: str, lot_id: str | None) -> None:
        await self._set_choice(self.keys.show_lots(show_id), show_id, product_id, lot_id)

    async def set_order_lot(self, show_id: str, order_id: str, lot_id: str | None) -> None:
        await self._set_choice(self.keys.order_lots(show_id), show_id, order_id, lot_id)

    async def lot_choices(self, show_id: str) -> LotChoices:
        k = self.keys
        async with self._guard():
            await self._trust_show(show_id)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(k.show_lots(show_id))
                pipe.hgetall(k.order_lots(show_id))
                defaults, orders = await pipe.execute()
        return LotChoices(defaults=defaults, orders=orders)

    async def issue_labels(self, show_id: str, drafts: Sequence[Label]) -> list[Label]:
        k = self.keys
        if drafts:
            keys = [k.label_units(show_id), k.show_labels(show_id)]
            keys += [k.label(d.serial) for d in drafts]
            args = [
                json.dumps(
                    {
                        "unit": unit_key(d.order_id, d.unit),
                        "serial": d.serial,
                        "fields": _label_fields(d),
                    }
                )
                for d in drafts
            ]
            async with self._guard():
                await self._trust_show(show_id)
                result = await self._trust_scripts.issue(keys=keys, args=args)
            if result[0] == "taken":
                raise Conflict("a serial is taken; draw new ones")
        return await self.list_labels(show_id)

    async def _labels(self, serials: Sequence[str]) -> list[Label]:
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for serial in serials:
                pipe.hgetall(k.label(serial))
                pipe.pfcount(k.label_devices(serial))
            replies: list[Any] = await pipe.execute()
        return [
            _label(h, int(devices))
            for h, devices in zip(replies[0::2], replies[1::2], strict=True)
            if h
        ]

    async def list_labels(self, show_id: str) -> list[Label]:
        async with self._guard():
            await self._trust_show(show_id)
            serials = cast(
                list[str], await self.redis.lrange(self.keys.show_labels(show_id), 0, -1)
            )
            return await self._labels(serials)

    async def get_label(self, serial: str) -> Label:
        async with self._guard():
            labels = await self._labels([serial])
        if not labels:
            raise NotFound("no label with that serial")
        return labels[0]

    async def record_scan(self, serial: str, device: str, now: float) -> Label:
        k = self.keys
        async with self._guard():
            reply = await self._trust_scripts.scan(
                keys=[k.label(serial), k.label_devices(serial)], args=[repr(now), device]
            )
        if not reply:
            raise NotFound("no label with that serial")
        return _label(_pairs(reply[0]), int(reply[1]))

    async def _check_pin(self, serial: str, args: list[str]) -> list[str]:
        k = self.keys
        keys = [k.label(serial), k.label_wrong(serial), k.feedback()]
        async with self._guard():
            reply = cast(list[str], await self._trust_scripts.check_pin(keys=keys, args=args))
        if reply[0] == "missing":
            raise NotFound("no label with that serial")
        if reply[0] == "limited":
            raise RateLimited("too many wrong PINs for this label; try again tomorrow")
        if reply[0] == "wrong":
            raise InvalidPin("that PIN is not this label's")
        return reply

    async def verify_label(
        self, serial: str, pin: str, now: float, *, max_wrong: int, window: float
    ) -> Verification:
        args = [pin, repr(now), str(max_wrong), str(max(1, int(window))), "verify"]
        reply = await self._check_pin(serial, args)
        return Verification(verified_at=float(reply[1]), first=reply[0] == "first")

    async def add_feedback(
        self, serial: str, pin: str, feedback: Feedback, *, max_wrong: int, window: float
    ) -> Feedback:
        args = [pin, repr(feedback.at), str(max_wrong), str(max(1, int(window))), "feedback"]
        reply = await self._check_pin(serial, [*args, *_feedback_fields(feedback)])
        if reply[0] == "unverified":
            raise Conflict("verify the label with its PIN first")
        if reply[0] == "rated":
            raise Conflict("this unit has been rated already")
        return feedback

    async def list_feedback(self) -> list[tuple[str, Feedback]]:
        async with self._guard():
            serials = cast(list[str], await self.redis.lrange(self.keys.feedback(), 0, -1))
            labels = await self._labels(serials)
        return [(label.serial, label.feedback) for label in labels if label.feedback is not None]
