"""Requests at the edges of the OpenAPI document get the answers it describes: a 400
naming the field, never a 500, and nothing the document calls invalid accepted."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import InProcess


def _responses(*items: Any) -> dict[str, Any]:
    return {"model": "local/chat", "input": list(items)}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_responses({"type": {}, "call_id": "c", "output": ""}), "unsupported input item type"),
        (
            _responses({"type": "function_call_output", "call_id": "c", "output": [1]}),
            "'output' parts must be objects",
        ),
        (
            _responses(
                {
                    "role": "user",
                    "content": [{"type": "input_audio", "input_audio": {"data": "AAAA"}}],
                }
            ),
            "'input_audio.format' must be a string",
        ),
        (
            _responses({"role": "assistant", "content": [{"type": "refusal"}]}),
            "a refusal part needs a string 'refusal'",
        ),
    ],
)
async def test_malformed_responses_input_is_a_400(
    gateway: InProcess, body: dict[str, Any], fragment: str
) -> None:
    """Responses input items the translation cannot read are refused as invalid `input`,
    not answered with a server error."""
    response = await gateway.client.post("/api/v1/responses", json=body, headers=gateway.auth())
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["param"]) == (
        400,
        "invalid_parameter_value",
        "input",
    ), error
    assert fragment in error["message"]


async def test_messages_tool_choice_of_type_tool_needs_a_name(gateway: InProcess) -> None:
    """tool_choice {"type": "tool"} without the tool's name is a 400 on tool_choice."""
    response = await gateway.client.post(
        "/api/v1/messages",
        json={
            "model": "local/chat",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool"},
        },
        headers=gateway.auth(),
    )
    body = response.json()
    assert response.status_code == 400, body
    assert (body["error"]["code"], body["error"]["param"]) == (
        "invalid_parameter_value",
        "tool_choice",
    )


@pytest.mark.parametrize("query", ["to=", "from=&to=", "group_by="])
async def test_usage_blank_parameters_are_invalid(gateway: InProcess, query: str) -> None:
    """A blank `from`, `to` or `group_by` is not a date or a grouping: it is refused, not
    read as absent."""
    response = await gateway.client.get(f"/api/v1/usage?{query}", headers=gateway.auth())
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid_parameter_value"), error


async def test_whole_number_max_tokens_is_accepted(gateway: InProcess) -> None:
    """max_tokens 5.0 is the integer 5, as the document's JSON Schema reads it."""
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json={
            "model": "local/chat",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 5.0,
        },
        headers=gateway.auth(),
    )
    assert response.status_code == 200, response.json()
