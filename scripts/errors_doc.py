"""Write docs/errors.md from the error catalogue: `python scripts/errors_doc.py [--check]`.

The statuses, types, retry hints and example bodies come from the class tree and
the renderers themselves; only the prose (what an error means, what a client
should do) lives here. With --check, exit 1 if docs/errors.md is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nanogate import errors
from nanogate.core import chat_stream_error, error_headers, render_error

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"

# code -> (meaning, what a client should do, example constructor arguments)
PROSE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "conflicting_credentials": (
        "`Authorization: Bearer` and `x-api-key` carry different keys.",
        "Send one key, in one header.",
        {},
    ),
    "missing_required_parameter": (
        "A required field is absent; `param` names it.",
        "Add the field.",
        {"message": "Missing required parameter: 'model'.", "param": "model"},
    ),
    "invalid_parameter_value": (
        'A field has the wrong type or is out of range (no coercion: `"5"` is not a number); '
        "`param` names it, with its path for nested fields.",
        "Fix the value.",
        {
            "message": (
                "Invalid type for 'temperature': expected a number, but got a string instead."
            ),
            "param": "temperature",
        },
    ),
    "invalid_json": (
        "The body is not JSON, is empty, or is JSON but not an object.",
        "Send a JSON object.",
        {},
    ),
    "invalid_json_schema": (
        "`response_format.json_schema.schema` (or a tool's `parameters`) is not a valid "
        "JSON Schema (draft 2020-12).",
        "Fix the schema; the message says where it is wrong.",
        {},
    ),
    "tool_choice_unsupported": (
        "`tools` or `tool_choice` was sent to a model without tool calling.",
        "Drop the tools or pick a model whose capabilities include tool calling "
        "(`GET /api/v1/models?detailed=true`).",
        {},
    ),
    "image_input_not_supported": (
        "Image parts were sent to a model without vision.",
        "Remove the images or choose a vision model.",
        {},
    ),
    "unsupported_input_modality": (
        "Audio, file or video parts were sent to a model that cannot take them.",
        "Remove those parts or choose a model that takes them.",
        {"message": "The model 'local/chat' does not accept audio input.", "param": "messages"},
    ),
    "unsupported_batch_input": (
        "A list of inputs was sent to a model that takes one input per request.",
        "Send one request per input.",
        {},
    ),
    "conflicting_moderation_model": (
        "The `moderation` and `moderation-model` headers name different moderation models.",
        "Name one moderation model.",
        {},
    ),
    "inline_moderation_requires_api_key": (
        "Inline moderation (the `moderation` header) was asked for on a request without "
        "an API key (accountless, x402); `param` is `moderation`.",
        "Use an API key, or drop the moderation headers.",
        {},
    ),
    "empty_moderation_input": (
        "There is nothing to moderate: empty or blank text and no images, in "
        "`POST /moderations` input or in an inline-moderated prompt.",
        "Send some input.",
        {},
    ),
    "unsupported_moderation_input": (
        "The moderation model cannot read this kind of input (images for a text-only "
        "moderator, audio, files, video).",
        "Send text, or choose a moderation model that reads this input.",
        {},
    ),
    "content_policy_violation": (
        "Inline moderation flagged the input (the body carries the `moderation` result), "
        "or the model provider's own content filter refused the request or let nothing "
        "through. The generation is not charged; an inline-moderation preflight is.",
        "Change the input. Do not retry unchanged.",
        {
            "message": "The input was flagged by the moderation model 'local/moderation' "
            "(violence); the request was not run. Only the moderation check was charged.",
            "fields": {
                "moderation": {
                    "model": "local/moderation",
                    "flagged": True,
                    "categories": {"harassment": False, "violence": True},
                    "category_scores": {"harassment": 0.0, "violence": 0.9},
                }
            },
        },
    ),
    "context_length_exceeded": (
        "The prompt plus `max_tokens` is over the model's context window (estimated "
        "before dispatch, or reported by the upstream).",
        "Shorten the conversation or lower `max_tokens`.",
        {
            "message": "This model's maximum context length is 2048 tokens. However, you "
            "requested 3013 tokens (3013 in the messages, 0 in the completion). "
            "Reduce the length of the messages or of the completion."
        },
    ),
    "empty_response": (
        "The model produced no content (stop sequences, a tiny `max_tokens`, filtering). "
        "Not charged.",
        "Adjust the request (stop sequences, `max_tokens`) before retrying.",
        {},
    ),
    "no_fallback_available": (
        "The request's own provider constraints (`provider.only`, "
        "`allow_fallbacks: false`, `X-Provider`) leave no usable deployment.",
        "Relax the constraints.",
        {},
    ),
    "speed_suffix_conflict": (
        "The model carries a routing suffix (`:fast`/`:latency`, `:cheap`/`:price`, "
        "`:throughput`) and the request also names or orders providers: a provider "
        "suffix (`model:<provider>`), `X-Provider`, or a body `provider` that is a name "
        "or sets `only`, `order` or `sort`.",
        "Keep either the routing suffix or the provider.",
        {},
    ),
    "malformed_request": (
        "The bytes on the connection are not a valid HTTP/1.1 request: a bad request line "
        "or version, a negative or duplicated `Content-Length`, `Content-Length` together "
        "with `Transfer-Encoding`, a bad chunk size, forbidden characters in a header or the "
        "path. Answered by the HTTP edge before any route sees the request, always in the "
        "OpenAI envelope; the connection is closed. If a response had already started on "
        "the connection, it is closed without an answer.",
        "Fix the client or the proxy in front of the gateway. Do not retry unchanged.",
        {
            "message": "The request is not valid HTTP/1.1: Transfer-Encoding can't be present "
            "with Content-Length.",
            "headers": {"connection": "close"},
        },
    ),
    "missing_api_key": (
        "No key was sent on a route that needs one.",
        "Send `Authorization: Bearer <key>` or `x-api-key: <key>`. Do not retry without one.",
        {},
    ),
    "invalid_api_key": (
        "The key is unknown, revoked or expired; the message says which of the last two.",
        "Fix the key. Do not retry with the same key.",
        {},
    ),
    "insufficient_balance": (
        "The money free on the account (its balance less what requests in flight hold) does "
        "not cover the request's maximum cost: its prompt plus `max_tokens` (or the model's "
        "output cap). `requiredBalance` is that maximum, in dollars; nothing was charged.",
        "Top up, or lower `max_tokens`, then retry.",
        {"fields": {"requiredBalance": 0.0035}},
    ),
    "memory_balance_required": (
        "The balance covers inference but not the paid memory add-on.",
        "Top up or disable memory.",
        {"fields": {"requiredBalance": 0.01}},
    ),
    "webSearch_balance_required": (
        "The balance covers inference but not the paid web-search add-on.",
        "Top up or disable web search.",
        {"fields": {"requiredBalance": 0.01}},
    ),
    "both_balance_required": (
        "The balance covers inference but not the memory and web-search add-ons.",
        "Top up or disable the add-ons.",
        {"fields": {"requiredBalance": 0.02}},
    ),
    "insufficient_quota": (
        "An accountless request can be paid for: the top-level `payment` object is the "
        "quote (x402). Detect it by that object, not by the code.",
        "Pay over one of `payment.accepted[]`, then complete or replay the request.",
        {
            "fields": {
                "payment": {"version": 1, "paymentId": "pay_..."},
                "x402Version": 1,
                "accepts": [],
            }
        },
    ),
    "payment_invalid": (
        "An `X-PAYMENT` replay that cannot pay its quote: not base64 JSON of an x402 v1 "
        "payload, for a different request body or path than the one quoted, the wrong "
        "amount, address or network, or refused by the rail's facilitator. Nothing ran "
        "and nothing was settled.",
        "Sign a payment for the quote's `accepts[]` requirements exactly, and replay the "
        "quoted request unchanged.",
        {"message": "X-PAYMENT pays 1000 atomic units; this quote asks 1500."},
    ),
    "payment_pending": (
        "`POST completeUrl` before the payment has received its amount in full (status "
        "`pending` or `underpaid`).",
        "Poll `statusUrl` (it sends `Retry-After`) until `paid`, then complete.",
        {
            "message": "This payment has not been received in full yet (1000 of 1500 "
            "atomic units on base-usdc); poll its statusUrl."
        },
    ),
    "model_not_allowed": (
        "The key's model allowlist excludes this model.",
        "Use an allowed model or ask the operator to allow this one.",
        {},
    ),
    "not_found": (
        "No such route.",
        "Check the path and the base URL (`/api/v1` for the OpenAI SDK, "
        "`/api` for the Anthropic SDK).",
        {},
    ),
    "model_not_found": (
        "No model has this id.",
        "Check the id against `GET /api/v1/models`.",
        {"message": "The model 'acme/unknown' does not exist."},
    ),
    "response_not_found": (
        "No stored response with this id belongs to this key.",
        "Check the id; responses created with `store: false` are not kept.",
        {},
    ),
    "request_not_found": (
        "No request with this id by this key is visible: unknown, made by another key, "
        "older than 24 hours, or not recorded yet. Sent with `Retry-After: 30`.",
        "Check again after 30 seconds if the request just finished; never assume zero cost.",
        {"retry_after": 30},
    ),
    "payment_not_found": ("No x402 payment with this id.", "Check the `paymentId`.", {}),
    "method_not_allowed": (
        "The route exists but not with this HTTP method; `Allow` lists the methods.",
        "Use one of the allowed methods.",
        {
            "message": "GET is not allowed on /api/v1/chat/completions; allowed: POST.",
            "headers": {"allow": "POST"},
        },
    ),
    "request_timeout": (
        "The request body did not arrive within the body timeout (`[server] "
        "body_timeout_s`), or the request head within the header timeout (`[server] "
        "header_timeout_s`, answered by the HTTP edge in the OpenAI envelope); the "
        "connection is closed. A connection that sends nothing at all is closed without "
        "an answer.",
        "Retry with backoff; check the network path.",
        {"headers": {"connection": "close"}},
    ),
    "idempotency_conflict": (
        "The `Idempotency-Key` was used with a different body, or its first request is "
        "still running.",
        "Use a new key for a new request, or wait for the first to finish.",
        {},
    ),
    "payment_already_completed": (
        "This x402 payment has already run its request.",
        "Do not complete it again.",
        {},
    ),
    "payment_failed": (
        "The paid request failed on each run it was allowed (three by default); the "
        "payment is held for the operator, who can refund it.",
        "Contact the operator with the `paymentId`.",
        {},
    ),
    "payment_expired": ("The x402 quote is past `expiresAt`.", "Request a new quote.", {}),
    "request_too_large": (
        "The body is over the size limit (32 MiB by default, decompressed size for "
        "gzip/deflate). It is refused before it is read whole.",
        "Send less: fewer or smaller images, shorter history.",
        {},
    ),
    "unsupported_media_type": (
        "The body is declared as something other than JSON, or uses a Content-Encoding the "
        "gateway does not decode (it decodes gzip and deflate).",
        "Send `Content-Type: application/json`.",
        {},
    ),
    "request_header_fields_too_large": (
        "The request line and headers are over the limit (64 KiB by default, `[server] "
        "max_header_bytes`). Answered by the HTTP edge as soon as the limit is passed, "
        "before the rest of the head is read, always in the OpenAI envelope; the connection "
        "is closed.",
        "Send fewer or smaller headers (large cookies, long URLs or query strings).",
        {
            "message": "The request line and headers are larger than the limit of "
            "65536 bytes.",
            "headers": {"connection": "close"},
        },
    ),
    "rate_limit_exceeded": (
        "Too many requests per second for this key (or IP for accountless requests), or the "
        "upstream is rate limiting.",
        "Wait `Retry-After` seconds, then retry.",
        {"retry_after": 1},
    ),
    "daily_rpd_limit_exceeded": (
        "This key's requests-per-day limit is reached. It resets at 00:00 UTC; `Retry-After` "
        "counts down to it.",
        "Do not retry before the reset.",
        {"retry_after": 3600},
    ),
    "daily_usd_limit_exceeded": (
        "This key's spending-per-day limit is reached (reservations count). It resets at "
        "00:00 UTC; `Retry-After` counts down to it.",
        "Do not retry before the reset.",
        {"retry_after": 3600},
    ),
    "server_error": (
        "An unexpected failure in the gateway. The message holds the request id; the details "
        "are in the gateway's log under it.",
        "Retry with backoff; quote the request id to the operator if it persists.",
        {
            "message": "The server had an error while processing your request. Quote request id "
            "req_2f6c... if you contact support."
        },
    ),
    "service_unavailable": (
        "The upstream failed or is overloaded, a moderation provider is unavailable "
        "(nothing charged), or the gateway is draining. Also the answer, in the OpenAI "
        "envelope with `Retry-After: 1` and `Connection: close`, to the first request of a "
        "connection opened while the worker already holds `[server] max_connections`; that "
        "request never runs.",
        "Retry with backoff; consider another model if it persists.",
        {},
    ),
    "model_not_available": (
        "The model exists but no deployment is usable now (disabled, circuit open).",
        "Retry later or choose another model.",
        {},
    ),
    "all_fallbacks_failed": (
        "The model and each allowed fallback failed; the message lists each attempt.",
        "Retry with backoff.",
        {},
    ),
    "fallback_blocked_for_cache_consistency": (
        "The provider pinned for prompt caching failed and the request forbids switching "
        "(`prompt_caching.stickyProvider: true`). `status` is inside `error`.",
        "Retry later, or allow switching providers.",
        {},
    ),
    "rate_limit_unavailable": (
        "Redis, which holds the per-second limit counters of this gateway, cannot be reached, "
        "and limits fail closed (`[redis] fail_open = false`); the key has a per-second "
        "limit. Nothing was run or charged.",
        "Retry with backoff.",
        {"retry_after": 1},
    ),
    "upstream_timeout": (
        "The upstream did not answer within the deployment's timeout.",
        "Retry with backoff.",
        {},
    ),
}


def _block(data: Any) -> str:
    return "```json\n" + json.dumps(data, indent=2) + "\n```"


def _section(cls: type[errors.GatewayError]) -> str:
    meaning, action, example = PROSE[cls.code]
    err = cls(**example)
    retry = "yes" if cls.retryable else "no"
    headers = ", ".join(f"`{name}: {value}`" for name, value in error_headers(err))
    lines = [
        f"### `{cls.code}`",
        "",
        f"HTTP **{cls.status}** · OpenAI type `{cls.openai_type}` · Anthropic type "
        f"`{cls.anthropic_type}` · retry: **{retry}**",
        "",
        meaning,
        "",
        f"**What to do:** {action}",
        "",
        f"Headers: {headers}",
        "",
        "OpenAI surface (`/api/v1/*`):",
        "",
        _block(render_error(err, "openai")),
        "",
        "Anthropic surface (`/api/v1/messages`):",
        "",
        _block(render_error(err, "anthropic")),
        "",
        "Legacy surface (`/api/*`):",
        "",
        _block(render_error(err, "legacy")),
        "",
    ]
    return "\n".join(lines)


INTRO = """\
# Errors

