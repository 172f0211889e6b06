"""The show socket's frames: untrusted client frames decoded into typed messages at the edge,
and the server's direct answers. Broadcast messages are built by the store's events and the hub.
See docs/protocol.md for every message, error and close code.

Decoding checks the shape of a frame only; what an order means (its buyer token, limits, show
and product) is for `Service.place_order` to decide, as for an HTTP order. An `order_result`
refusal carries the error's code, the same code the HTTP answer carries (docs/protocol.md, "The
same mistake, the same answer").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from live.domain import OrderAccepted
from live.errors import Busy, LiveError, OrderRefused
from live.messages import Id as ProductId
from live.messages import OrderKey, Qty, order_json

MAX_FRAME = 4096  # characters; bigger frames get an error (the server drops frames over 64 KiB)


class OrderFrame(msgspec.Struct, tag="order", tag_field="type", forbid_unknown_fields=True):
    product_id: ProductId
    qty: Qty
    key: OrderKey
    option_id: ProductId | None = None  # required for a product with options (issue 13)
    # True on every resend of a key already sent: always answered by the store, never from
    # this process's own view (docs/protocol.md, "busy and retries").
    retry: bool = False


class ResyncFrame(msgspec.Struct, tag="resync", tag_field="type", forbid_unknown_fields=True):
    pass


class PingFrame(msgspec.Struct, tag="ping", tag_field="type", forbid_unknown_fields=True):
    pass


KNOWN_TYPES = {"order": OrderFrame, "resync": ResyncFrame, "ping": PingFrame}


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame that is not a message: answered with `{"type": "error", ...}`."""

    error: str
    detail: str


@dataclass(frozen=True, slots=True)
class BadOrder:
    """A frame that is an order but a malformed one: answered with one `order_result`."""

    key: str | None
    detail: str


Frame = OrderFrame | ResyncFrame | PingFrame | FrameError | BadOrder


def decode_frame(text: str) -> Frame:
    """Any text becomes a message or says what is wrong with it; never raises."""
    if len(text) > MAX_FRAME:
        return FrameError("too_large", f"frames are limited to {MAX_FRAME} characters")
    try:
        raw: Any = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return FrameError("invalid_json", f"not valid JSON: {exc}")
    except RecursionError:
        return FrameError("invalid_json", "nested too deeply")
    if not isinstance(raw, dict):
        return FrameError("invalid_frame", "a frame must be a JSON object")
    kind = raw.get("type")
    if not isinstance(kind, str):
        return FrameError("invalid_frame", 'a frame needs a "type" string')
    message_type = KNOWN_TYPES.get(kind)
    if message_type is None:
        return FrameError("unknown_type", f"unknown type {kind[:40]!r}")
    try:
        message: OrderFrame | ResyncFrame | PingFrame = msgspec.convert(raw, message_type)
    except msgspec.ValidationError as exc:
        if message_type is OrderFrame:
            key = raw.get("key")
            echo = key if isinstance(key, str) and len(key) <= 64 else None
            return BadOrder(echo, str(exc))
        return FrameError("invalid_frame", str(exc))
    return message


def error(code: str, detail: str) -> dict[str, Any]:
    return {"type": "error", "error": code, "detail": detail}


def order_accepted(key: str, result: OrderAccepted) -> dict[str, Any]:
    """The `order_result` of an accepted order (or of a repeat of its key)."""
    return {
        "type": "order_result",
        "key": key,
        "ok": True,
        "order": order_json(result.order),
        "stock": result.stock,
        "repeat": not result.created,
    }


def order_refused(key: str | None, error: LiveError) -> dict[str, Any]:
    """The `order_result` of an order that was not placed: `error` is the code the HTTP form
    of the same order answers, with the stock left when a refusal knows it, and for `busy`
    the `retry_after_ms` to wait before sending the same key again."""
    answer: dict[str, Any] = {
        "type": "order_result",
        "key": key,
        "ok": False,
        "error": error.code,
        "detail": error.detail,
    }
    if isinstance(error, OrderRefused) and error.stock is not None:
        answer["stock"] = error.stock
    if isinstance(error, OrderRefused | Busy) and error.retry_after_ms is not None:
        answer["retry_after_ms"] = error.retry_after_ms
    return answer
