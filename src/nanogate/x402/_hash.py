"""The request hash of an x402 quote: what a payment is bound to.

The canonical form is three parts joined by a newline (``\\n``):

1. the HTTP method, upper case;
2. the path, without the query string;
3. the body as canonical JSON: object keys sorted, no insignificant whitespace,
   non-ASCII characters as UTF-8 (not ``\\u`` escapes), numbers as Python's ``json``
   writes them. A body that is not JSON is taken as its raw bytes; no body is empty.

The hash is ``sha256:`` followed by the lower-case hex SHA-256 of that form's UTF-8
bytes. Two requests that differ only in key order or whitespace hash the same; any
other change (a different model, one more message, another path) does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

PREFIX = "sha256:"


def canonical_body(body: bytes | Mapping[str, Any] | None) -> bytes:
    """The body's canonical bytes (see the module docstring)."""
    if body is None:
        return b""
    value: Any = body
    if isinstance(body, bytes):
        try:
            value = json.loads(body)
        except ValueError:
            return body
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_hash(method: str, path: str, body: bytes | Mapping[str, Any] | None) -> str:
    """``sha256:<hex>`` of the request's canonical form."""
    form = method.upper().encode() + b"\n" + path.split("?", 1)[0].encode() + b"\n"
    return PREFIX + hashlib.sha256(form + canonical_body(body)).hexdigest()