Every error nanogate answers with, generated from the gateway's own catalogue.

## Envelopes

The same error renders in the envelope of the surface the request used:

- **OpenAI** (`/api/v1/*` except Messages): `{"error": {"message", "type", "code", "param"}}`.
  `param` is `null` when no single field is at fault. 402s add top-level `status` and
  `requiredBalance`.
- **Anthropic** (`/api/v1/messages`): `{"type": "error", "error": {"type", "message", "param"?,
  "code"}}`. The stock Anthropic SDK reads `type`; `code` carries the catalogue code.
- **Legacy** (`/api/talk-to-gpt`, `/api/check-balance`, `/api/models`):
  `{"error": "<message>", "status": N, "code": "<code>"}`, except the insufficient-balance
  402, which is exactly `{"error": "Insufficient balance", "requiredBalance": <n>, "status": 402}`.

Every response carries `X-Request-ID` (and `request-id` on the Anthropic surface); quote it
when you ask the operator about a request. Every error carries `x-should-retry` (`true` or
`false`), which the stock OpenAI and Anthropic SDKs obey; 429s and some 503s carry
`Retry-After` in whole seconds.

## Retrying

Retry 408, 429 (except the daily limits), 500, 503 and 504, with exponential backoff
(1 s, 2 s, 4 s, with jitter) and honouring `Retry-After`. Do not retry 400, 401, 402, 403,
404, 409, 410, 413, 415 or 431 without changing the request.

