"""The error catalogue: every error nanogate can answer with, as one class tree.

Each class carries its HTTP status, machine-readable ``code``, the OpenAI and
Anthropic ``type`` strings, whether a client may retry, and a default message.
Rendering into the OpenAI, Anthropic and legacy envelopes (and the three
streaming dialects) lives in :mod:`nanogate.core._render`; nothing here builds a
response body.

::

    GatewayError
    ├── InvalidRequest ..................................... 400
    │   ├── ConflictingCredentials          conflicting_credentials
    │   ├── MissingRequiredParameter        missing_required_parameter
    │   ├── InvalidParameterValue           invalid_parameter_value
    │   ├── InvalidJSON                     invalid_json
    │   ├── InvalidJSONSchema               invalid_json_schema
    │   ├── ToolChoiceUnsupported           tool_choice_unsupported
    │   ├── ImageInputNotSupported          image_input_not_supported
    │   ├── UnsupportedInputModality        unsupported_input_modality
    │   ├── UnsupportedBatchInput           unsupported_batch_input
    │   ├── ConflictingModerationModel      conflicting_moderation_model
    │   ├── InlineModerationRequiresAPIKey  inline_moderation_requires_api_key
    │   ├── EmptyModerationInput            empty_moderation_input
    │   ├── UnsupportedModerationInput      unsupported_moderation_input
    │   ├── ContentPolicyViolation          content_policy_violation
    │   ├── ContextLengthExceeded           context_length_exceeded
    │   ├── EmptyResponse                   empty_response
    │   ├── NoFallbackAvailable             no_fallback_available
    │   ├── SpeedSuffixConflict             speed_suffix_conflict
    │   └── MalformedRequest                malformed_request (not valid HTTP/1.1)
    ├── AuthenticationFailed ............................... 401
    │   ├── MissingAPIKey                   missing_api_key
    │   └── InvalidAPIKey                   invalid_api_key
    ├── PaymentRequired .................................... 402
    │   ├── InsufficientBalance             insufficient_balance
    │   ├── MemoryBalanceRequired           memory_balance_required
    │   ├── WebSearchBalanceRequired        webSearch_balance_required
    │   ├── BothBalanceRequired             both_balance_required
    │   ├── PaymentChallenge                insufficient_quota (accountless x402)
    │   ├── PaymentInvalid                  payment_invalid
    │   └── PaymentPending                  payment_pending
    ├── PermissionDenied ................................... 403
    │   └── ModelNotAllowed                 model_not_allowed
    ├── NotFound ........................................... 404
    │   ├── RouteNotFound                   not_found
    │   ├── ModelNotFound                   model_not_found
    │   ├── ResponseNotFound                response_not_found
    │   ├── RequestNotFound                 request_not_found
    │   └── PaymentNotFound                 payment_not_found
    ├── MethodNotAllowed ................................... 405 method_not_allowed
    ├── RequestTimeout ..................................... 408 request_timeout
    ├── Conflict ........................................... 409
    │   ├── IdempotencyConflict             idempotency_conflict
    │   ├── PaymentAlreadyCompleted         payment_already_completed
    │   └── PaymentFailed                   payment_failed
    ├── PaymentExpired ..................................... 410 payment_expired
    ├── RequestTooLarge .................................... 413 request_too_large
    ├── UnsupportedMediaType ............................... 415 unsupported_media_type
    ├── RequestHeaderFieldsTooLarge ........................ 431 request_header_fields_too_large
    ├── RateLimited ........................................ 429
    │   ├── RateLimitExceeded               rate_limit_exceeded
    │   └── DailyLimitExceeded
    │       ├── DailyRequestLimitExceeded   daily_rpd_limit_exceeded
    │       └── DailyUSDLimitExceeded       daily_usd_limit_exceeded
    ├── ServerError ........................................ 500 server_error
    ├── ServiceUnavailable ................................. 503 service_unavailable
    │   ├── ModelNotAvailable               model_not_available
    │   ├── AllFallbacksFailed              all_fallbacks_failed
    │   ├── FallbackBlockedForCacheConsistency
    │   │                                   fallback_blocked_for_cache_consistency
    │   └── RateLimitUnavailable            rate_limit_unavailable
    └── UpstreamTimeout .................................... 504 upstream_timeout

The leaves are the catalogue. :func:`catalogue` lists them and
:func:`error_for_code` finds a leaf by its code; both are derived from the
tree, never maintained by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, ClassVar, Literal

__all__ = [
    "AllFallbacksFailed",
    "AuthenticationFailed",
    "BodyStatus",
    "BothBalanceRequired",
    "Conflict",
    "ConflictingCredentials",
    "ConflictingModerationModel",
    "ContentPolicyViolation",
    "ContextLengthExceeded",
    "DailyLimitExceeded",
    "DailyRequestLimitExceeded",
    "DailyUSDLimitExceeded",
    "EmptyModerationInput",
    "EmptyResponse",
    "FallbackBlockedForCacheConsistency",
    "GatewayError",
    "IdempotencyConflict",
    "ImageInputNotSupported",
    "InlineModerationRequiresAPIKey",
    "InsufficientBalance",
    "InvalidAPIKey",
    "InvalidJSON",
    "InvalidJSONSchema",
    "InvalidParameterValue",
    "InvalidRequest",
    "MalformedRequest",
    "MemoryBalanceRequired",
    "MethodNotAllowed",
    "MissingAPIKey",
    "MissingRequiredParameter",
    "ModelNotAllowed",
    "ModelNotAvailable",
    "ModelNotFound",
    "NoFallbackAvailable",
    "NotFound",
    "PaymentAlreadyCompleted",
    "PaymentChallenge",
    "PaymentExpired",
    "PaymentFailed",
    "PaymentInvalid",
    "PaymentNotFound",
    "PaymentPending",
    "PaymentRequired",
    "PermissionDenied",
    "RateLimitExceeded",
    "RateLimitUnavailable",
    "RateLimited",
    "RequestHeaderFieldsTooLarge",
    "RequestNotFound",
    "RequestTimeout",
    "RequestTooLarge",
    "ResponseNotFound",
    "RouteNotFound",
    "ServerError",
    "ServiceUnavailable",
    "SpeedSuffixConflict",
    "ToolChoiceUnsupported",
    "UnsupportedBatchInput",
    "UnsupportedInputModality",
    "UnsupportedMediaType",
    "UnsupportedModerationInput",
    "UpstreamTimeout",
    "WebSearchBalanceRequired",
    "catalogue",
    "error_for_code",
]

BodyStatus = Literal["none", "top", "error"]
"""Where an envelope mirrors the HTTP status in the body: nowhere, beside the
``error`` object, or inside it."""


class GatewayError(Exception):
    """Base of every error the gateway answers with.

    Class attributes describe the kind of error; an instance adds the message,
    the offending ``param``, a ``Retry-After`` and any convenience fields the
    envelope carries beside the error (``requiredBalance``, ``moderation``...).
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "server_error"
    openai_type: ClassVar[str] = "server_error"
    anthropic_type: ClassVar[str] = "api_error"
    retryable: ClassVar[bool] = True
    default_message: ClassVar[str] = "The server had an error while processing your request."
    default_param: ClassVar[str | None] = None
    default_retry_after: ClassVar[int | None] = None
    """``Retry-After`` seconds when the raise site gives none (every 429 has one)."""
    body_status: ClassVar[BodyStatus] = "none"
    """Where the OpenAI envelope mirrors the status (see :data:`BodyStatus`)."""
    openai_param_key: ClassVar[bool] = True
    """Whether the OpenAI ``error`` object carries a ``param`` key (``null`` when unset)."""
    legacy_code: ClassVar[bool] = True
    """Whether the legacy envelope carries the ``code`` convenience field."""
    one_envelope: ClassVar[bool] = False
    """Whether the error answers in the OpenAI envelope on every surface (the x402
    challenge, whose body NanoGPT documents once for all)."""

    message: str
    param: str | None
    retry_after: int | None
    fields: dict[str, Any]
    headers: dict[str, str]

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        retry_after: int | None = None,
        fields: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.param = param if param is not None else self.default_param
        self.retry_after = retry_after if retry_after is not None else self.default_retry_after
        self.fields = dict(fields) if fields else {}
        self.headers = dict(headers) if headers else {}
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


