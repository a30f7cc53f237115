"""The route table: every endpoint of every surface."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from nanogate.server._contract import Answer, Step
from nanogate.server._router import Route
from nanogate.server.routes import (
    admin,
    chat,
    embeddings,
    legacy,
    memory,
    messages,
    models,
    moderations,
    ops,
    provider_keys,
    responses,
    usage,
    x402,
)
from nanogate.server.routes._steps import (
    ACCOUNT,
    ADMIN_ACCOUNTS,
    ADMIN_KEYS,
    ADMIN_LOOKUP,
    ADMIN_PAGE,
    ADMIN_PAYMENTS,
    ADMIN_REQUESTS,
    ADMIN_STATS,
    ADMIN_TOKEN,
    ADMISSION,
    BATCH,
    BODY,
    BYOK,
    BYOK_DELETE,
    BYOK_STORE,
    COMPLETE,
    DETAILED,
    GENERATION,
    IDEMPOTENCY,
    KEY,
    MEMORY_COMPRESSION,
    MODELS_LOOKUP,
    MODERATIONS,
    PAYMENT,
    REQUEST_LOOKUP,
    RESPONSE_LOOKUP,
    ROUTING,
    SUPPORTED_ALL,
    UPSTREAM,
    USAGE_RANGE,
    VALIDATION,
)
from nanogate.server.schemas import (
    ChatCompletionRequest,
    CountTokensRequest,
    EmbeddingsRequest,
    MemoryRequest,
    MessagesRequest,
    ModerationRequest,
    ProviderKeyRequest,
    ResponsesRequest,
    TalkToGPTRequest,
    answers,
)
from nanogate.server.schemas.admin import (
    CreateAccountRequest,
    CreateKeyRequest,
    TopupRequest,
)

READ = (BODY, VALIDATION)
"""Reading and validating a JSON body."""


ADMIN = "/api/admin/v1"


def _admin(
    method: str,
    path: str,
    endpoint: Any,
    summary: str,
    request_model: type[BaseModel] | None = None,
    steps: tuple[Step, ...] = (),
) -> Route:
    reads = (*READ,) if request_model is not None else ()
    return Route(
        method,
        ADMIN + path,
        endpoint,
        summary,
        request_model,
        logged=False,
        tag="admin",
        steps=(ADMIN_TOKEN, *reads, *steps),
    )


def admin_routes() -> list[Route]:
    """The admin API (DESIGN section 11)."""
    return [
        _admin(
            "GET",
            "/accounts",
            admin.list_accounts,
            "List accounts, newest first.",
            steps=(ADMIN_ACCOUNTS, ADMIN_PAGE),
        ),
        _admin(
            "POST", "/accounts", admin.create_account, "Create an account.", CreateAccountRequest
        ),
        _admin(
            "GET",
            "/accounts/{account_id}",
            admin.get_account,
            "One account.",
            steps=(ADMIN_LOOKUP,),
        ),
        _admin(
            "POST",
            "/accounts/{account_id}/topup",
            admin.topup_account,
            "Add funds to an account.",
            TopupRequest,
            (ADMIN_LOOKUP,),
        ),
        _admin(
            "GET",
            "/accounts/{account_id}/ledger",
            admin.account_ledger,
            "An account's ledger, newest first.",
            steps=(ADMIN_LOOKUP, ADMIN_PAGE),
        ),
        _admin(
            "GET",
            "/keys",
            admin.list_keys,
            "List API keys (never a secret).",
            steps=(ADMIN_KEYS, ADMIN_PAGE),
        ),
        _admin(
            "POST",
            "/keys",
            admin.create_key,
            "Create an API key; the answer is the only time its secret is shown.",
            CreateKeyRequest,
            (ADMIN_LOOKUP,),
        ),
        _admin(
            "POST",
            "/keys/{key_id}/revoke",
            admin.revoke_key,
            "Revoke an API key.",
            steps=(ADMIN_LOOKUP,),
        ),
        _admin(
            "GET",
            "/requests",
            admin.list_requests,
            "The request log, newest first.",
            steps=(ADMIN_REQUESTS, ADMIN_PAGE),
        ),
        _admin(
            "GET",
            "/requests/{request_id}",
            admin.get_request,
            "A request's full record, its attempts included.",
            steps=(ADMIN_LOOKUP,),
        ),
        _admin(
            "GET",
            "/payments",
            admin.list_payments,
            "x402 payments, newest first.",
            steps=(ADMIN_PAYMENTS, ADMIN_PAGE),
        ),
        _admin(
            "GET",
            "/payments/{payment_id}",
            admin.get_payment,
            "A payment with its offers and receipts.",
            steps=(ADMIN_LOOKUP,),
        ),
        _admin(
            "GET",
            "/stats",
            admin.stats,
            "Requests, errors by code, spend and latency per time bucket.",
            steps=(ADMIN_STATS,),
        ),
        _admin(
            "GET",
            "/deployments",
            admin.deployments,
            "Each deployment's circuit breaker and recent latency (this worker's).",
        ),
        _admin(
            "GET",
            "/audit",
            admin.audit,
            "The audit trail of changes, newest first.",
            steps=(ADMIN_PAGE,),
        ),
    ]


def console_routes() -> list[Route]:
    """The console's pages (not in the OpenAPI document)."""
    from nanogate.server.console import _pages as pages

    table: list[tuple[str, str, Any, str]] = [
        ("GET", "", pages.overview, "Overview: figures and charts."),
        ("GET", "/login", pages.login_page, "Sign-in form."),
        ("POST", "/login", pages.login, "Sign in with the admin token."),
        ("POST", "/logout", pages.logout, "Sign out."),
        ("GET", "/stats.json", pages.stats_json, "The overview's figures."),
        ("GET", "/accounts", pages.accounts, "Accounts."),
        ("POST", "/accounts", pages.create_account, "Create an account."),
        ("GET", "/accounts/{account_id}", pages.account, "An account and its ledger."),
        ("POST", "/accounts/{account_id}/topup", pages.topup, "Top up an account."),
        ("GET", "/keys", pages.keys, "API keys."),
        ("POST", "/keys", pages.create_key, "Create a key."),
        ("GET", "/keys/{key_id}", pages.key, "A key: limits and usage."),
        ("POST", "/keys/{key_id}/revoke", pages.revoke_key, "Revoke a key."),
        ("GET", "/requests", pages.requests, "The request log."),
        ("GET", "/requests/{request_id}", pages.request, "A request."),
        ("GET", "/payments", pages.payments, "x402 payments."),
        ("GET", "/payments/{payment_id}", pages.payment, "A payment."),
        ("GET", "/deployments", pages.deployments, "Deployments' health."),
        ("GET", "/audit", pages.audit, "The audit trail."),
        ("GET", "/static/{name:path}", pages.static, "The console's assets."),
    ]
    return [
        Route(
            method, "/console" + path, endpoint, summary, logged=False, tag="console", public=True
        )
        for method, path, endpoint, summary in table
    ]