## The HTTP edge

A few errors are answered by the gateway's HTTP edge, before the request reaches a route:
`request_header_fields_too_large` (431, a request head over `[server] max_header_bytes`),
`request_timeout` (408, a head not complete within `[server] header_timeout_s`),
`malformed_request` (400, bytes that are not HTTP/1.1) and `service_unavailable` (503, a
connection over `[server] max_connections`). They come in the OpenAI envelope on every
surface (the route, and so the surface, is not known yet), carry `X-Request-ID` and
`x-should-retry`, and close the connection (`Connection: close`). When a response is already
being sent on the connection there is no room for an answer, and the connection is just closed.

## Streaming

Before the first byte, a streamed request fails like any other: a JSON error with its status.
After it, the stream ends with one terminal event in the dialect of the endpoint, then closes;
a stream that ends without its final event is a failure too, never a clean end.

Chat completions end with this frame, then `data: [DONE]`:

{chat}

Messages end with `event: error` and the Anthropic error object as data; Responses end with
`event: response.failed` whose `response` has `status: "failed"` and `error: {code, message}`.

## Catalogue

| code | HTTP | retry |
|---|---|---|
{table}

"""


def render() -> str:
    catalogue = errors.catalogue()
    missing = [cls.code for cls in catalogue if cls.code not in PROSE]
    if missing:
        raise SystemExit(f"no prose for: {', '.join(missing)}")
    sample = chat_stream_error(errors.ServiceUnavailable(), "chatcmpl_...")
    chat = "```\ndata: " + json.dumps(sample, separators=(",", ":")) + "\n\ndata: [DONE]\n```"
    table = "\n".join(
        f"| [`{c.code}`](#{c.code.lower()}) | {c.status} | {'yes' if c.retryable else 'no'} |"
        for c in catalogue
    )
    body = "\n".join(_section(cls) for cls in catalogue)
    return INTRO.replace("{chat}", chat).replace("{table}", table) + body


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text() != text:
            sys.exit("docs/errors.md is out of date: run python scripts/errors_doc.py")
        return
    DOC.write_text(text)


if __name__ == "__main__":
    main()
