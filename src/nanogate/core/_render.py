"""Error envelopes: one pure renderer per surface and per streaming dialect.

Every function takes a :class:`~nanogate.errors.GatewayError` and returns plain
data (a ``dict`` ready for JSON, or header pairs). The placement rules of each
envelope live here and nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal

from nanogate.errors import GatewayError

Surface = Literal["openai", "anthropic", "legacy"]


def openai_body(err: GatewayError) -> dict[str, Any]:
    """``{"error": {"message", "type", "code", "param"}}`` plus convenience fields."""
    error: dict[str, Any] = {"message": err.message, "type": err.openai_type, "code": err.code}
    if err.openai_param_key:
        error["param"] = err.param
    elif err.param is not None:
        error["param"] = err.param
    if err.body_status == "error":
        error["status"] = err.status
    body: dict[str, Any] = {"error": error, **err.fields}
    if err.body_status == "top":
        body["status"] = err.status
    return body


def anthropic_body(err: GatewayError) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message", "param"?, "code"}}``."""
    error: dict[str, Any] = {"type": err.anthropic_type, "message": err.message}
    if err.param is not None:
        error["param"] = err.param
    error["code"] = err.code
    return {"type": "error", "error": error, **err.fields}


def legacy_body(err: GatewayError) -> dict[str, Any]:
    """``{"error": "<message>", "status": N}`` plus convenience fields (``code``...)."""
    body: dict[str, Any] = {"error": err.message, **err.fields, "status": err.status}
    if err.legacy_code:
        body["code"] = err.code
    return body


_RENDERERS = {"openai": openai_body, "anthropic": anthropic_body, "legacy": legacy_body}


def render_error(err: GatewayError, surface: Surface) -> dict[str, Any]:
    """The body of ``err`` in ``surface``'s envelope (the OpenAI one for an error that
    has one envelope everywhere)."""
    return openai_body(err) if err.one_envelope else _RENDERERS[surface](err)


def error_headers(err: GatewayError) -> list[tuple[str, str]]:
    """Headers every error response carries: retry hints and the error's own."""
    headers = [("x-should-retry", "true" if err.retryable else "false")]
    if err.retry_after is not None:
        headers.append(("retry-after", str(max(1, err.retry_after))))
    headers.extend(err.headers.items())
    return headers


def chat_stream_error(err: GatewayError, chunk_id: str) -> dict[str, Any]:
    """The terminal chat-completions frame (followed by ``data: [DONE]``)."""
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
        "error": {"status": err.status, "message": err.message, "code": err.code},
    }


def messages_stream_error(err: GatewayError) -> dict[str, Any]:
    """The data of the terminal ``event: error`` of a Messages stream."""
    return anthropic_body(err)


def responses_stream_failed(
    err: GatewayError, response: dict[str, Any], sequence_number: int
) -> dict[str, Any]:
    """The data of the terminal ``event: response.failed`` of a Responses stream.

    ``response`` is the response object as streamed so far; the returned copy
    is marked failed and carries the error.
    """
    failed = {
        **response,
        "status": "failed",
        "error": {"code": err.code, "message": err.message},
    }
    return {"type": "response.failed", "sequence_number": sequence_number, "response": failed}
