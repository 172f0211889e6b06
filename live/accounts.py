"""Host accounts and console sessions over the store: who may log in, who a session belongs to,
and logging out everywhere. The web layer calls these through `Service.accounts` and never the
store; live/auth.py keeps the parts that need no store (password hashes, token tags, CSRF).

A session is the signed cookie's mapping (Starlette's `request.session`): it can't be forged but
lives in the browser, so its validity is checked against the store on every request (see
`host_of`).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from live import auth
from live.backends import Store
from live.config import Settings

Session = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class Login:
    """Who a login form's credentials belong to: a named host account or the admin token."""

    kind: str  # "account" or "token"
    name: str  # the account's name; "admin" for the token


class Accounts:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def check_login(self, *, name: str, password: str, token: str) -> Login | None:
        """The login these credentials prove, or `None`. With a `name`, the account's password
        (scrypt, run off the event loop; constant work whether or not the account exists),
        else the admin token. Says nothing about why a login failed."""
        if name:
            stored = await self.store.get_user(name)
            ok = await asyncio.to_thread(auth.verify_password, password, stored)
            return Login("account", name) if ok else None
        return Login("token", "admin") if auth.token_ok(token, self.settings.admin_token) else None

    async def start_session(self, session: Session, login: Login) -> None:
        """A fresh session (a new cookie and CSRF token: nothing carried over from before
        login), under the account's current session generation (one is made if the store has
        none)."""
        epoch = await self.store.session_epoch(auth.epoch_key(login.kind, login.name), start=True)
        session.clear()
        session.update({"host": login.name, "kind": login.kind, "epoch": epoch})
        if login.kind == "token":
            session["tag"] = auth.token_tag(self.settings)
        auth.session_csrf(session)

    async def host_of(self, session: Session | None) -> str | None:
        """The logged-in host of this session (`None`: the request has no session), if the
        session is still valid: logging out or resetting a password moves the account to a new
        random session generation, a store that lost the generation (a Redis restart without
        persistence) ends every session, and a token session also names the admin token it was
        opened with."""
        if session is None:
            return None
        name, kind = session.get("host"), session.get("kind")
        if not name or kind not in ("token", "account"):
            return None
        if kind == "token" and not hmac.compare_digest(
            str(session.get("tag", "")), auth.token_tag(self.settings)
        ):
            return None
        current = await self.store.session_epoch(auth.epoch_key(kind, name))
        if current is None or session.get("epoch") != current:
            return None
        return str(name)

    async def log_out(self, session: Session) -> None:
        """Ends every session of this session's account, on every device (the cookie alone
        can't be revoked: it lives in the browser, so the account moves to a new session
        generation), then empties this one."""
        host = await self.host_of(session)
        if host is not None:
            await self.store.end_sessions(auth.epoch_key(str(session.get("kind")), host))
        session.clear()
