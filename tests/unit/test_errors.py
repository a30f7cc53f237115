"""The error catalogue: one class per code, with the status and types of DESIGN section 2."""

from __future__ import annotations

import pytest

import nanogate.errors
import nanogate.server  # noqa: F401  (the whole gateway loaded: the catalogue it answers with)
from nanogate.errors import (
    DailyLimitExceeded,
    GatewayError,
    InsufficientBalance,
    MethodNotAllowed,
    MissingRequiredParameter,
    PaymentChallenge,
    RateLimitExceeded,
    ServiceUnavailable,
    catalogue,
    error_for_code,
)

# DESIGN section 2, one row per code: (HTTP status, OpenAI type, Anthropic type).
# Where the table gives a single type it names both; for the x402 challenge it gives
# only the OpenAI type, and the Anthropic one is the 402 family's ``billing_error``.
TABLE: dict[str, tuple[int, str, str]] = {
    "missing_api_key": (401, "authentication_error", "authentication_error"),
    "invalid_api_key": (401, "authentication_error", "authentication_error"),
    "conflicting_credentials": (400, "invalid_request_error", "invalid_request_error"),
    "missing_required_parameter": (400, "invalid_request_error", "invalid_request_error"),
    "invalid_parameter_value": (400, "invalid_request_error", "invalid_request_error"),
    "invalid_json": (400, "invalid_request_error", "invalid_request_error"),
    "invalid_json_schema": (400, "invalid_request_error", "invalid_request_error"),
    "tool_choice_unsupported": (400, "invalid_request_error", "invalid_request_error"),
    "image_input_not_supported": (400, "invalid_request_error", "invalid_request_error"),
    "unsupported_input_modality": (400, "invalid_request_error", "invalid_request_error"),
    "unsupported_batch_input": (400, "invalid_request_error", "invalid_request_error"),
    "conflicting_moderation_model": (400, "invalid_request_error", "invalid_request_error"),
    "inline_moderation_requires_api_key": (
        400,
        "invalid_request_error",
        "invalid_request_error",
    ),
    "empty_moderation_input": (400, "invalid_request_error", "invalid_request_error"),
    "unsupported_moderation_input": (400, "invalid_request_error", "invalid_request_error"),
    "content_policy_violation": (400, "invalid_request_error", "invalid_request_error"),
    "context_length_exceeded": (400, "invalid_request_error", "invalid_request_error"),
    "empty_response": (400, "invalid_request_error", "invalid_request_error"),
    "model_not_found": (404, "not_found_error", "not_found_error"),
    "model_not_allowed": (403, "permission_denied_error", "permission_error"),
    "model_not_available": (503, "service_unavailable", "api_error"),
    "no_fallback_available": (400, "invalid_request_error", "invalid_request_error"),
    "all_fallbacks_failed": (503, "service_unavailable", "api_error"),
    "fallback_blocked_for_cache_consistency": (503, "service_unavailable", "api_error"),
    "insufficient_balance": (402, "insufficient_quota", "billing_error"),
    "memory_balance_required": (402, "insufficient_quota", "billing_error"),
    "webSearch_balance_required": (402, "insufficient_quota", "billing_error"),
    "both_balance_required": (402, "insufficient_quota", "billing_error"),
    "insufficient_quota": (402, "insufficient_quota", "billing_error"),
    "rate_limit_exceeded": (429, "rate_limit_error", "rate_limit_error"),
    "daily_rpd_limit_exceeded": (429, "rate_limit_error", "rate_limit_error"),
    "daily_usd_limit_exceeded": (429, "rate_limit_error", "rate_limit_error"),
    "request_timeout": (408, "timeout_error", "timeout_error"),
    "upstream_timeout": (504, "timeout_error", "timeout_error"),
    "idempotency_conflict": (409, "conflict_error", "invalid_request_error"),
    "payment_already_completed": (409, "conflict_error", "invalid_request_error"),
    "payment_expired": (410, "invalid_request_error", "invalid_request_error"),
    "request_too_large": (413, "invalid_request_error", "request_too_large"),
    "request_header_fields_too_large": (431, "invalid_request_error", "invalid_request_error"),
    "unsupported_media_type": (415, "invalid_request_error", "invalid_request_error"),
    "speed_suffix_conflict": (400, "invalid_request_error", "invalid_request_error"),
    "server_error": (500, "server_error", "api_error"),
    "service_unavailable": (503, "service_unavailable", "api_error"),
    "rate_limit_unavailable": (503, "service_unavailable", "api_error"),
    "payment_not_found": (404, "not_found_error", "not_found_error"),
}

