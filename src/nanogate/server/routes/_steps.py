"""The steps routes take, as the OpenAPI document tells them: each with the parameters
it reads and the catalogue errors it can answer with.

A route lists its steps in the route table; the document groups their errors by
status, in the route's envelope. A step that starts raising a new error adds it here,
where every route that takes the step picks it up. (Errors of the HTTP edge, which
any request can meet, are the document's own: see :mod:`nanogate.server._openapi`.)
"""

from __future__ import annotations

from collections.abc import Mapping

from nanogate.errors import (
    AllFallbacksFailed,
    BothBalanceRequired,
    ConflictingCredentials,
    ConflictingModerationModel,
    ContentPolicyViolation,
    ContextLengthExceeded,
    DailyRequestLimitExceeded,
    DailyUSDLimitExceeded,
    EmptyModerationInput,
    EmptyResponse,
    FallbackBlockedForCacheConsistency,
    IdempotencyConflict,
    ImageInputNotSupported,
    InlineModerationRequiresAPIKey,
    InsufficientBalance,
    InvalidAPIKey,
    InvalidJSON,
    InvalidJSONSchema,
    InvalidParameterValue,
    MemoryBalanceRequired,
    MissingAPIKey,
    MissingRequiredParameter,
    ModelNotAllowed,
    ModelNotAvailable,
    ModelNotFound,
    NoFallbackAvailable,
    NotFound,
    PaymentAlreadyCompleted,
    PaymentChallenge,
    PaymentExpired,
    PaymentFailed,
    PaymentInvalid,
    PaymentNotFound,
    PaymentPending,
    RateLimitExceeded,
    RateLimitUnavailable,
    RequestNotFound,
    RequestTimeout,
    RequestTooLarge,
    ResponseNotFound,
    ServiceUnavailable,
    ToolChoiceUnsupported,
    UnsupportedBatchInput,
    UnsupportedInputModality,
    UnsupportedMediaType,
    UnsupportedModerationInput,
    UpstreamTimeout,
    WebSearchBalanceRequired,
)
from nanogate.server._contract import Parameter, step

_STRING = {"type": "string"}
_FLAG = {"type": "string", "description": "1, true, yes or on turn it on (any case)."}


def _query(name: str, description: str, schema: Mapping[str, object] | None = None) -> Parameter:
    return Parameter(name, "query", schema or _STRING, description)


def _header(name: str, description: str, schema: Mapping[str, object] | None = None) -> Parameter:
    return Parameter(name, "header", schema or _STRING, description)


KEY = step(
    ConflictingCredentials,
    MissingAPIKey,
    InvalidAPIKey,
    RateLimitExceeded,
    RateLimitUnavailable,
)
"""``require_key``: the key of ``Authorization: Bearer`` or ``x-api-key`` (both must name
the same key). Requests without a good key count against their address's limit."""

BODY = step(InvalidJSON, RequestTimeout, RequestTooLarge, UnsupportedMediaType)
"""Reading a JSON body: its media type, encoding, size and arrival time."""

VALIDATION = step(MissingRequiredParameter, InvalidParameterValue)
"""Validating the body against the route's schema, and reading the gateway's own fields
(``provider``, ``byok``, ``prompt_caching``)."""

ROUTING = step(
    ModelNotFound,
    ModelNotAllowed,
    InvalidParameterValue,
    NoFallbackAvailable,
    parameters=(_header("X-Provider", "Only this provider (as body `provider: NAME`)."),),
)
"""Resolving the model (suffixes, allowlists) and planning its deployments."""

CHAT_CHECKS = step(
    ImageInputNotSupported,
    UnsupportedInputModality,
    ToolChoiceUnsupported,
    InvalidParameterValue,
    InvalidJSONSchema,
    ContextLengthExceeded,
)
"""The checks of a chat-dialect request against the model it names."""

BYOK = step(
    InvalidParameterValue,
    MissingAPIKey,
    parameters=(
        _header("x-use-byok", "Run on your stored provider keys (BYOK).", _FLAG),
        _header("x-byok-provider", "BYOK: only this provider."),
    ),
)
"""Choosing the deployments a BYOK request may use with the key's own credentials."""

