"""Host authentication: password hashes (scrypt, memory-hard), sessions, CSRF tokens.

Host actions need either `Authorization: Bearer <admin token>` (scripts) or a console session
(the signed, HttpOnly, SameSite=Lax cookie). A session request that changes anything must also
carry the session's CSRF token (header `X-CSRF-Token` or form field `csrf`), so another site
can't make a logged-in host's browser act.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import HTTPConnection

from live.backends import Store
from live.config import Settings

# scrypt at n=2^14, r=8: ~16 MiB and tens of milliseconds per guess.
_N, _R, _P = 2**14, 8, 1

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    """Constant work whether or not the account exists (no user enumeration by timing)."""
    if not stored:
        hash_password(password)
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_tag(settings: Settings) -> str:
    """A fingerprint of the admin token, kept in token sessions: change the token and every
    session opened with the old one is dead. Keyed with the secret key: the cookie is signed,
    not encrypted, so whoever holds it can read this, and a plain hash of the token would let
    them test guesses of the token offline."""
    message = b"live admin token session:" + settings.admin_token.encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def epoch_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


async def start_session(
    conn: HTTPConnection, store: Store, settings: Settings, *, kind: str, name: str
) -> None:
    """A fresh session (a new cookie and CSRF token: nothing carried over from before login),
    under the account's current session generation (one is made if the store has none)."""
    epoch = await store.session_epoch(epoch_key(kind, name), start=True)
    conn.session.clear()
    conn.session.update({"host": name, "kind": kind, "epoch": epoch})
    if kind == "token":
        conn.session["tag"] = token_tag(settings)
    csrf_token(conn)


async def session_host(conn: HTTPConnection, store: Store, settings: Settings) -> str | None:
    """The logged-in host of this request's session, if the session is still valid.

    The cookie is signed (it can't be forged) but lives in the browser, so validity is checked
    against the store: logging out or resetting a password moves the account to a new random
    session generation, a store that lost the generation (a Redis restart without persistence)
    ends every session, and a token session also names the admin token it was opened with.
    """
    if "session" not in conn.scope:
        return None
    session = conn.session
    name, kind = session.get("host"), session.get("kind")
    if not name or kind not in ("token", "account"):
        return None
    if kind == "token" and not hmac.compare_digest(
        str(session.get("tag", "")), token_tag(settings)
    ):
        return None
    current = await store.session_epoch(epoch_key(kind, name))
    if current is None or session.get("epoch") != current:
        return None
    return str(name)


def csrf_token(conn: HTTPConnection) -> str:
    """The session's CSRF token, made on first use."""
    token = conn.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        conn.session["csrf"] = token
    return str(token)


def csrf_ok(conn: HTTPConnection, sent: str | None) -> bool:
    expected = conn.session.get("csrf") if "session" in conn.scope else None
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def token_ok(sent: str, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())