# 400 ---------------------------------------------------------------------------------


class InvalidRequest(GatewayError):
    status = 400
    code = "invalid_request"
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "The request is invalid."


class ConflictingCredentials(InvalidRequest):
    code = "conflicting_credentials"
    default_message = "The Authorization and x-api-key headers name different API keys; send one."


class MissingRequiredParameter(InvalidRequest):
    code = "missing_required_parameter"
    default_message = "A required parameter is missing."


class InvalidParameterValue(InvalidRequest):
    code = "invalid_parameter_value"
    default_message = "A parameter has an invalid value."


class InvalidJSON(InvalidRequest):
    code = "invalid_json"
    default_message = "The request body is not valid JSON."


class InvalidJSONSchema(InvalidRequest):
    code = "invalid_json_schema"
    default_message = "The JSON schema in response_format is not a valid JSON Schema."
    default_param = "response_format"


class ToolChoiceUnsupported(InvalidRequest):
    code = "tool_choice_unsupported"
    default_message = "This model does not support tools or tool_choice."
    default_param = "tool_choice"


class ImageInputNotSupported(InvalidRequest):
    code = "image_input_not_supported"
    default_message = "This model does not accept image input."
    default_param = "messages"


class UnsupportedInputModality(InvalidRequest):
    code = "unsupported_input_modality"
    default_message = "This model does not accept this kind of input."


