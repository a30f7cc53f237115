"""``nanogate chat`` against a gateway served on loopback.

The command runs in process through typer's runner. One-shot mode streams one answer
and exits; without a prompt it converses until ``/exit`` or end of input. Failures
print the message, the code and the request id on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import Live, LiveFactory
from tests.live.test_upstream_faults import served_gateway, upstream_settings
from typer.testing import CliRunner, Result

from nanogate.cli._app import app
from nanogate.client import Client
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP

runner = CliRunner()
UPSTREAM_TEXT = "Hello from the upstream."
REQUEST_ID = re.compile(r"req_[0-9a-f]{24}")


def chat(live: Live, *args: str, key: str | None = None, **invoke: Any) -> Result:
    """``nanogate chat --base-url <live> --api-key <key> ARGS``."""
    return runner.invoke(
        app,
        ["chat", "--base-url", live.url + "/api/v1", "--api-key", key or live.key, *args],
        **invoke,
    )


@pytest.fixture(scope="module")
def served_fake() -> Iterator[tuple[FakeUpstream, str]]:
    """The shared fake upstream, recording requests: the conversation tests read them."""
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture(scope="module")
def chat_live(
    tmp_path_factory: pytest.TempPathFactory, served_fake: tuple[FakeUpstream, str]
) -> Iterator[Live]:
    """A gateway with its local models and ``acme/gpt`` served by the fake upstream."""
    settings = upstream_settings(tmp_path_factory.mktemp("cli-chat"), served_fake[1])
    with served_gateway(settings) as live:
        yield live


def test_one_shot_streams_the_local_model_s_answer(chat_live: Live) -> None:
    """With a prompt, the command prints the model's streamed answer and exits 0."""
    with Client(base_url=chat_live.url + "/api/v1", api_key=chat_live.key) as client:
        expected = client.chat.completions.create(
            model="local/chat", messages=[{"role": "user", "content": "Say hello"}]
        )["choices"][0]["message"]["content"]
    result = chat(chat_live, "--model", "local/chat", "Say hello")
    assert result.exit_code == 0, result.output
    assert expected and result.stdout == expected + "\n"
    assert result.stderr == ""


