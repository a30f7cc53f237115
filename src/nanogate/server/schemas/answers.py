"""What successful answers look like, for the OpenAPI document.

The routes build their answers as plain data; these models only describe them (the
conformance tests check every answer against them). Fields an upstream adds pass
through, so every object allows more properties than it names.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AnswerSchema(BaseModel):
    model_config = ConfigDict(extra="allow")


# Shared pieces -----------------------------------------------------------------------


class Pricing(AnswerSchema):
    """``x_nanogpt_pricing``: what the request was charged, in exact decimal dollars."""

    amount: float
    currency: Literal["USD"]
    cost: float
    paymentSource: Literal["balance", "x402"]
    inputTokens: int
    outputTokens: int


class ChatUsage(AnswerSchema):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class StreamError(AnswerSchema):
    """The error of a stream's terminal frame."""

    status: int
    message: str
    code: str


# Chat completions --------------------------------------------------------------------


class FunctionCallAnswer(AnswerSchema):
    name: str
    arguments: str


class ToolCallAnswer(AnswerSchema):
    id: str
    type: Literal["function"]
    function: FunctionCallAnswer


class AssistantMessage(AnswerSchema):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCallAnswer] | None = None
    refusal: str | None = None


class ChatChoice(AnswerSchema):
    index: int
    message: AssistantMessage
    finish_reason: str | None


class ChatCompletion(AnswerSchema):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage | None = None
    x_nanogpt_pricing: Pricing


class ChatCompletionChunk(AnswerSchema):
    """One ``data:`` event of a chat stream; the last one is ``[DONE]``, and a stream that
    fails after its first byte ends with a chunk carrying ``error``."""

    id: str
    object: Literal["chat.completion.chunk"]
    choices: list[dict[str, Any]]
    usage: ChatUsage | None = None
    x_nanogpt_pricing: Pricing | None = None
    error: StreamError | None = None


# Responses ---------------------------------------------------------------------------


class ResponseObject(AnswerSchema):
    """A stored response, as ``GET /api/v1/responses/{response_id}`` returns it."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "failed", "in_progress"]
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class CreatedResponse(ResponseObject):
    x_nanogpt_pricing: Pricing


class DeletedResponse(AnswerSchema):
    id: str
    object: Literal["response"]
    deleted: Literal[True]


class StreamEvent(AnswerSchema):
    """One event of a Messages or Responses stream (its SSE ``event`` is ``type``)."""

    type: str


# Embeddings and moderations ----------------------------------------------------------


class Embedding(AnswerSchema):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(
        description="The vector, or its little-endian float32 bytes in base64."
    )


class EmbeddingUsage(AnswerSchema):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(AnswerSchema):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    x_nanogpt_pricing: Pricing


class ModerationVerdict(AnswerSchema):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]


class Moderation(AnswerSchema):
    id: str
    model: str
    results: list[ModerationVerdict]
    usage: ChatUsage
    x_nanogpt_pricing: Pricing


# Messages (Anthropic) ----------------------------------------------------------------


class MessageUsage(AnswerSchema):
    input_tokens: int
    output_tokens: int


class Message(AnswerSchema):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: MessageUsage
    x_nanogpt_pricing: Pricing


class TokenCount(AnswerSchema):
    input_tokens: int


# Models ------------------------------------------------------------------------------


class ModelPricing(AnswerSchema):
    prompt: float
    completion: float
    currency: Literal["USD"]
    unit: Literal["per_million_tokens"]


class ModelObject(AnswerSchema):
    """A model; ``?detailed=true`` adds the fields after ``owned_by``."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    name: str | None = None
    description: str | None = None
    type: Literal["chat", "embedding", "moderation"] | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    capabilities: dict[str, bool] | None = None
    pricing: ModelPricing | None = None
    dimensions: int | None = None


class ModelList(AnswerSchema):
    object: Literal["list"]
    data: list[ModelObject]


# Usage -------------------------------------------------------------------------------


class BillingUsage(AnswerSchema):
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None


class RequestBilling(AnswerSchema):
    object: Literal["request_billing"]
    request_id: str
    created_at: str
    expires_at: str
    as_of: str
    cost: str = Field(description="Exact decimal dollars.")
    currency: Literal["USD"]
    cost_scope: Literal["primary_charge"]
    add_ons: dict[str, str] = Field(
        description="The paid add-ons in `cost` (`webSearch`, `memory`), each in exact "
        "decimal dollars; empty when the request used none."
    )
    usage: BillingUsage