class UnsupportedBatchInput(InvalidRequest):
    code = "unsupported_batch_input"
    default_message = "This model takes one input per request, not a list."
    default_param = "input"


class ConflictingModerationModel(InvalidRequest):
    code = "conflicting_moderation_model"
    default_message = "The moderation and moderation-model headers name different models."
    default_param = "moderation"


class InlineModerationRequiresAPIKey(InvalidRequest):
    code = "inline_moderation_requires_api_key"
    default_message = (
        "Inline moderation requires an API key; it is not available to accountless requests."
    )
    default_param = "moderation"


class EmptyModerationInput(InvalidRequest):
    code = "empty_moderation_input"
    default_message = "There is nothing to moderate in this request."
    default_param = "input"


class UnsupportedModerationInput(InvalidRequest):
    code = "unsupported_moderation_input"
    default_message = "The moderation model cannot read this kind of input."
    default_param = "input"


class ContentPolicyViolation(InvalidRequest):
    code = "content_policy_violation"
    default_message = "The request was blocked by the content policy."


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"
    default_message = "The request exceeds the model's context window."
    default_param = "messages"


class EmptyResponse(InvalidRequest):
    code = "empty_response"
    default_message = "The model returned an empty response; you were not charged."


class NoFallbackAvailable(InvalidRequest):
    code = "no_fallback_available"
    default_message = "The request's provider constraints leave no usable deployment."
    default_param = "provider"


class SpeedSuffixConflict(InvalidRequest):
    code = "speed_suffix_conflict"
    default_message = (
        "A routing suffix (:fast, :cheap, :throughput...) cannot be combined with an "
        "explicit provider."
    )
    default_param = "model"


class MalformedRequest(InvalidRequest):
    """The bytes on the connection are not a valid HTTP/1.1 request (answered by the
    HTTP edge, before any route sees the request)."""

    code = "malformed_request"
    default_message = "The request is not valid HTTP/1.1."


# 401 ---------------------------------------------------------------------------------


class AuthenticationFailed(GatewayError):
    status = 401
    code = "authentication_failed"
    openai_type = "authentication_error"
    anthropic_type = "authentication_error"
    retryable = False
    default_message = "Authentication failed."


class MissingAPIKey(AuthenticationFailed):
    code = "missing_api_key"
    default_message = (
        "No API key provided. Send it as 'Authorization: Bearer <key>' or in the x-api-key header."
    )


class InvalidAPIKey(AuthenticationFailed):
    code = "invalid_api_key"
    default_message = "Invalid API key provided."


# 402 ---------------------------------------------------------------------------------


class PaymentRequired(GatewayError):
    status = 402
    code = "payment_required"
    openai_type = "insufficient_quota"
    anthropic_type = "billing_error"
    retryable = False
    default_message = "Payment is required to complete this request."
    body_status: ClassVar[BodyStatus] = "top"


