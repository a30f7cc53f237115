"""Redaction: secrets never reach a log line.

:func:`redact` masks API keys (``sk-...``), bearer tokens, and the values of
credential headers (``Authorization``, ``x-api-key``, ``X-PAYMENT``,
``x-byok-*``) and passwords in URLs wherever they appear in a string.
"""

from __future__ import annotations

import re

MASK = "[redacted]"

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


def redact(text: str) -> str:
    """``text`` with every credential replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text
