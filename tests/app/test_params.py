"""Error params name the field as the client sent it, whatever dialect it was translated to."""

from __future__ import annotations

from tests.conftest import InProcess


async def test_responses_output_limit_error_names_max_output_tokens(gateway: InProcess) -> None:
    """An over-large max_output_tokens on /responses is reported under that name, not as
    the chat dialect's max_tokens."""
    response = await gateway.client.post(
        "/api/v1/responses",
        json={"model": "local/chat", "input": "x", "max_output_tokens": 100_000},
        headers=gateway.auth(),
    )
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["param"]) == (
        400,
        "invalid_parameter_value",
        "max_output_tokens",
    )
    assert error["message"].startswith("max_output_tokens is too large: 100000.")


async def test_chat_output_limit_error_names_the_field_used(gateway: InProcess) -> None:
    """On chat completions the error names max_completion_tokens or max_tokens, as sent."""
    for field in ("max_tokens", "max_completion_tokens"):
        response = await gateway.client.post(
            "/api/v1/chat/completions",
            json={
                "model": "local/mini",
                "messages": [{"role": "user", "content": "x"}],
                field: 9999,
            },
            headers=gateway.auth(),
        )
        assert response.json()["error"]["param"] == field


async def test_talk_to_gpt_needs_a_prompt_or_messages(gateway: InProcess) -> None:
    """A legacy request with neither prompt nor messages is missing 'prompt'."""
    for body in ({"model": "local/chat"}, {"model": "local/chat", "prompt": ""}):
        response = await gateway.client.post("/api/talk-to-gpt", json=body, headers=gateway.auth())
        assert response.json() == {
            "error": "Missing required parameter: 'prompt'.",
            "status": 400,
            "code": "missing_required_parameter",
        }