def test_a_bad_key_prints_the_401_its_code_and_request_id(chat_live: Live) -> None:
    """An unknown key exits 1 after printing the gateway's message, ``invalid_api_key``
    and the request id of the refused request."""
    bad = "sk-nano-00000000-0000-4000-8000-000000000000"
    result = chat(chat_live, "--model", "local/chat", "hello", key=bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "HTTP 401" in result.stderr and "Invalid API key provided." in result.stderr
    assert "invalid_api_key" in result.stderr
    assert REQUEST_ID.search(result.stderr), result.stderr
    assert bad not in result.output and "Traceback" not in result.output


def test_an_upstream_failure_mid_stream_prints_the_stream_error(
    chat_live: Live, fake: FakeUpstream
) -> None:
    """An upstream that drops the stream after some text: the text already streamed stays
    on stdout, then the stream error, its code and request id on stderr; exit 1."""
    fake.inject(Fault.cut(after=3))
    result = chat(chat_live, "--model", "acme/gpt", "hi")
    assert result.exit_code == 1
    assert result.stdout.strip() and UPSTREAM_TEXT.startswith(result.stdout.strip())
    assert "mid-stream" in result.stderr and "service_unavailable" in result.stderr
    assert REQUEST_ID.search(result.stderr), result.stderr


def test_an_unknown_model_names_the_error_and_param(chat_live: Live) -> None:
    """A 404 before the stream starts prints its message, code and offending param."""
    result = chat(chat_live, "--model", "acme/nope", "hi")
    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "model_not_found" in result.stderr
    assert "param" in result.stderr and "model" in result.stderr


def test_an_empty_balance_shows_what_the_request_needs(serve_gateway: LiveFactory) -> None:
    """A 402 prints insufficient_balance and the balance the request needed."""
    live = serve_gateway(balance="0")
    result = chat(live, "--model", "local/chat", "hi")
    assert result.exit_code == 1
    assert "HTTP 402" in result.stderr and "insufficient_balance" in result.stderr
    assert re.search(r"needs\s+\$0\.\d+", result.stderr), result.stderr


def test_the_conversation_keeps_its_history_until_exit(chat_live: Live, fake: FakeUpstream) -> None:
    """Without a prompt, each line is a turn; the second turn carries the system prompt,
    the first question and its answer; ``/exit`` ends the session with status 0."""
    result = chat(
        chat_live,
        "--model",
        "acme/gpt",
        "--system",
        "Be brief.",
        input="first question\nsecond question\n/exit\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count(UPSTREAM_TEXT) == 2
    assert len(fake.requests) == 2
    sent = [(m["role"], m["content"]) for m in fake.requests[1]["body"]["messages"]]
    assert sent == [
        ("system", "Be brief."),
        ("user", "first question"),
        ("assistant", UPSTREAM_TEXT),
        ("user", "second question"),
    ]


def test_end_of_input_leaves_the_conversation(chat_live: Live, fake: FakeUpstream) -> None:
    """Ctrl-D (end of input) at the prompt ends the session cleanly."""
    result = chat(chat_live, "--model", "acme/gpt", input="hello\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(UPSTREAM_TEXT) == 1


def test_a_failed_turn_does_not_join_the_conversation(chat_live: Live, fake: FakeUpstream) -> None:
    """In a conversation a failure is shown and the session goes on; the failed question
    is not sent again as history."""
    fake.inject(Fault.status_error(400, message="bad request upstream"))
    result = chat(chat_live, "--model", "acme/gpt", input="doomed\nagain\n/exit\n")
    assert result.exit_code == 0, result.output
    assert "error" in result.stderr
    sent = [(m["role"], m["content"]) for m in fake.requests[-1]["body"]["messages"]]
    assert sent == [("user", "again")]


def test_the_key_comes_from_the_environment(
    chat_live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --api-key, the key is read from NANOGATE_API_KEY, then NANOGPT_API_KEY."""
    monkeypatch.delenv("NANOGATE_API_KEY", raising=False)
    monkeypatch.setenv("NANOGPT_API_KEY", chat_live.key)
    args = ["chat", "--base-url", chat_live.url + "/api/v1", "--model", "local/chat", "hi"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("NANOGATE_API_KEY", "sk-nano-00000000-0000-4000-8000-000000000000")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "invalid_api_key" in result.stderr


def test_an_unreachable_endpoint_is_a_clean_failure() -> None:
    """A base URL nobody listens on prints a connection error and exits 1, no traceback."""
    from nanogate.testing import refused_url

    with refused_url() as url:
        result = runner.invoke(
            app,
            ["chat", "--base-url", url + "/api/v1", "--model", "m", "--max-retries", "0", "hi"],
        )
    assert result.exit_code == 1
    assert "no answer from the server" in result.stderr and "Traceback" not in result.output
    assert f"url tried   {url}/api/v1" in result.stderr


def test_by_default_chat_talks_to_the_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --base-url (or NANOGATE_BASE_URL) the endpoint is this machine's gateway
    on its default port, and a failure says so."""
    from nanogate.cli._chat import DEFAULT_BASE_URL

    assert DEFAULT_BASE_URL == "http://127.0.0.1:8080/api/v1"
    monkeypatch.delenv("NANOGATE_BASE_URL", raising=False)
    result = runner.invoke(app, ["chat", "--help"])
    assert "NANOGATE_API_KEY" in result.output and "NANOGATE_BASE_URL" in result.output


def test_text_from_the_server_is_printed_as_it_is(chat_live: Live) -> None:
    """An error message and a model id with Rich markup in them (``[/]``, ``[blue]``) are
    printed literally on stderr: neither swallowed nor able to crash the command."""
    model = "acme/[blue]x[/]"
    result = chat(chat_live, "--model", model, "hi")
    assert result.exit_code == 1
    assert f"The model '{model}' does not exist." in result.stderr, result.stderr
    assert "[bold" not in result.stderr
    conversation = chat(chat_live, "--model", model, input="/exit\n")
    assert conversation.exit_code == 0, conversation.output
    assert f"chatting with {model}; /exit or Ctrl-D to leave" in conversation.stderr


def test_control_characters_in_an_answer_are_shown_as_escapes(
    chat_live: Live, fake: FakeUpstream
) -> None:
    """An answer carrying terminal escapes (a clipboard write, a colour) is printed with
    them as visible escapes, its newlines kept; the conversation keeps the text as
    sent."""
    fake.reply = "Hi \x1b]52;c;ZXZpbA==\x07 there\n\x1b[31mred"
    try:
        result = chat(chat_live, "--model", "acme/gpt", "hi")
    finally:
        fake.reply = FakeUpstream.reply
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Hi \\x1b]52;c;ZXZpbA==\\x07 there\n\\x1b[31mred" in result.stdout


def test_a_timeout_beyond_an_hour_is_a_usage_error() -> None:
    """``--timeout inf`` (or any timeout beyond an hour) is refused with exit 2 before any
    request, instead of a traceback from the socket layer."""
    from nanogate.testing import refused_url

    with refused_url() as url:
        result = runner.invoke(
            app, ["chat", "--base-url", url + "/api/v1", "-m", "m", "--timeout", "inf", "hi"]
        )
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--timeout'" in result.stderr


def test_a_long_error_stays_one_line_in_a_pipe() -> None:
    """An error message longer than 80 columns is printed on one line, not wrapped."""
    from nanogate.testing import refused_url

    with refused_url() as url:
        result = runner.invoke(
            app,
            [
                "chat",
                "--base-url",
                url + "/api/v1/" + "x" * 60,
                "--model",
                "m",
                "--max-retries",
                "0",
                "hi",
            ],
        )
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error (no answer from the server): ") and "refused" in lines[0]
    assert any(line.endswith("x" * 60) for line in lines)