class InsufficientBalance(PaymentRequired):
    code = "insufficient_balance"
    default_message = "Insufficient balance"
    legacy_code = False

    available_nusd: int | None = None
    """What the account had free towards the request when it was refused, if known (for
    telling which paid add-on to drop; never rendered)."""


class MemoryBalanceRequired(PaymentRequired):
    code = "memory_balance_required"
    default_message = "Insufficient balance for the memory add-on; add funds or disable memory."


class WebSearchBalanceRequired(PaymentRequired):
    code = "webSearch_balance_required"
    default_message = "Insufficient balance for web search; add funds or disable web search."


class BothBalanceRequired(PaymentRequired):
    code = "both_balance_required"
    default_message = (
        "Insufficient balance for the memory and web-search add-ons; add funds or disable them."
    )


class PaymentChallenge(PaymentRequired):
    """An accountless x402 quote: the body's ``payment`` object says how to pay."""

    code = "insufficient_quota"
    default_message = "Payment required to complete this request."
    body_status: ClassVar[BodyStatus] = "none"
    openai_param_key = False
    one_envelope = True


class PaymentInvalid(PaymentRequired):
    """An ``X-PAYMENT`` that cannot pay its quote: malformed, for another request,
    the wrong amount or address, or refused by the rail's verifier. Nothing ran."""

    code = "payment_invalid"
    default_message = "The X-PAYMENT header does not pay for this request."


class PaymentPending(PaymentRequired):
    """A complete of an x402 payment that has not received its amount in full."""

    code = "payment_pending"
    default_message = "This payment has not been received in full yet; poll its statusUrl."


# 403 ---------------------------------------------------------------------------------


class PermissionDenied(GatewayError):
    status = 403
    code = "permission_denied"
    openai_type = "permission_denied_error"
    anthropic_type = "permission_error"
    retryable = False
    default_message = "You are not permitted to do this."


class ModelNotAllowed(PermissionDenied):
    code = "model_not_allowed"
    default_message = "This API key is not allowed to use this model."
    default_param = "model"


# 404 ---------------------------------------------------------------------------------


class NotFound(GatewayError):
    status = 404
    code = "not_found"
    openai_type = "not_found_error"
    anthropic_type = "not_found_error"
    retryable = False
    default_message = "The requested resource was not found."


class RouteNotFound(NotFound):
    code = "not_found"
    default_message = "No such route."


class ModelNotFound(NotFound):
    code = "model_not_found"
    default_message = "The model does not exist."
    default_param = "model"


class ResponseNotFound(NotFound):
    code = "response_not_found"
    default_message = "No stored response with this id."


class RequestNotFound(NotFound):
    code = "request_not_found"
    default_message = "No request with this id was made by this API key in the last 24 hours."


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    default_message = "No payment with this id."


# 405, 408, 409, 410, 413, 415, 431 ---------------------------------------------------


class MethodNotAllowed(GatewayError):
    status = 405
    code = "method_not_allowed"
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "This route does not accept this HTTP method."


class RequestTimeout(GatewayError):
    status = 408
    code = "request_timeout"
    openai_type = "timeout_error"
    anthropic_type = "timeout_error"
    retryable = True
    default_message = "The request body was not received in time."


class Conflict(GatewayError):
    status = 409
    code = "conflict"
    openai_type = "conflict_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "The request conflicts with the current state."


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = (
        "A request with this Idempotency-Key is still in progress or had a different body."
    )


class PaymentAlreadyCompleted(Conflict):
    code = "payment_already_completed"
    default_message = "This payment has already been completed."


class PaymentFailed(Conflict):
    """A paid x402 request that failed on every run it was allowed."""

    code = "payment_failed"
    default_message = (
        "The paid request failed on every attempt; the payment is held for the operator."
    )


class PaymentExpired(GatewayError):
    status = 410
    code = "payment_expired"
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "This payment quote has expired; request a new quote."


