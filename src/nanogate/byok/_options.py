"""A request's BYOK options: the ``x-use-byok`` / ``x-byok-provider`` headers and the
``byok`` body object, as NanoGPT reads them. Pure parsing, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nanogate.errors import InvalidParameterValue

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class ByokOptions:
    """Whether the request runs on the key's own credentials, and where."""

    provider: str | None = None
    """Only this provider (``x-byok-provider`` or ``byok.provider``)."""
    fallbacks: bool = True
    """Whether other providers the key holds credentials for may be tried
    (``byok.disableFallbacks: true`` turns it off)."""


def byok_options(headers: Mapping[str, str], body: Mapping[str, Any]) -> ByokOptions | None:
    """The request's BYOK options, or ``None`` when it does not ask for BYOK."""
    enabled = headers.get("x-use-byok", "").strip().lower() in _TRUE
    provider = headers.get("x-byok-provider", "").strip() or None
    fallbacks = True
    byok = body.get("byok")
    if byok is not None:
        if isinstance(byok, bool):
            byok = {"enabled": byok}
        if not isinstance(byok, dict):
            raise InvalidParameterValue(
                "Invalid type for 'byok': expected an object such as {\"enabled\": true}.",
                param="byok",
            )
        enabled |= _flag(byok.get("enabled", True), "byok.enabled")
        if byok.get("provider") is not None:
            if not isinstance(byok["provider"], str) or not byok["provider"]:
                raise InvalidParameterValue(
                    "Invalid type for 'byok.provider': expected a provider name.",
                    param="byok.provider",
                )
            provider = byok["provider"]
        fallbacks = not _flag(byok.get("disableFallbacks", False), "byok.disableFallbacks")
    if not enabled:
        return None
    return ByokOptions(provider=provider, fallbacks=fallbacks)


def _flag(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid type for '{param}': expected a boolean.", param=param)
    return value
