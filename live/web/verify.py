"""The public side of authenticity labels (issue 15): the page of a serial and its PIN check.

`GET /v/{serial}` shows what the unit is (product, option, producer, lot, the co-op's story),
never who bought it, and counts the view as a scan. Its PIN form and the feedback form are plain
HTML forms, so the page works without JavaScript; `POST /api/verify/{serial}` is the same check
for scripts. docs/authenticity.md explains the scheme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from live import authenticity as au
from live.errors import Conflict, Invalid, InvalidPin, LiveError, NotFound, RateLimited
from live.messages import decode
from live.trust import FeedbackBody, Unit, VerifyBody
from live.trust_i18n import translator
from live.web.errors import http_status
from live.web.http import JSON, client_address, read_body, route, service
from live.web.pages import templates


def page_lang(request: Request) -> str:
    """?lang=, else the phone's first language; zh-CN or English."""
    for wanted in (
        request.query_params.get("lang", ""),
        request.headers.get("accept-language", "").split(",")[0].strip(),
    ):
        if wanted:
            return "zh-CN" if wanted.lower().startswith("zh") else "en"
    return "en"


def when(request: Request, at: float) -> str:
    """A time as the co-op's clock reads it (LIVE_TIMEZONE)."""
    zone = ZoneInfo(service(request).settings.timezone)
    return dt.datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")


def device_of(request: Request) -> str:
    return au.device_tag(client_address(request), request.headers.get("user-agent", ""))


@dataclass
class Outcome:
    """What the page says after a form: a message key, its kind, and what may follow."""

    message: str = ""
    kind: str = ""  # ok | warn | error
    when: str = ""
    pin: str = ""  # the verified PIN, carried into the feedback form
    feedback_open: bool = False


async def _render(
    request: Request, unit: Unit | None, outcome: Outcome, status: int = 200
) -> Response:
    lang = page_lang(request)
    name, story = await service(request).trust.coop()
    t = translator(lang)
    serial = request.path_params["serial"]
    # The serial's own page, also after the feedback form posted elsewhere: the language link
    # and the PIN form lead there, never to the feedback route (POST only).
    page = request.app.url_path_for("verify_page", serial=unit.label.serial if unit else serial)
    context = {
        "lang": lang,
        "t": t,
        "coop": name or t("coop_default"),
        "coop_name": name,
        "story": story,
        "unit": unit,
        "serial": au.format_serial(unit.label.serial) if unit else serial[:40],
        "outcome": outcome,
        "page": page,
        "action": f"{page}?lang={lang}",
        "feedback_action": (
            request.app.url_path_for("verify_feedback_form", serial=unit.label.serial)
            + f"?lang={lang}"
            if unit
            else ""
        ),
        "other_lang": "en" if lang == "zh-CN" else "zh-CN",
        "pin_length": au.PIN_LENGTH,
    }
    return templates(request).TemplateResponse(
        request, "verify.html", context, status_code=status, headers={"Cache-Control": "no-store"}
    )


async def verify_page(request: Request) -> Response:
    trust = service(request).trust
    serial = request.path_params["serial"]
    try:
        # A HEAD (a link preview checking the address) is not someone looking at the unit.
        if request.method == "HEAD":
            unit = await trust.unit(serial)
        else:
            unit = await trust.view(serial, device=device_of(request))
    except NotFound:
        return await _render(request, None, Outcome(), 404)
    return await _render(request, unit, Outcome())


async def _form(request: Request) -> dict[str, str]:
    form = parse_qs((await read_body(request, 8192)).decode("utf-8", "replace"))
    return {k: v[0] for k, v in form.items()}


def _refusal(exc: LiveError) -> Outcome:
    message = {InvalidPin: "wrong_pin", Invalid: "bad_pin", RateLimited: "locked"}
    return Outcome(message=message.get(type(exc), "wrong_pin"), kind="error")


async def verify_form(request: Request) -> Response:
    """The page's PIN form: the page again, saying what the PIN showed."""
    field = await _form(request)
    svc = service(request)
    try:
        unit = await svc.trust.unit(request.path_params["serial"])
    except NotFound:
        return await _render(request, None, Outcome(), 404)
    pin = field.get("pin", "")
    try:
        result = await svc.trust.verify(
            request.path_params["serial"], pin, address=client_address(request)
        )
    except (InvalidPin, Invalid, RateLimited) as exc:
        return await _render(request, unit, _refusal(exc), http_status(exc))
    outcome = Outcome(
        message="first_ok" if result.first else "again",
        kind="ok" if result.first else "warn",
        when=when(request, result.verified_at),
        pin=au.clean_pin(pin),
        feedback_open=unit.label.feedback is None,
    )
    return await _render(request, unit, outcome)


async def feedback_form(request: Request) -> Response:
    field = await _form(request)
    svc = service(request)
    try:
        unit = await svc.trust.unit(request.path_params["serial"])
    except NotFound:
        return await _render(request, None, Outcome(), 404)
    rating = field.get("rating", "")
    body = FeedbackBody(
        pin=field.get("pin", "")[:32],
        # Only "1" to "5" (the form's radio values): str.isdigit() also takes "²" and digit
        # strings too long for int(), which would fail here rather than be refused.
        rating=int(rating) if rating in ("1", "2", "3", "4", "5") else 0,
        # A browser sends the textarea's line breaks as CRLF, but its maxlength counts one.
        note=field.get("note", "").replace("\r\n", "\n")[: au.MAX_NOTE + 1],
    )
    try:
        await svc.trust.add_feedback(
            request.path_params["serial"], body, address=client_address(request)
        )
    except Conflict:
        return await _render(request, unit, Outcome(message="feedback_done", kind="warn"), 409)
    except Invalid as exc:
        if exc.field == "pin":
            return await _render(request, unit, _refusal(exc), 400)
        pin = au.clean_pin(body.pin)
        outcome = Outcome(message="bad_rating", kind="error", pin=pin, feedback_open=True)
        return await _render(request, unit, outcome, 400)
    except (InvalidPin, RateLimited) as exc:
        return await _render(request, unit, _refusal(exc), http_status(exc))
    return await _render(request, unit, Outcome(message="feedback_thanks", kind="ok"))


async def verify_api(request: Request) -> Response:
    """`POST /api/verify/{serial}` `{"pin"}`: 200 `{"verified_at", "first"}`; 403
    `invalid_pin`; 429 past the limits; 404 for a serial that is not ours."""
    body = decode(await read_body(request, 1024), VerifyBody)
    result = await service(request).trust.verify(
        request.path_params["serial"], body.pin, address=client_address(request)
    )
    return JSON({"verified_at": result.verified_at, "first": result.first})


async def feedback_api(request: Request) -> Response:
    """`POST /api/verify/{serial}/feedback` `{"pin", "rating", "note"?}`: 201 the feedback."""
    body = decode(await read_body(request, 4096), FeedbackBody)
    fb = await service(request).trust.add_feedback(
        request.path_params["serial"], body, address=client_address(request)
    )
    return JSON({"rating": fb.rating, "note": fb.note, "at": fb.at}, status_code=201)


routes = [
    route("/v/{serial}", "verify_page", GET=verify_page, POST=verify_form),
    route("/v/{serial}/feedback", "verify_feedback_form", POST=feedback_form),
    route("/api/verify/{serial}", POST=verify_api),
    route("/api/verify/{serial}/feedback", POST=feedback_api),
]