def all_routes() -> list[Route]:
    """Every route; the admin API's and the console's last, so their patterns never slow
    the API's lookups."""
    return api_routes() + admin_routes() + console_routes()


def api_routes() -> list[Route]:
    return [
        Route(
            "POST",
            "/api/v1/chat/completions",
            chat.create_chat_completion,
            "Create a chat completion (OpenAI).",
            ChatCompletionRequest,
            answer=Answer(
                answers.ChatCompletion, stream=answers.ChatCompletionChunk, stream_end="[DONE]"
            ),
            steps=(KEY, *READ, *GENERATION),
        ),
        Route(
            "POST",
            "/api/v1/responses",
            responses.create_response,
            "Create a response (OpenAI Responses API).",
            ResponsesRequest,
            answer=Answer(answers.CreatedResponse, stream=answers.StreamEvent),
            steps=(KEY, *READ, RESPONSE_LOOKUP, *GENERATION),
        ),
        Route(
            "GET",
            "/api/v1/responses/{response_id}",
            responses.get_response,
            "Retrieve a stored response.",
            answer=Answer(answers.ResponseObject),
            steps=(KEY, RESPONSE_LOOKUP),
        ),
        Route(
            "DELETE",
            "/api/v1/responses/{response_id}",
            responses.delete_response,
            "Delete a stored response.",
            answer=Answer(answers.DeletedResponse),
            steps=(KEY, RESPONSE_LOOKUP),
        ),
        Route(
            "POST",
            "/api/v1/embeddings",
            embeddings.create_embeddings,
            "Create embeddings.",
            EmbeddingsRequest,
            answer=Answer(answers.EmbeddingList),
            steps=(KEY, *READ, ROUTING, BATCH, BYOK, ADMISSION, UPSTREAM, IDEMPOTENCY),
        ),
        Route(
            "GET",
            "/api/v1/models",
            models.list_models,
            "List models (add ?detailed=true for pricing and capabilities).",
            answer=Answer(answers.ModelList),
            steps=(DETAILED,),
            public=True,
        ),
        Route(
            "GET",
            "/api/v1/models/{model_id:path}",
            models.retrieve_model,
            "Retrieve a model.",
            answer=Answer(answers.ModelObject),
            steps=(DETAILED, MODELS_LOOKUP),
            public=True,
        ),
        Route(
            "POST",
            "/api/v1/moderations",
            moderations.create_moderation,
            "Classify input with a moderation model.",
            ModerationRequest,
            answer=Answer(answers.Moderation),
            steps=(KEY, *READ, MODERATIONS, BATCH, ADMISSION, IDEMPOTENCY),
        ),
        Route(
            "GET",
            "/api/v1/usage/requests/{request_id}",
            usage.request_billing,
            "The billing of one of your requests from the last 24 hours.",
            answer=Answer(answers.RequestBilling),
            steps=(KEY, REQUEST_LOOKUP),
        ),
        Route(
            "GET",
            "/api/v1/usage",
            usage.usage_report,
            "Your key's requests, spend and tokens by UTC day and model.",
            answer=Answer(answers.UsageReport),
            steps=(KEY, USAGE_RANGE),
        ),
        Route(
            "POST",
            "/api/v1/messages",
            messages.create_message,
            "Create a message (Anthropic Messages API).",
            MessagesRequest,
            tag="anthropic",
            answer=Answer(answers.Message, stream=answers.StreamEvent),
            steps=(KEY, *READ, *GENERATION),
        ),
        Route(
            "POST",
            "/api/v1/messages/count_tokens",
            messages.count_tokens,
            "Count a message request's input tokens.",
            CountTokensRequest,
            tag="anthropic",
            answer=Answer(answers.TokenCount),
            steps=(KEY, *READ, ROUTING),
        ),
        Route(
            "POST",
            "/api/v1/memory",
            memory.compress_memory,
            "Compress a conversation with context memory (no inference of its own).",
            MemoryRequest,
            tag="memory",
            answer=Answer(answers.MemoryCompression),
            steps=(KEY, *READ, ADMISSION, MEMORY_COMPRESSION, UPSTREAM, IDEMPOTENCY),
        ),
        Route(
            "POST",
            "/api/talk-to-gpt",
            legacy.talk_to_gpt,
            "Legacy: a plain-text answer with a <NanoGPT> usage trailer.",
            TalkToGPTRequest,
            tag="legacy",
            answer=Answer(media="text/plain"),
            steps=(KEY, *READ, *GENERATION),
        ),
        Route(
            "POST",
            "/api/check-balance",
            legacy.check_balance,
            "Legacy: the account balance of the calling key.",
            tag="legacy",
            answer=Answer(answers.Balance),
            steps=(KEY, ACCOUNT),
        ),
        Route(
            "GET",
            "/api/models",
            legacy.list_model_ids,
            "Legacy: model ids.",
            tag="legacy",
            answer=Answer(answers.ModelIds),
            public=True,
        ),
        Route(
            "POST",
            "/api/user/provider-keys",
            provider_keys.store_provider_key,
            "BYOK: store your own API key for a provider (sealed at rest).",
            ProviderKeyRequest,
            tag="byok",
            answer=Answer(answers.StoredProviderKey),
            steps=(KEY, *READ, BYOK_STORE),
        ),
        Route(
            "GET",
            "/api/user/provider-keys",
            provider_keys.list_provider_keys,
            "BYOK: the providers you stored a key for, and each key's last four characters.",
            tag="byok",
            answer=Answer(answers.ProviderKeyList),
            steps=(KEY,),
        ),
        Route(
            "DELETE",
            "/api/user/provider-keys",
            provider_keys.delete_provider_key,
            "BYOK: remove your key for ?provider=NAME.",
            tag="byok",
            answer=Answer(answers.DeletedProviderKey),
            steps=(KEY, BYOK_DELETE),
        ),
        Route(
            "GET",
            "/api/v1/x402/endpoints",
            x402.endpoints,
            "x402: the endpoints that take accountless payments, and how (NanoGPT's schema).",
            tag="x402",
            answer=Answer(answers.X402Endpoints),
            steps=(SUPPORTED_ALL,),
            public=True,
        ),
        Route(
            "GET",
            "/api/x402/status/{payment_id}",
            x402.payment_status,
            "x402: where a payment stands (Retry-After while it is still moving).",
            tag="x402",
            answer=Answer(answers.PaymentStatus),
            steps=(PAYMENT,),
            public=True,
        ),
        Route(
            "POST",
            "/api/x402/complete/{payment_id}",
            x402.complete_payment,
            "x402: run a paid payment's stored request once, and answer with its answer.",
            tag="x402",
            steps=(PAYMENT, COMPLETE),
            public=True,
            replays=True,
        ),
        Route(
            "GET",
            "/healthz",
            ops.healthz,
            "Liveness.",
            logged=False,
            tag="ops",
            answer=Answer(answers.Health),
            public=True,
        ),
        Route(
            "GET",
            "/readyz",
            ops.readyz,
            "Readiness.",
            logged=False,
            tag="ops",
            answer=Answer(answers.Ready, others={503: answers.Unready}),
            public=True,
        ),
        Route(
            "GET",
            "/metrics",
            ops.metrics,
            "Prometheus metrics.",
            logged=False,
            tag="ops",
            answer=Answer(media="text/plain"),
            public=True,
        ),
        Route(
            "GET",
            "/api/v1/openapi.json",
            ops.openapi,
            "This document.",
            logged=False,
            tag="ops",
            answer=Answer(answers.OpenAPIDocument),
            public=True,
        ),
    ]
