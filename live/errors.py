"""One exception tree with stable error codes.

Every error a client can see has a code from this module, whatever carries it: the HTTP layer
answers `{"error": code, "detail": text}` with the status that live/web/errors.py gives the
error, the socket answers the same code in an `order_result` or `error` message. Order refusals
are not errors of the request: they are answers (`OrderRefused`) carrying one of the contract's
reasons. Nothing here knows about HTTP.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class LiveError(Exception):
    code: str = "internal"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code


class Invalid(LiveError):
    """A request that breaks a rule. `field` names the body field at fault, when there is one
    (the answer then carries `"field"`, so a form can show the message next to it)."""

    code = "invalid"

    def __init__(self, detail: str = "", field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class Unauthorized(LiveError):
    code = "unauthorized"


class Forbidden(LiveError):
    code = "forbidden"


class NotFound(LiveError):
    code = "not_found"


class MethodNotAllowed(LiveError):
    code = "method_not_allowed"


class Conflict(LiveError):
    code = "conflict"


class TooLarge(LiveError):
    code = "too_large"


class UnsupportedMediaType(LiveError):
    code = "unsupported_media_type"


class RateLimited(LiveError):
    code = "rate_limited"


class Unavailable(LiveError):
    """The store did not answer in time. Nothing was half-applied: every store step is atomic,
    but a step that was sent may have been applied: the outcome is unknown (an order's same key
    again tells it)."""

    code = "unavailable"


class Busy(LiveError):
    """This process could not hand the step to the store in time and withdrew it before sending:
    nothing was applied. `retry_after_ms`, when known, is how long the backlog needs to drain."""

    code = "busy"

    def __init__(self, detail: str = "", retry_after_ms: int | None = None) -> None:
        super().__init__(detail or REASON_DETAIL[Reason.BUSY])
        self.retry_after_ms = retry_after_ms


# --- Authenticity (issue 15) ---------------------------------------------------------------


class InvalidPin(Forbidden):
    """A wrong PIN for a label's serial (403 through `Forbidden`); each one counts against the
    serial's and the address's limits."""

    code = "invalid_pin"


class Reason(StrEnum):
    """Why an order was refused, in the contract's precedence order (first wins)."""

    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    ORDERING_CLOSED = "ordering_closed"
    NOT_ON_SALE = "not_on_sale"
    SOLD_OUT = "sold_out"
    LIMIT_EXCEEDED = "limit_exceeded"


REASON_DETAIL: dict[Reason, str] = {
    Reason.INVALID: "the order is malformed, or its key was used for a different order",
    Reason.RATE_LIMITED: "too many orders; wait a moment",
    Reason.BUSY: "too many orders at once here; nothing was ordered, try again shortly",
    Reason.UNAVAILABLE: "the store is not answering; nothing was ordered, try again",
    Reason.ORDERING_CLOSED: "ordering is closed for this show",
    Reason.NOT_ON_SALE: "this product is not on sale in this show",
    Reason.SOLD_OUT: "not enough stock left",
    Reason.LIMIT_EXCEEDED: "that would exceed the per-buyer limit for this product",
}


class OrderRefused(LiveError):
    """An order answered with a refusal reason (and, where known, the stock left). A `busy`
    refusal carries `retry_after_ms`: when to try again (the client adds jitter)."""

    def __init__(
        self,
        reason: Reason,
        stock: int | None = None,
        detail: str = "",
        *,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(detail or REASON_DETAIL[reason])
        self.reason = reason
        self.code = reason.value
        self.stock = stock
        self.retry_after_ms = retry_after_ms

    @classmethod
    def invalid(cls, detail: str) -> OrderRefused:
        return cls(Reason.INVALID, detail=detail)


class CloseCode(IntEnum):
    """Every websocket close code the server sends: the one table that docs/protocol.md and
    `static/live-client.js` mirror (a test checks both). 4000-4999 are ours; `stop` says whether
    a client should give up instead of reconnecting."""

    NORMAL = 1000  # a normal close
    MESSAGE_TOO_BIG = 1009  # a frame over the server's hard limit (64 KiB)
    SERVICE_RESTART = 1012  # the server is restarting
    TRY_AGAIN_LATER = 1013  # the store did not answer while connecting
    PROTOCOL = 4000  # too many malformed frames
    FORBIDDEN = 4003  # Origin not allowed, or a wrong overlay key
    NOT_FOUND = 4004  # no such show
    SLOW = 4008  # the client did not keep up
    KEY_ROTATED = 4011  # the overlay key was rotated
    TOO_MANY = 4029  # too many connections from this address

    @property
    def stop(self) -> bool:
        """Refused: reconnecting would not help."""
        return self in STOP_CODES


STOP_CODES = frozenset({CloseCode.FORBIDDEN, CloseCode.NOT_FOUND, CloseCode.KEY_ROTATED})