class UsageTotals(AnswerSchema):
    requests: int
    costUsd: float
    refundedUsd: float
    netCostUsd: float
    inputTokens: int
    outputTokens: int
    reasoningTokens: int
    totalTokens: int


class UsageGroup(UsageTotals):
    date: str | None = None
    model: str | None = None


class UsageKey(AnswerSchema):
    id: str


class UsageReport(AnswerSchema):
    object: Literal["usage"]
    scope: Literal["current_key"]
    apiKey: UsageKey
    from_: str = Field(alias="from")
    to: str
    timezone: Literal["UTC"]
    groupBy: Literal["day", "model", "day,model"]
    asOf: str
    totals: UsageTotals
    byDay: list[UsageGroup] | None = None
    byModel: list[UsageGroup] | None = None
    byDayModel: list[UsageGroup] | None = None


# Legacy and BYOK ---------------------------------------------------------------------


class MemoryUsageDetails(AnswerSchema):
    cached_tokens: int


class MemoryUsage(AnswerSchema):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: MemoryUsageDetails


class MemoryMessage(AnswerSchema):
    role: str
    content: Any


class MemoryCompression(AnswerSchema):
    """``POST /api/v1/memory``: the conversation as memory sends it on."""

    messages: list[MemoryMessage]
    usage: MemoryUsage


class Balance(AnswerSchema):
    usd_balance: str
    usd_reserved: str
    nano_balance: str


class ModelIds(AnswerSchema):
    models: list[str]


class StoredProviderKey(AnswerSchema):
    provider: str
    suffix: str = Field(description="The last four characters of the stored key.")
    updatedAt: str


class ProviderKeyList(AnswerSchema):
    object: Literal["list"]
    data: list[StoredProviderKey]


class DeletedProviderKey(AnswerSchema):
    provider: str
    deleted: Literal[True]


# x402 --------------------------------------------------------------------------------


class X402Rail(AnswerSchema):
    scheme: str
    protocolScheme: str
    network: str
    asset: str


class X402Endpoint(AnswerSchema):
    endpoint: str
    method: str
    supported: bool
    schemes: list[str]
    streaming: bool
    async_: bool = Field(alias="async")
    quoteType: Literal["max_cost"] | None
    notes: str


class X402EndpointsMeta(AnswerSchema):
    count: int
    totalCount: int
    unsupportedIncluded: bool
    enabled: bool
    x402Version: Literal[1]
    rails: list[X402Rail]
    requiresOptIn: bool | None = None
    quoteTtlSeconds: int | None = None


class X402Endpoints(AnswerSchema):
    object: Literal["x402.endpoint_support.list"]
    version: Literal[1]
    data: list[X402Endpoint]
    meta: X402EndpointsMeta


class PaymentRail(AnswerSchema):
    scheme: str
    protocolScheme: str
    network: str
    payTo: str
    amount: str
    received: str


class PaymentStatus(AnswerSchema):
    paymentId: str
    status: Literal["pending", "underpaid", "paid", "processing", "completed", "failed", "expired"]
    expiresAt: str
    amountUsd: str
    requestHash: str
    statusUrl: str
    completeUrl: str
    rails: list[PaymentRail]
    paidWith: str | None = None
    requestId: str | None = None


class ChallengeError(AnswerSchema):
    type: Literal["insufficient_quota"]
    code: Literal["insufficient_quota"]
    message: str


class ChallengePayment(AnswerSchema):
    version: Literal[1]
    paymentId: str
    requestHash: str
    expiresAt: str
    amountUsd: str
    statusUrl: str
    completeUrl: str
    accepted: list[dict[str, Any]]


class PaymentChallengeBody(AnswerSchema):
    """The x402 402: how to pay for the request, in NanoGPT's shape."""

    error: ChallengeError
    payment: ChallengePayment
    x402Version: Literal[1]
    accepts: list[dict[str, Any]]


# Operations --------------------------------------------------------------------------


class Health(AnswerSchema):
    status: Literal["ok"]


class Ready(AnswerSchema):
    status: Literal["ready"]


class Unready(AnswerSchema):
    status: Literal["unavailable"]
    reason: str


class OpenAPIDocument(AnswerSchema):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