# The table's ``(+param)`` rows and the params it names.
DEFAULT_PARAMS = {
    "invalid_json_schema": "response_format",
    "tool_choice_unsupported": "tool_choice",
    "image_input_not_supported": "messages",
    "conflicting_moderation_model": "moderation",
    "inline_moderation_requires_api_key": "moderation",
    "context_length_exceeded": "messages",
    "speed_suffix_conflict": "model",
}

RETRY_STATUSES = {408, 429, 500, 503, 504}

ANTHROPIC_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "overloaded_error",
    "timeout_error",
}


def catalogued() -> list[object]:
    """catalogue() as test parameters, named by class."""
    return [pytest.param(cls, id=cls.__name__) for cls in catalogue()]


def codes() -> list[str]:
    return [cls.code for cls in catalogue()]


def test_catalogue_has_one_class_per_code() -> None:
    """No two catalogue classes answer with the same code."""
    assert len(codes()) == len(set(codes()))


def test_catalogue_classes_live_in_the_errors_module() -> None:
    """Every catalogue class is defined in nanogate.errors, whatever else is imported."""
    assert [cls for cls in catalogue() if cls.__module__ != "nanogate.errors"] == []


def test_catalogue_holds_only_gateway_errors() -> None:
    """Every catalogue entry is a GatewayError subclass, and never the base itself."""
    for cls in catalogue():
        assert issubclass(cls, GatewayError)
        assert cls is not GatewayError


def test_catalogue_is_the_leaves_of_the_tree() -> None:
    """The catalogue is the leaf classes, plus ServiceUnavailable answered as itself."""
    for cls in catalogue():
        assert not cls.__subclasses__() or cls is ServiceUnavailable
    assert ServiceUnavailable in catalogue()
    assert DailyLimitExceeded not in catalogue()


def test_catalogue_is_stable() -> None:
    """Calling catalogue() twice gives the same tuple."""
    assert catalogue() is catalogue()


@pytest.mark.parametrize("code", sorted(TABLE))
def test_every_table_code_is_catalogued(code: str) -> None:
    """Each code of the DESIGN table has a catalogue class with the table's status and types."""
    cls = error_for_code(code)
    assert cls is not None, f"no catalogue class answers with {code!r}"
    status, openai_type, anthropic_type = TABLE[code]
    assert (cls.status, cls.openai_type, cls.anthropic_type) == (
        status,
        openai_type,
        anthropic_type,
    )


@pytest.mark.parametrize("cls", catalogued())
def test_error_for_code_finds_each_class(cls: type[GatewayError]) -> None:
    """error_for_code maps every catalogue code back to its class."""
    assert error_for_code(cls.code) is cls


def test_error_for_code_unknown() -> None:
    """An unknown code, or the code of a family rather than a leaf, finds nothing."""
    assert error_for_code("no_such_code") is None
    assert error_for_code("rate_limited") is None
    assert error_for_code("") is None


def test_error_for_code_insufficient_quota_is_the_x402_challenge() -> None:
    """insufficient_quota is the accountless x402 payment challenge."""
    assert error_for_code("insufficient_quota") is PaymentChallenge


@pytest.mark.parametrize("cls", catalogued())
def test_anthropic_type_is_an_anthropic_type(cls: type[GatewayError]) -> None:
    """Every class's Anthropic type is one the Anthropic API itself uses."""
    assert cls.anthropic_type in ANTHROPIC_TYPES


