"""How buyers pay (issue 14): the co-op's payment methods, and the buyer's "I have paid". Pure.

Today every method is a manual transfer: the buyer pays the parcel's amount by scanning the
co-op's receive code (WeChat Pay, Alipay) or by bank transfer, writes the parcel's reference in
the note, says "I have paid" (optionally with a screenshot), and the host checks the account
and marks the parcel paid. A provider integration (Stripe, WeChat Pay merchant APIs) is another
`PaymentMethod`: it makes a payment request for the parcel (`instructions` then carries the
provider's QR code or link) and confirms the payment itself from the provider's signed
callback, calling the same `Service.mark_parcel_paid` the host's button calls. docs/payments.md
says what such an integration takes.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from live.config import LANGS
from live.parcels import Parcel

KINDS = ("wechat", "alipay", "bank", "other")
MAX_METHODS = 8
MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class PayInstructions:
    """What the buy page shows a buyer for one method: its name, the receive code to scan
    (an image URL, or ""), details (bank account, payee) and the co-op's instruction."""

    kind: str
    name: str
    image_url: str
    details: str
    instruction: str


class PaymentMethod(abc.ABC):
    """One way to pay a parcel."""

    kind: str
    # True when the method learns of a payment by itself (a provider's callback); manual
    # transfers wait for the host to check the account.
    confirms_itself: bool = False

    @abc.abstractmethod
    def instructions(self, parcel: Parcel, lang: str) -> PayInstructions:
        """What the buyer is shown to pay this parcel."""


@dataclass(frozen=True, slots=True)
class ManualTransfer(PaymentMethod):
    """A receive code or an account the buyer pays into by hand."""

    kind: str
    name: str
    image_url: str = ""
    details: str = ""
    # The co-op's instruction by language ("zh-CN", "en"); a missing language falls back to
    # the other one.
    instruction: Mapping[str, str] = field(default_factory=dict)

    def instructions(self, parcel: Parcel, lang: str) -> PayInstructions:
        text = self.instruction.get(lang) or next(iter(self.instruction.values()), "")
        return PayInstructions(self.kind, self.name, self.image_url, self.details, text)


def methods_json(methods: Sequence[ManualTransfer]) -> list[dict[str, object]]:
    return [
        {
            "kind": m.kind,
            "name": m.name,
            "image_url": m.image_url,
            "details": m.details,
            "instruction": {lang: m.instruction[lang] for lang in LANGS if lang in m.instruction},
        }
        for m in methods
    ]


def methods_from_json(raw: str) -> list[ManualTransfer]:
    """Methods as `methods_json` wrote them (checked when they were set)."""
    return [
        ManualTransfer(
            kind=str(m["kind"]),
            name=str(m["name"]),
            image_url=str(m.get("image_url", "")),
            details=str(m.get("details", "")),
            instruction=dict(m.get("instruction") or {}),
        )
        for m in json.loads(raw)
    ]


# --- the buyer's "I have paid" and the host's answer ---------------------------------------------
# A notice is kept per buyer and show as text fields: state ("pending": waiting for the host;
# "rejected": the host did not find the money, with `reason`; "accepted": the parcel was marked
# paid), `amount` (what the parcel asked when the buyer said it), `at` (Unix seconds), `proof`
# (the screenshot's file name, host-only, or "").

PENDING, REJECTED, ACCEPTED = "pending", "rejected", "accepted"


def notice_json(notice: Mapping[str, str] | None) -> dict[str, object] | None:
    """A notice as its buyer sees it (not the screenshot's name: only the host opens it)."""
    if not notice:
        return None
    return {
        "state": notice.get("state", ""),
        "amount": int(notice.get("amount") or 0),
        "at": float(notice.get("at") or 0),
        "reason": notice.get("reason", ""),
        "proof": bool(notice.get("proof")),
    }