ADMISSION = step(
    InsufficientBalance,
    RateLimitExceeded,
    DailyRequestLimitExceeded,
    DailyUSDLimitExceeded,
    RateLimitUnavailable,
)
"""Counting the request against its key's limits and holding its maximum cost."""

ADD_ONS = step(
    WebSearchBalanceRequired,
    MemoryBalanceRequired,
    BothBalanceRequired,
    ServiceUnavailable,
    InvalidParameterValue,
    parameters=(
        _header("memory", "Context memory: `true` as the `:memory` suffix, `false` turns it off."),
        _header(
            "memory_expiration_days",
            "Context memory: days to keep it (1..365), over the suffix's.",
            {"type": "integer", "minimum": 1, "maximum": 365},
        ),
    ),
)
"""The paid add-ons (web search, context memory): their costs held with the request,
the 402 naming the add-on the balance does not cover, and a search service that fails."""

MEMORY_COMPRESSION = step(
    MemoryBalanceRequired,
    ServiceUnavailable,
    InvalidParameterValue,
    ContextLengthExceeded,
    parameters=(
        _header(
            "memory_expiration_days",
            "Days to keep the summary (1..365), over the body's `expiration_days`.",
            {"type": "integer", "minimum": 1, "maximum": 365},
        ),
    ),
)
"""``POST /api/v1/memory``: memory's hold, its summary model, the days to keep it."""

MODERATOR = step(ModelNotAvailable, ServiceUnavailable, UpstreamTimeout, RateLimitExceeded)
"""Running a moderation model."""

INLINE_MODERATION = step(
    ConflictingModerationModel,
    InlineModerationRequiresAPIKey,
    EmptyModerationInput,
    UnsupportedModerationInput,
    ImageInputNotSupported,
    ContentPolicyViolation,
    ModelNotFound,
    ModelNotAllowed,
    InvalidParameterValue,
    *MODERATOR.errors,
    *ADMISSION.errors,
    parameters=(
        _header("moderation", "Moderate the prompt first: true, or a moderation model id."),
        _header("moderation-model", "The moderation model, with `moderation: true`."),
    ),
)
"""The preflight of inline moderation, when the ``moderation`` header asks for it."""

UPSTREAM = step(
    ContentPolicyViolation,
    ContextLengthExceeded,
    InvalidParameterValue,
    InvalidAPIKey,
    RequestTooLarge,
    RateLimitExceeded,
    ModelNotAvailable,
    AllFallbacksFailed,
    FallbackBlockedForCacheConsistency,
    ServiceUnavailable,
    UpstreamTimeout,
    EmptyResponse,
)
"""Dispatching to the deployments in turn: the upstream failures, mapped."""

IDEMPOTENCY = step(
    InvalidParameterValue,
    IdempotencyConflict,
    parameters=(
        _header(
            "Idempotency-Key",
            "A repeat with the same key and body replays the first answer, charged once.",
            {"type": "string", "maxLength": 255, "pattern": r"^\S(.*\S)?$"},
        ),
    ),
)

GENERATION = (
    ROUTING,
    CHAT_CHECKS,
    BYOK,
    ADMISSION,
    ADD_ONS,
    INLINE_MODERATION,
    UPSTREAM,
    IDEMPOTENCY,
)
"""Everything a generation request goes through after its body is valid."""

ACCOUNTLESS = step(
    PaymentChallenge,
    PaymentInvalid,
    PaymentAlreadyCompleted,
    PaymentExpired,
    PaymentFailed,
    ServiceUnavailable,
    InlineModerationRequiresAPIKey,
    parameters=(
        _header("X-PAYMENT", "x402: the base64 payment of a quote (exact rails)."),
        _header("x-x402", "x402: `true` opts a request without a key in to a quote."),
    ),
)
"""A request without credentials to an endpoint that quotes it (x402 on)."""

