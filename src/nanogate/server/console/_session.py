"""Console sign-in: a signed session cookie and the CSRF token of its forms.

Stateless, so any worker process checks any session: the cookie holds an expiry and a
random nonce, signed with HMAC-SHA256 under a key derived from the admin token
(changing the token signs everyone out). A form's CSRF token is the nonce's own HMAC,
so a page of another site can neither read nor forge it; the cookie is also
``SameSite=Strict``, ``HttpOnly``, and ``Secure`` when the console is reached over TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "nanogate_console"
PATH = "/console"


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: int
    csrf: str


class Sessions:
    """Issues and checks sessions for one admin token."""

    def __init__(self, admin_token: str, ttl_s: float) -> None:
        self._key = hmac.new(
            admin_token.encode(), b"nanogate console session v1", hashlib.sha256
        ).digest()
        self.ttl_s = int(ttl_s)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, now: int) -> tuple[Session, str]:
        """A new session and its cookie value."""
        nonce = secrets.token_urlsafe(18)
        expires = now + self.ttl_s
        body = f"{expires}.{nonce}"
        return self._session(nonce, expires), f"{body}.{self._sign(body)}"

    def _session(self, nonce: str, expires: int) -> Session:
        return Session(nonce, expires, self._sign(f"csrf:{nonce}"))

    def check(self, cookie: str | None, now: int) -> Session | None:
        """The session a cookie value holds, if its signature is good and it has not
        expired."""
        if not cookie:
            return None
        expires, _, rest = cookie.partition(".")
        nonce, _, signature = rest.rpartition(".")
        if not expires.isdigit() or not nonce or not signature:
            return None
        if not hmac.compare_digest(signature, self._sign(f"{expires}.{nonce}")):
            return None
        if int(expires) <= now:
            return None
        return self._session(nonce, int(expires))

    def cookie_header(self, value: str, secure: bool, max_age: int | None = None) -> str:
        """The ``Set-Cookie`` value for a session (``value`` empty and ``max_age`` 0 to
        sign out)."""
        age = self.ttl_s if max_age is None else max_age
        parts = [f"{COOKIE}={value}", f"Path={PATH}", f"Max-Age={age}", "HttpOnly"]
        parts.append("SameSite=Strict")
        if secure:
            parts.append("Secure")
        return "; ".join(parts)
