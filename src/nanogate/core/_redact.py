"""Redaction: secrets never reach a log line, a record or an answer.

Two complementary tools:

- :func:`redact` masks anything *shaped* like a credential: API keys (``sk-...``),
  bearer tokens, the values of credential headers (``Authorization``, ``x-api-key``,
  ``X-PAYMENT``, ``x-byok-*``) and passwords in URLs, wherever they appear in a string;
- :class:`Secrets` masks *literal values* the gateway knows, whatever their shape: the
  credentials it sends upstream (the operator's, and callers' own with BYOK), which an
  upstream may echo in its error text ("Invalid token opcred-...").

:class:`KnownSecrets` is one gateway's registry of those values: the ones fixed at start
and the ones requests in flight hold, so that whatever writes text (the log filter, the
request log) masks all of them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MASK = "[redacted]"

MIN_SECRET_LENGTH = 8
"""Values shorter than this are not masked as literals, and a cut-short echo of a
credential is masked from this many characters on. Shorter values are placeholders
rather than secrets (``EMPTY``, ``ollama``), and masking them would garble ordinary
words while showing, by where the mask lands, what the value is."""

_PATTERNS = (
    # key=value or "key": "value" forms of credential headers and fields
    re.compile(
        r"(?i)((?:authorization|x-api-key|api[_-]?key|x-payment|x-byok-[a-z-]+|password|secret)"
        r"""["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"',;}]+"""
    ),
    # prose that quotes a key: "Invalid API key: 3f9a...", "key provided: abc..."
    re.compile(r"(?i)(\b(?:api[\s_-]?)?key\b[^:=\n\"']{0,20}[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()\bsk-[A-Za-z0-9_-]{8,}"),
    # the password of a URL's user information: scheme://user:password@host
    re.compile(r"(://[^/\s:@]+:)[^/\s@]+(?=@)"),
)

_TOKEN_REST = re.compile(r"[\w.~+/=-]*")
"""The rest of a token whose start matched a credential's."""


class Secrets:
    """A set of literal secret values, masked wherever they appear in a text.

    A value is masked whole, and so is any run of text that begins with at least
    :data:`MIN_SECRET_LENGTH` of its first characters (an upstream that cuts an
    echoed credential short, or a token that merely starts like one), up to the end
    of that token. A value's end alone (the last four characters a key listing shows)
    is not masked. Values shorter than :data:`MIN_SECRET_LENGTH` are left out.

    The values are never shown: not by ``repr``, not in any error.
    """

    __slots__ = ("_heads", "_pattern", "_values")

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._values = frozenset(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)
        heads: dict[str, list[str]] = {}
        for value in self._values:
            heads.setdefault(value[:MIN_SECRET_LENGTH], []).append(value)
        self._heads = heads
        self._pattern: re.Pattern[str] | None = None
        """Compiled on first use: most sets are built and dropped unused."""

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(self._values | other._values)

    def __sub__(self, other: Secrets) -> Secrets:
        return Secrets(self._values - other._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({len(self._values)} values)"

    def mask(self, text: str) -> str:
        """``text`` with every occurrence of a value (or of its start) replaced by
        ``[redacted]``."""
        if not self._values:
            return text
        pattern = self._pattern
        if pattern is None:
            pattern = self._pattern = re.compile("|".join(map(re.escape, self._heads)))
        match = pattern.search(text)
        if match is None:
            return text
        pieces: list[str] = []
        done = 0
        while match is not None:
            start = match.start()
            end = self._end(text, start, match.group())
            pieces += (text[done:start], MASK)
            done = end
            match = pattern.search(text, end)
        pieces.append(text[done:])
        return "".join(pieces)

    def _end(self, text: str, start: int, head: str) -> int:
        """Where the masked run that begins at ``start`` with ``head`` ends: after the
        whole value, or after the token that starts like one."""
        best, whole = 0, False
        for value in self._heads[head]:
            n = MIN_SECRET_LENGTH
            limit = min(len(value), len(text) - start)
            while n < limit and text[start + n] == value[n]:
                n += 1
            if n > best or (n == best and n == len(value)):
                best, whole = n, n == len(value)
        end = start + best
        if not whole:
            rest = _TOKEN_REST.match(text, end)
            assert rest is not None  # the pattern matches the empty string
            end = rest.end()
        return end


class KnownSecrets:
    """The literal secrets one gateway knows: those fixed when it starts (the operator's
    upstream credentials) and those that requests in flight hold (a caller's own
    credentials, with BYOK) for as long as they run.

    Held values are counted: two requests holding the same credential each release it,
    and it is known until the last one does. :attr:`current` is read from any thread.
    """

    __slots__ = ("__weakref__", "_current", "_fixed", "_held")

    def __init__(self, fixed: Secrets | None = None) -> None:
        self._fixed = fixed if fixed is not None else Secrets()
        self._held: Counter[str] = Counter()
        self._current = self._fixed

    def __repr__(self) -> str:
        return f"KnownSecrets({len(self._current)} values)"

    @property
    def current(self) -> Secrets:
        """Every value known now."""
        return self._current

    def hold(self, secrets: Secrets) -> None:
        """Know ``secrets`` too, until :meth:`release` is called with them."""
        new = not self._held.keys() >= secrets._values
        self._held.update(secrets._values)
        if new:
            self._rebuild()

    def release(self, secrets: Secrets) -> None:
        """Forget ``secrets`` once every holder has released them."""
        gone = False
        for value in secrets._values:
            left = self._held[value] - 1
            if left > 0:
                self._held[value] = left
            else:
                self._held.pop(value, None)
                gone = True
        if gone:
            self._rebuild()

    def _rebuild(self) -> None:
        self._current = Secrets(self._fixed._values | self._held.keys())


_CREDENTIAL_NAME = re.compile(r"(?i)key|token|secret|auth|pass|sig|cred")
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_-]{20,}")


def _key_shaped(segment: str) -> bool:
    """A path segment that looks like a key: 20 or more letters, digits, ``-`` and
    ``_``, with at least four of both letters and digits (``/v3/<project id>``)."""
    if _KEY_SEGMENT.fullmatch(segment) is None:
        return False
    digits = sum(c.isdigit() for c in segment)
    return digits >= 4 and sum(c.isalpha() for c in segment) >= 4


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that hold credentials by convention: its user information,
    the values of query parameters named like one (``key``, ``token``, ``api_key``...)
    and path segments shaped like a key (hosted nodes' ``/v2/<key>``)."""
    try:
        parts = urlsplit(url)
        found = [parts.username, parts.password]
    except ValueError:
        return ()
    found += [value for name, value in parse_qsl(parts.query) if _CREDENTIAL_NAME.search(name)]
    found += [segment for segment in parts.path.split("/") if _key_shaped(segment)]
    return tuple(value for value in found if value)


def redact(text: str, secrets: Secrets | None = None) -> str:
    """``text`` with every credential replaced by ``[redacted]``: the literal values of
    ``secrets``, then anything shaped like a credential."""
    if secrets is not None:
        text = secrets.mask(text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text