PAYMENT = step(PaymentNotFound, ServiceUnavailable)
"""Looking a payment up, and asking its rails where it stands."""

COMPLETE = step(PaymentPending, PaymentAlreadyCompleted, PaymentExpired, PaymentFailed)
"""Claiming a paid payment for one run of its stored request."""

DETAILED = step(
    parameters=(_query("detailed", "true, 1 or yes (any case) adds pricing and capabilities."),)
)

SUPPORTED_ALL = step(
    parameters=(
        _query(
            "supported",
            "`all` lists the paid endpoints that take no accountless payment as well.",
        ),
    )
)

RESPONSE_LOOKUP = step(ResponseNotFound)

REQUEST_LOOKUP = step(RequestNotFound)

USAGE_RANGE = step(
    InvalidParameterValue,
    parameters=(
        _query("from", "First UTC day (with `to`).", {"type": "string", "format": "date"}),
        _query("to", "Last UTC day (with `from`).", {"type": "string", "format": "date"}),
        _query(
            "group_by",
            "How to group the report (default day,model).",
            {"type": "string", "enum": ["day", "model", "day,model", "model,day"]},
        ),
    ),
)

BATCH = step(UnsupportedBatchInput, InvalidParameterValue, ContextLengthExceeded)
"""An embedding or moderation request's inputs against the model's limits."""

MODERATIONS = step(
    ModelNotFound,
    ModelNotAllowed,
    InvalidParameterValue,
    EmptyModerationInput,
    UnsupportedModerationInput,
    ImageInputNotSupported,
    *MODERATOR.errors,
)
"""``POST /api/v1/moderations``: its model, its inputs, its moderator."""

ACCOUNT = step(InvalidAPIKey)
"""The account of the key (gone if it was deleted)."""

BYOK_STORE = step(InvalidParameterValue)
"""Storing a provider key: BYOK must be on and the provider must take keys."""

BYOK_DELETE = step(
    MissingRequiredParameter,
    NotFound,
    parameters=(
        Parameter(
            "provider",
            "query",
            {"type": "string", "minLength": 1},
            "The provider whose stored key to remove.",
            required=True,
        ),
    ),
)

MODELS_LOOKUP = step(ModelNotFound)

ADMIN_TOKEN = step(InvalidAPIKey, NotFound)
"""``admin_of``: the admin API is served (else 404, as for any unknown path), and
``Authorization: Bearer`` holds the admin token."""

_CURSOR = (
    _query("limit", "Rows per page, 1 to 1000 (default 50).", {"type": "integer"}),
    _query("cursor", "Where to continue: the `next_cursor` of the previous page."),
)

ADMIN_PAGE = step(InvalidParameterValue, parameters=_CURSOR)
"""A listing: ``limit`` and ``cursor`` (one this gateway made)."""

ADMIN_ACCOUNTS = step(parameters=(_query("q", "An account id, or part of its name (any case)."),))
ADMIN_KEYS = step(parameters=(_query("account_id", "Only this account's keys."),))
ADMIN_REQUESTS = step(
    InvalidParameterValue,
    parameters=(
        _query("key_id", "Only this key's requests."),
        _query("account_id", "Only this account's requests."),
        _query("model", "Only this model (as the request named it)."),
        _query("status", "Only this HTTP status.", {"type": "integer"}),
        _query("code", "Only this error code."),
        _query("since", "From this time (ISO 8601).", {"type": "string", "format": "date-time"}),
        _query("until", "Before this time (ISO 8601).", {"type": "string", "format": "date-time"}),
    ),
)
ADMIN_PAYMENTS = step(
    InvalidParameterValue,
    parameters=(_query("status", "Only payments in this state (pending, paid, ...)."),),
)
ADMIN_STATS = step(
    InvalidParameterValue,
    parameters=(
        _query(
            "window",
            "1h, 24h or 7d (default 24h).",
            {"type": "string", "enum": ["1h", "24h", "7d"]},
        ),
    ),
)
ADMIN_LOOKUP = step(NotFound)
"""The account, key, request or payment the path names."""