@pytest.mark.parametrize("cls", catalogued())
def test_retryable_follows_the_seed(cls: type[GatewayError]) -> None:
    """Retry 408, 429, 500, 503 and 504 except daily limits; never anything else."""
    expected = cls.status in RETRY_STATUSES and not issubclass(cls, DailyLimitExceeded)
    assert cls.retryable is expected


@pytest.mark.parametrize("code", ["daily_rpd_limit_exceeded", "daily_usd_limit_exceeded"], ids=str)
def test_daily_limits_are_not_retryable(code: str) -> None:
    """A daily limit resets at 00:00 UTC, so it is a 429 that must not be retried."""
    cls = error_for_code(code)
    assert cls is not None
    assert cls.status == 429
    assert cls.retryable is False
    assert RateLimitExceeded.retryable is True


@pytest.mark.parametrize("code", sorted(DEFAULT_PARAMS))
def test_default_params(code: str) -> None:
    """The table's (+param) rows name their parameter without being told."""
    cls = error_for_code(code)
    assert cls is not None
    assert cls.default_param == DEFAULT_PARAMS[code]
    assert cls().param == DEFAULT_PARAMS[code]


def test_missing_required_parameter_has_no_default_param() -> None:
    """missing_required_parameter names the parameter per instance, not per class."""
    assert MissingRequiredParameter().param is None
    assert MissingRequiredParameter(param="model").param == "model"


@pytest.mark.parametrize("cls", catalogued())
def test_default_instance(cls: type[GatewayError]) -> None:
    """A bare instance carries the class's default message and param and no extras."""
    err = cls()
    assert err.message == cls.default_message
    assert err.message.strip()
    assert str(err) == err.message
    assert err.param == cls.default_param
    assert err.retry_after == cls.default_retry_after
    assert err.fields == {}
    assert err.headers == {}


def test_instance_data_overrides_defaults() -> None:
    """Message, param, retry_after, fields and headers given to an instance are kept."""
    fields = {"requiredBalance": 0.5}
    headers = {"allow": "GET"}
    err = InsufficientBalance("Pay up", param="x", retry_after=3, fields=fields, headers=headers)
    assert (err.message, err.param, err.retry_after) == ("Pay up", "x", 3)
    assert err.fields == fields
    assert err.headers == headers
    assert err.fields is not fields
    assert err.headers is not headers


def test_explicit_param_overrides_default() -> None:
    """An explicit param replaces the class default."""
    cls = error_for_code("invalid_json_schema")
    assert cls is not None
    assert cls(param="tools[0].function.parameters").param == "tools[0].function.parameters"


def test_repr_names_class_code_and_message() -> None:
    """repr() shows the class, code and message, for logs."""
    assert (
        repr(MethodNotAllowed("nope"))
        == "MethodNotAllowed(code='method_not_allowed', message='nope')"
    )


def test_errors_are_exceptions() -> None:
    """Catalogue classes can be raised and caught by their family."""
    with pytest.raises(GatewayError):
        raise RateLimitExceeded()


def test_all_is_sorted() -> None:
    """nanogate.errors.__all__ is sorted."""
    assert nanogate.errors.__all__ == sorted(nanogate.errors.__all__)


def test_all_exports_every_class() -> None:
    """Every GatewayError class defined in nanogate.errors is exported, and every export exists."""

    def walk(cls: type[GatewayError]) -> set[type[GatewayError]]:
        found = {cls}
        for sub in cls.__subclasses__():
            if sub.__module__ == "nanogate.errors":
                found |= walk(sub)
        return found

    names = {cls.__name__ for cls in walk(GatewayError)}
    assert names <= set(nanogate.errors.__all__)
    for name in nanogate.errors.__all__:
        assert hasattr(nanogate.errors, name), name
    assert {"catalogue", "error_for_code"} <= set(nanogate.errors.__all__)
