"""The public face of each package: a pinned, sorted ``__all__`` whose every name imports."""

from __future__ import annotations

import importlib
import types

import pytest

# Changing a package's public names is a deliberate act: update this table with it.
EXPORTS: dict[str, list[str]] = {
    "nanogate.errors": [
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
        "PaymentNotFound",
        "PaymentRequired",
        "PermissionDenied",
        "RateLimitExceeded",
        "RateLimitUnavailable",
        "RateLimited",
        "RequestNotFound",
        "RequestTimeout",
        "RequestTooLarge",
        "ResponseNotFound",
        "RouteNotFound",
        "ServerError",
        "ServiceUnavailable",
        "ToolChoiceUnsupported",
        "UnsupportedBatchInput",
        "UnsupportedInputModality",
        "UnsupportedMediaType",
        "UnsupportedModerationInput",
        "UpstreamTimeout",
        "WebSearchBalanceRequired",
        "catalogue",
        "error_for_code",
    ],
    "nanogate.core": [
        "DONE",
        "KEEPALIVE",
        "NANO_PER_USD",
        "SSEDecoder",
        "SSEEvent",
        "Surface",
        "anthropic_body",
        "chat_stream_error",
        "count_chat_tokens",
        "count_content_tokens",
        "count_tokens",
        "count_value_tokens",
        "error_headers",
        "format_usd",
        "hash_api_key",
        "key_prefix",
        "legacy_body",
        "looks_like_api_key",
        "messages_stream_error",
        "nano_to_usd",
        "new_api_key",
        "new_id",
        "new_request_id",
        "openai_body",
        "redact",
        "render_error",
        "responses_stream_failed",
        "sse_frame",
        "token_cost_nano",
        "tokenize",
        "usd_to_nano",
    ],
    "nanogate.billing": [
        "Admission",
        "Hold",
        "Ledger",
        "Limits",
        "RedisLimiter",
        "Replay",
        "cost",
        "day_of",
        "maximum_cost",
        "second_of",
        "seconds_until_midnight",
        "usage_tokens",
        "with_fee",
    ],
    "nanogate.config": [
        "ByokSettings",
        "CAPABILITIES",
        "ConfigError",
        "DatabaseSettings",
        "DeploymentSettings",
        "LimitSettings",
        "ModelSettings",
        "ModerationCategory",
        "ModerationSettings",
        "ProviderSettings",
        "RedisSettings",
        "RoutingSettings",
        "ServerSettings",
        "Settings",
        "X402Settings",
        "load_settings",
    ],
    "nanogate.moderation": [
        "InlineModeration",
        "Input",
        "ModerationCall",
        "ModerationResult",
        "Moderator",
        "OpenAIModerator",
        "Part",
        "RuleModerator",
        "Verdict",
        "asks",
        "build_moderators",
        "check_moderatable",
        "check_readable",
        "prompt_input",
        "request_inputs",
        "requested",
        "verdict_headers",
    ],
    "nanogate.storage": [
        "APIKey",
        "Account",
        "Audit",
        "Changes",
        "Charged",
        "Driver",
        "LedgerEntry",
        "NewKey",
        "PostgresDriver",
        "ProviderCredential",
        "Query",
        "RequestRecord",
        "Result",
        "SQLStore",
        "SQLiteDriver",
        "Script",
        "Store",
        "StoredResponse",
        "UsageRow",
        "async_url",
        "driver_for",
    ],
    "nanogate.routing": [
        "Breakers",
        "Catalog",
        "Constraints",
        "Deployment",
        "Model",
        "ModelType",
        "Plan",
        "StickyRoutes",
        "chain",
        "constraints_from",
        "plan",
    ],
    "nanogate.providers": [
        "ChatCall",
        "EmbeddingCall",
        "EmbeddingResult",
        "Provider",
        "stream_ended_early",
    ],
    "nanogate.server": [
        "Gateway",
        "create_app",
    ],
    "nanogate.byok": [
        "ByokOptions",
        "MIN_SECRET_LENGTH",
        "SealError",
        "Sealer",
        "byok_options",
        "sealer_for",
    ],
    "nanogate.x402": [
        "Asset",
        "FINAL",
        "Offer",
        "PaymentPayload",
        "PaymentRefused",
        "Quote",
        "Refusal",
        "Status",
        "USDC",
        "XNO",
        "canonical_body",
        "challenge_body",
        "completion_refusal",
        "decode_payment",
        "encode_payment",
        "observed_status",
        "request_hash",
        "retry_after",
    ],
    "nanogate": ["__version__"],
    "nanogate.testing": [
        "FakeUpstream",
        "Fault",
        "ServedASGI",
        "ServedAioHTTP",
        "refused_url",
    ],
    "nanogate.translate": [
        "Event",
        "MessagesStream",
        "ResponsesStream",
        "chat_to_message",
        "chat_to_response",
        "messages_to_chat",
        "output_to_chat",
        "responses_to_chat",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_all_is_pinned(module: str) -> None:
    """Each package exports exactly the pinned names."""
    assert importlib.import_module(module).__all__ == EXPORTS[module]


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_all_is_sorted(module: str) -> None:
    """Each package's __all__ is sorted, with no duplicates."""
    names = importlib.import_module(module).__all__
    assert names == sorted(set(names))


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_every_export_imports(module: str) -> None:
    """Every exported name can be imported from the package."""
    package = importlib.import_module(module)
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_public_members_are_exported(module: str) -> None:
    """Every public nanogate object a package holds is in its __all__, none by accident."""
    package = importlib.import_module(module)
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and str(getattr(value, "__module__", "")).startswith("nanogate")
    }
    assert public <= set(package.__all__)
