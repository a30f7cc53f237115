"""Write the gateway part of the client's recorded-bodies corpus from the gateway's renderers.

`python scripts/client_corpus.py [--check]` renders every catalogue error in the OpenAI,
Anthropic and legacy envelopes (with the headers the gateway sends beside them), and a few
in the three streaming dialects, into ``tests/client/corpus/gateway/``, each with the
fields the client must parse out of it. The JSON files are committed, so the client's tests
read them without the gateway's code. With --check, exit 1 if the files are out of date.

The seed's own examples and the odd shapes (HTML pages, empty bodies, unknown statuses)
are written by hand in ``tests/client/corpus/seed/`` and ``tests/client/corpus/shapes/``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from nanogate import errors
from nanogate.core import (
    Surface,
    chat_stream_error,
    error_headers,
    messages_stream_error,
    render_error,
    responses_stream_failed,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "client" / "corpus" / "gateway"

CLASSES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    402: "PaymentRequiredError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    408: "RequestTimeoutError",
    409: "ConflictError",
    410: "GoneError",
    413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
    504: "GatewayTimeoutError",
}
"""The client's class per status; any other status is ``APIStatusError``."""

FAMILIES = {
    "validation": (
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
    ),
    "content": ("content_policy_violation", "context_length_exceeded", "empty_response"),
    "routing": (
        "model_not_found",
        "model_not_allowed",
        "model_not_available",
        "all_fallbacks_failed",
        "no_fallback_available",
        "fallback_blocked_for_cache_consistency",
        "speed_suffix_conflict",
    ),
    "payment": (
        "memory_balance_required",
        "webSearch_balance_required",
        "both_balance_required",
        "insufficient_balance",
        "insufficient_quota",
    ),
    "rate_limit": ("rate_limit_exceeded",),
    "daily_limit": ("daily_rpd_limit_exceeded", "daily_usd_limit_exceeded"),
}
"""The seed's code families ("Request validation", "Content and context", "Model and
routing", "Balance and payment", "Rate limiting", daily limits), keyed as the client names
them. The two balance codes the seed names elsewhere (``insufficient_balance`` for the
ordinary 402 and ``insufficient_quota`` for the x402 challenge) are payment too, and
``conflicting_credentials`` (DESIGN section 2) is a validation error, and
``speed_suffix_conflict`` (DESIGN section 10) a routing one."""

FAMILY_OF = {code: family for family, codes in FAMILIES.items() for code in codes}

SEED_PAYMENT: dict[str, Any] = {
    "version": 1,
    "paymentId": "pay_...",
    "requestHash": "sha256:...",
    "expiresAt": "2026-06-09T12:00:00.000Z",
    "amountUsd": "0.0714",
    "statusUrl": "https://nano-gpt.com/api/x402/status/pay_...",
    "completeUrl": "https://nano-gpt.com/api/x402/complete/pay_...",
    "accepted": [],
}

STREAMED = ("service_unavailable", "rate_limit_exceeded", "upstream_timeout", "empty_response")
"""Codes the gateway sends as a stream's terminal event (after an upstream fault)."""


def _prose() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The example constructor arguments of ``scripts/errors_doc.py``, one per code."""
    spec = importlib.util.spec_from_file_location("errors_doc", ROOT / "scripts" / "errors_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prose: dict[str, tuple[str, str, dict[str, Any]]] = module.PROSE
    return prose


def _example(cls: type[errors.GatewayError]) -> errors.GatewayError:
    arguments = dict(_prose()[cls.code][2])
    if cls is errors.PaymentChallenge:
        arguments["fields"] = {"payment": SEED_PAYMENT, "x402Version": 1, "accepts": []}
    return cls(**arguments)


def _class_name(status: int, code: str | None) -> str:
    if code in FAMILIES["daily_limit"]:
        return "DailyLimitError"
    return CLASSES.get(status, "APIStatusError")


def _headers(err: errors.GatewayError, surface: str, request_id: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "x-request-id": request_id}
    if surface == "anthropic":
        headers["request-id"] = request_id
    headers.update(error_headers(err))
    return headers


def _required_balance(err: errors.GatewayError) -> str | None:
    value = err.fields.get("requiredBalance")
    return None if value is None else str(value)


def _response_case(err: errors.GatewayError, surface: Surface) -> dict[str, Any]:
    request_id = f"req_corpus_{surface}_{err.code}"
    headers = _headers(err, surface, request_id)
    body = render_error(err, surface)
    envelope = "openai" if err.one_envelope else surface
    legacy = envelope == "legacy"
    code = err.code if not legacy or err.legacy_code else None
    error_type = {"openai": err.openai_type, "anthropic": err.anthropic_type}.get(envelope)
    retry_after = headers.get("retry-after")
    return {
        "status": err.status,
        "headers": headers,
        "body": body,
        "expect": {
            "class": _class_name(err.status, code),
            "status": err.status,
            "message": err.message,
            "code": code,
            "type": error_type,
            "param": None if legacy else err.param,
            "retryable": err.retryable,
            "retry_after": None if retry_after is None else float(retry_after),
            "request_id": request_id,
            "required_balance": _required_balance(err),
            "family": FAMILY_OF.get(code or ""),
            "has_payment": "payment" in body,
        },
    }


def _stream_case(err: errors.GatewayError, dialect: str) -> dict[str, Any]:
    """A stream's terminal error event, as the event name and the JSON of its data."""
    request_id = f"req_corpus_{dialect}_stream_{err.code}"
    if dialect == "chat":
        event, data = "", chat_stream_error(err, "chatcmpl_corpus")
        error_type = None
    elif dialect == "messages":
        event, data = "error", messages_stream_error(err)
        error_type = err.anthropic_type
    else:
        in_progress = {"id": "resp_corpus", "object": "response", "status": "in_progress"}
        event, data = "response.failed", responses_stream_failed(err, in_progress, 7)
        error_type = None
    return {
        "status": 200,
        "headers": {"content-type": "text/event-stream", "x-request-id": request_id},
        "stream": {"dialect": dialect, "event": event, "data": data},
        "expect": {
            "class": "StreamError",
            "code": err.code,
            "type": error_type,
            "message": err.message,
            "request_id": request_id,
            "error_class": _class_name(err.status, err.code),
            "error_status": err.status,
            "retryable": err.retryable,
            "family": FAMILY_OF.get(err.code),
        },
    }


def render() -> dict[str, str]:
    """File name → content of every generated case."""
    files: dict[str, dict[str, Any]] = {}
    for cls in errors.catalogue():
        err = _example(cls)
        surfaces: tuple[Surface, ...] = ("openai", "anthropic", "legacy")
        for surface in surfaces:
            files[f"{surface}-{cls.code}.json"] = _response_case(err, surface)
    for code in STREAMED:
        streamed = errors.error_for_code(code)
        assert streamed is not None, code
        for dialect in ("chat", "messages", "responses"):
            files[f"stream-{dialect}-{code}.json"] = _stream_case(streamed(), dialect)
    return {
        name: json.dumps(case, indent=2, ensure_ascii=False) + "\n" for name, case in files.items()
    }


def main() -> None:
    files = render()
    if "--check" in sys.argv:
        present = {p.name: p.read_text(encoding="utf-8") for p in OUT.glob("*.json")}
        if present != files:
            sys.exit("tests/client/corpus/gateway is out of date: run scripts/client_corpus.py")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