class RequestTooLarge(GatewayError):
    status = 413
    code = "request_too_large"
    openai_type = "invalid_request_error"
    anthropic_type = "request_too_large"
    retryable = False
    default_message = "The request body is too large."


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "The request body must be JSON (Content-Type: application/json)."


class RequestHeaderFieldsTooLarge(GatewayError):
    """The request line and headers are over the edge's limit (answered by the HTTP
    edge, before the rest of the head is read)."""

    status = 431
    code = "request_header_fields_too_large"
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False
    default_message = "The request line and headers are too large."


# 429 ---------------------------------------------------------------------------------


class RateLimited(GatewayError):
    status = 429
    code = "rate_limited"
    openai_type = "rate_limit_error"
    anthropic_type = "rate_limit_error"
    retryable = True
    default_message = "Too many requests."
    default_retry_after = 1


class RateLimitExceeded(RateLimited):
    code = "rate_limit_exceeded"
    default_message = "Rate limit exceeded; slow down and retry after the Retry-After delay."


class DailyLimitExceeded(RateLimited):
    """A per-key daily limit: it resets at 00:00 UTC, so retrying sooner is useless."""

    retryable = False


class DailyRequestLimitExceeded(DailyLimitExceeded):
    code = "daily_rpd_limit_exceeded"
    default_message = "This API key's daily request limit is reached; it resets at 00:00 UTC."


class DailyUSDLimitExceeded(DailyLimitExceeded):
    code = "daily_usd_limit_exceeded"
    default_message = "This API key's daily spending limit is reached; it resets at 00:00 UTC."


# 500, 503, 504 -----------------------------------------------------------------------


class ServerError(GatewayError):
    code = "server_error"

    @classmethod
    def for_request(cls, request_id: str) -> ServerError:
        """The answer to an unexpected exception: the request id, and nothing else."""
        return cls(
            "The server had an error while processing your request. "
            f"Quote request id {request_id} if you contact support."
        )


class ServiceUnavailable(GatewayError):
    status = 503
    code = "service_unavailable"
    openai_type = "service_unavailable"
    anthropic_type = "api_error"
    retryable = True
    default_message = "Service temporarily unavailable. Please try again later."


class ModelNotAvailable(ServiceUnavailable):
    code = "model_not_available"
    default_message = "The model exists but no deployment of it is available right now."


class AllFallbacksFailed(ServiceUnavailable):
    code = "all_fallbacks_failed"
    default_message = "The model and every allowed fallback failed."


class FallbackBlockedForCacheConsistency(ServiceUnavailable):
    code = "fallback_blocked_for_cache_consistency"
    default_message = (
        "The provider pinned for prompt caching failed, and the request forbids switching "
        "providers for cache consistency."
    )
    body_status: ClassVar[BodyStatus] = "error"


class RateLimitUnavailable(ServiceUnavailable):
    code = "rate_limit_unavailable"
    default_message = "Rate limiting is temporarily unavailable; the request was not run."
    default_retry_after = 1


class UpstreamTimeout(GatewayError):
    status = 504
    code = "upstream_timeout"
    openai_type = "timeout_error"
    anthropic_type = "timeout_error"
    retryable = True
    default_message = "The model provider did not answer in time."


# Registries derived from the tree ----------------------------------------------------


def _walk(cls: type[GatewayError]) -> Iterator[type[GatewayError]]:
    """Subclasses defined in this module: the catalogue does not depend on what else is imported."""
    for sub in cls.__subclasses__():
        if sub.__module__ == __name__:
            yield sub
            yield from _walk(sub)


@cache
def catalogue() -> tuple[type[GatewayError], ...]:
    """Every error the gateway answers with, in tree order, one class per code.

    These are the leaves of the tree, plus ``ServiceUnavailable``, which is
    answered as itself (an overloaded or failing upstream) as well as being the
    family of the more specific 503s.
    """
    return tuple(
        cls
        for cls in _walk(GatewayError)
        if cls is ServiceUnavailable or not any(True for _ in _walk(cls))
    )


@cache
def _by_code() -> dict[str, type[GatewayError]]:
    return {cls.code: cls for cls in catalogue()}


def error_for_code(code: str) -> type[GatewayError] | None:
    """The catalogue class answering with ``code``, or ``None``."""
    return _by_code().get(code)
