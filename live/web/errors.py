"""The HTTP status of every error code: the one place where `live.errors` meets HTTP.

`live.errors` names what went wrong (a code); this module says which status carries it over
HTTP. The socket carries the same code without a status (docs/protocol.md, "The same mistake,
the same answer"), so a code never depends on the transport, only its envelope does.
"""

from __future__ import annotations

from live.errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    LiveError,
    MethodNotAllowed,
    NotFound,
    OrderRefused,
    RateLimited,
    Reason,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

ERROR_STATUS: dict[type[LiveError], int] = {
    Invalid: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    Busy: 503,
    Unavailable: 503,
}

# HTTP status of each refusal on `POST /api/shows/{id}/orders`.
REASON_STATUS: dict[Reason, int] = {
    Reason.INVALID: 400,
    Reason.RATE_LIMITED: 429,
    Reason.BUSY: 503,
    Reason.UNAVAILABLE: 503,
    Reason.ORDERING_CLOSED: 409,
    Reason.NOT_ON_SALE: 409,
    Reason.SOLD_OUT: 409,
    Reason.LIMIT_EXCEEDED: 409,
}

# The code of a status that Starlette raised itself (an unknown route, a wrong method), so that
# its answer has the same shape as ours.
STATUS_CODE: dict[int, str] = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def retry_after_ms(error: LiveError) -> int | None:
    """When a `busy` answer says to try again, in milliseconds (None for every other error)."""
    if isinstance(error, OrderRefused | Busy):
        return error.retry_after_ms
    return None


def retry_after_header(ms: int) -> str:
    """The `Retry-After` header of a `busy` answer: whole seconds, rounded up (at least 1)."""
    return str(max(1, -(-ms // 1000)))


def http_status(error: LiveError) -> int:
    """The status that carries `error` over HTTP; 500 for an error this table does not know
    (a bug: every error a client may see is listed above)."""
    if isinstance(error, OrderRefused):
        return REASON_STATUS[error.reason]
    for kind in type(error).__mro__:
        status = ERROR_STATUS.get(kind)
        if status is not None:
            return status
    return 500
