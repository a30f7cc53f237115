"""The route table: every endpoint of every surface."""

from __future__ import annotations

from nanogate.server._router import Route
from nanogate.server.routes import (
    chat,
    embeddings,
    legacy,
    messages,
    models,
    moderations,
    ops,
    provider_keys,
    responses,
    usage,
    x402,
)
from nanogate.server.schemas import (
    ChatCompletionRequest,
    CountTokensRequest,
    EmbeddingsRequest,
    MessagesRequest,
    ModerationRequest,
    ProviderKeyRequest,
    ResponsesRequest,
    TalkToGPTRequest,
)


def all_routes() -> list[Route]:
    return [
        Route(
            "POST",
            "/api/v1/chat/completions",
            chat.create_chat_completion,
            "Create a chat completion (OpenAI).",
            ChatCompletionRequest,
        ),
        Route(
            "POST",
            "/api/v1/responses",
            responses.create_response,
            "Create a response (OpenAI Responses API).",
            ResponsesRequest,
        ),
        Route(
            "GET",
            "/api/v1/responses/{response_id}",
            responses.get_response,
            "Retrieve a stored response.",
        ),
        Route(
            "DELETE",
            "/api/v1/responses/{response_id}",
            responses.delete_response,
            "Delete a stored response.",
        ),
        Route(
            "POST",
            "/api/v1/embeddings",
            embeddings.create_embeddings,
            "Create embeddings.",
            EmbeddingsRequest,
        ),
        Route(
            "GET",
            "/api/v1/models",
            models.list_models,
            "List models (add ?detailed=true for pricing and capabilities).",
        ),
        Route("GET", "/api/v1/models/{model_id:path}", models.retrieve_model, "Retrieve a model."),
        Route(
            "POST",
            "/api/v1/moderations",
            moderations.create_moderation,
            "Classify input with a moderation model.",
            ModerationRequest,
        ),
        Route(
            "GET",
            "/api/v1/usage/requests/{request_id}",
            usage.request_billing,
            "The billing of one of your requests from the last 24 hours.",
        ),
        Route(
            "GET",
            "/api/v1/usage",
            usage.usage_report,
            "Your key's requests, spend and tokens by UTC day and model.",
        ),
        Route(
            "POST",
            "/api/v1/messages",
            messages.create_message,
            "Create a message (Anthropic Messages API).",
            MessagesRequest,
            tag="anthropic",
        ),
        Route(
            "POST",
            "/api/v1/messages/count_tokens",
            messages.count_tokens,
            "Count a message request's input tokens.",
            CountTokensRequest,
            tag="anthropic",
        ),
        Route(
            "POST",
            "/api/talk-to-gpt",
            legacy.talk_to_gpt,
            "Legacy: a plain-text answer with a <NanoGPT> usage trailer.",
            TalkToGPTRequest,
            tag="legacy",
        ),
        Route(
            "POST",
            "/api/check-balance",
            legacy.check_balance,
            "Legacy: the account balance of the calling key.",
            tag="legacy",
        ),
        Route("GET", "/api/models", legacy.list_model_ids, "Legacy: model ids.", tag="legacy"),
        Route(
            "POST",
            "/api/user/provider-keys",
            provider_keys.store_provider_key,
            "BYOK: store your own API key for a provider (sealed at rest).",
            ProviderKeyRequest,
            tag="byok",
        ),
        Route(
            "GET",
            "/api/user/provider-keys",
            provider_keys.list_provider_keys,
            "BYOK: the providers you stored a key for, and each key's last four characters.",
            tag="byok",
        ),
        Route(
            "DELETE",
            "/api/user/provider-keys",
            provider_keys.delete_provider_key,
            "BYOK: remove your key for ?provider=NAME.",
            tag="byok",
        ),
        Route(
            "GET",
            "/api/v1/x402/endpoints",
            x402.endpoints,
            "x402: the endpoints that quote accountless requests, and the rails they take.",
            tag="x402",
        ),
        Route(
            "GET",
            "/api/x402/status/{payment_id}",
            x402.payment_status,
            "x402: where a payment stands (Retry-After while it is still moving).",
            tag="x402",
        ),
        Route(
            "POST",
            "/api/x402/complete/{payment_id}",
            x402.complete_payment,
            "x402: run a paid payment's stored request once, and answer with its answer.",
            tag="x402",
        ),
        Route("GET", "/healthz", ops.healthz, "Liveness.", logged=False, tag="ops"),
        Route("GET", "/readyz", ops.readyz, "Readiness.", logged=False, tag="ops"),
        Route("GET", "/metrics", ops.metrics, "Prometheus metrics.", logged=False, tag="ops"),
        Route(
            "GET", "/api/v1/openapi.json", ops.openapi, "This document.", logged=False, tag="ops"
        ),
    ]
