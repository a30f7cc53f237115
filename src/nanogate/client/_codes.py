"""What the client knows about error codes and types: families, statuses, retry rules.

The families are the seed's code groups (request validation, content and context,
model and routing, balance and payment, rate limiting, daily limits). The status
tables serve stream frames that name a code or type but no status (a Responses
``response.failed``, a Messages ``event: error``).
"""

from __future__ import annotations

from typing import Final

FAMILIES: Final[dict[str, frozenset[str]]] = {
    "validation": frozenset(
        {
            "missing_required_parameter",
            "invalid_parameter_value",
            "invalid_json",
            "invalid_json_schema",
            "tool_choice_unsupported",
            "image_input_not_supported",
            "conflicting_moderation_model",
            "inline_moderation_requires_api_key",
            "empty_moderation_input",
            "unsupported_moderation_input",
            "unsupported_input_modality",
            "unsupported_batch_input",
            "conflicting_credentials",
        }
    ),
    "content": frozenset({"content_policy_violation", "context_length_exceeded", "empty_response"}),
    "routing": frozenset(
        {
            "model_not_found",
            "model_not_allowed",
            "model_not_available",
            "all_fallbacks_failed",
            "no_fallback_available",
            "fallback_blocked_for_cache_consistency",
            "speed_suffix_conflict",
        }
    ),
    "payment": frozenset(
        {
            "memory_balance_required",
            "webSearch_balance_required",
            "both_balance_required",
            "insufficient_balance",
            "insufficient_quota",
        }
    ),
    "rate_limit": frozenset({"rate_limit_exceeded"}),
    "daily_limit": frozenset({"daily_rpd_limit_exceeded", "daily_usd_limit_exceeded"}),
}

_FAMILY_OF: Final[dict[str, str]] = {
    code: family for family, codes in FAMILIES.items() for code in codes
}

_CODE_STATUS: Final[dict[str, int]] = {
    **dict.fromkeys(FAMILIES["validation"] | FAMILIES["content"], 400),
    **dict.fromkeys(FAMILIES["payment"], 402),
    **dict.fromkeys(FAMILIES["rate_limit"] | FAMILIES["daily_limit"], 429),
    "no_fallback_available": 400,
    "speed_suffix_conflict": 400,
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "model_not_allowed": 403,
    "model_not_found": 404,
    "not_found": 404,
    "request_timeout": 408,
    "idempotency_conflict": 409,
    "payment_already_completed": 409,
    "payment_expired": 410,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "server_error": 500,
    "model_not_available": 503,
    "all_fallbacks_failed": 503,
    "fallback_blocked_for_cache_consistency": 503,
    "service_unavailable": 503,
    "rate_limit_unavailable": 503,
    "upstream_timeout": 504,
}

_TYPE_STATUS: Final[dict[str, int]] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "insufficient_quota": 402,
    "permission_error": 403,
    "permission_denied_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "server_error": 500,
    "api_error": 500,
    "service_unavailable": 503,
    "overloaded_error": 503,
    "timeout_error": 504,
}

NEVER_RETRIED: Final = frozenset({400, 401, 402, 403, 404, 409, 413})
"""The seed's "do not blindly retry" list: no header makes these retryable."""

RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504, 529})
"""The seed's "retry" list (408, 429, 500, 503), its timeouts (504), 502, and 529
(Anthropic's "overloaded", which a client pointed at an Anthropic-style upstream meets)."""


def family_of(code: str | None) -> str | None:
    """The seed's family of ``code``, or ``None`` for codes outside them."""
    return _FAMILY_OF.get(code) if code else None


def status_for(code: str | None, type_: str | None) -> int:
    """The status a frame without one stands for: by code, then type, else 500."""
    if code and code in _CODE_STATUS:
        return _CODE_STATUS[code]
    if type_ and type_ in _TYPE_STATUS:
        return _TYPE_STATUS[type_]
    return 500
