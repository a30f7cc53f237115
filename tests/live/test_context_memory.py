"""Context memory over real sockets: a small model on one fake upstream, a summary model
on another, and the gateway between them with ``[memory]`` on.

``acme/small`` has a 2,048-token window. A conversation three times that long is
served with ``:memory``: the older turns are compressed by ``acme/summarizer`` (through
the gateway's own dispatch), the upstream sees the summary and the recent turns within
its window, and the summary is stored for the key, sealed. The next turn reuses it
without compressing again; once its days are over it is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, run_sync, written_record
from tests.live.test_charging import balance
from tests.x402_helpers import Clock

from nanogate.config import Settings
from nanogate.core import count_chat_tokens
from nanogate.memory import MEMORY_PREAMBLE
from nanogate.storage import SQLStore
from nanogate.storage._memories import count_memories
from nanogate.testing import FakeUpstream, ServedAioHTTP

WINDOW = 2048
SUMMARY = "The user stated facts 1 to 40; the assistant acknowledged each one."
SECRET = "memory-test-secret-0123456789abcdef"


@pytest.fixture
def small() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(reply="Fact 1 was about the colour blue.")
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


@pytest.fixture
def summarizer() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(reply=SUMMARY)
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


def memory_settings(
    tmp_path: Path,
    small_url: str,
    summarizer_url: str,
    window: int = WINDOW,
    fallback_window: int | None = None,
    **memory: Any,
) -> Settings:
    base = make_settings(tmp_path).model_dump()
    fallback = (
        [
            {
                "id": "acme/smaller",
                "provider": "acme",
                "upstream_model": "smaller-1",
                "context_window": fallback_window,
                "max_output_tokens": 256,
            }
        ]
        if fallback_window
        else []
    )
    return Settings.model_validate(
        {
            **base,
            "providers": [
                *base["providers"],
                {"name": "acme", "kind": "openai", "base_url": small_url + "/v1"},
                {"name": "summ", "kind": "openai", "base_url": summarizer_url + "/v1"},
            ],
            "models": [
                *base["models"],
                {
                    "id": "acme/small",
                    "provider": "acme",
                    "upstream_model": "small-1",
                    "capabilities": ["streaming"],
                    "context_window": window,
                    "max_output_tokens": 256,
                    "input_usd_per_mtok": "1",
                    "output_usd_per_mtok": "2",
                    "fallbacks": [m["id"] for m in fallback],
                },
                *fallback,
                {
                    "id": "acme/summarizer",
                    "provider": "summ",
                    "upstream_model": "summ-1",
                    "context_window": 32768,
                    "max_output_tokens": 1024,
                    "input_usd_per_mtok": "0.5",
                    "output_usd_per_mtok": "1",
                },
            ],
            "memory": {
                "enabled": True,
                "summary_model": "acme/summarizer",
                "summary_max_tokens": 200,
                "secret": SECRET,
                **memory,
            },
        }
    )


def conversation(times: int = 3, window: int = WINDOW) -> list[dict[str, Any]]:
    """System, then user facts and assistant acknowledgements, ``times`` the window
    long, ending with a question."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You remember facts."}]
    n = 0
    while count_chat_tokens(messages) < times * window:
        n += 1
        messages.append(
            {"role": "user", "content": f"Fact {n}: " + " ".join(f"word{n}x{i}" for i in range(60))}
        )
        messages.append({"role": "assistant", "content": f"Noted fact {n}."})
    messages.append({"role": "user", "content": "What was fact 1?"})
    return messages


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    small: tuple[FakeUpstream, str],
    summarizer: tuple[FakeUpstream, str],
    clock: Clock,
) -> Live:
    return serve_gateway(memory_settings(tmp_path, small[1], summarizer[1]), clock=clock)


def chat(live: Live, model: str, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return httpx.post(
        live.url + SURFACE_PATHS["openai"],
        json={"model": model, "messages": messages, "max_tokens": 64, **extra},
        headers=live.auth(),
        timeout=20,
    )


def stored_count(live: Live) -> int:
    async def read() -> int:
        store = SQLStore(live.settings.database.url)
        try:
            return await store.fast.read(count_memories(live.seeded.key_id))
        finally:
            await store.close()

    return run_sync(read())


def stored_rows(live: Live) -> list[tuple[Any, ...]]:
    async def read() -> list[tuple[Any, ...]]:
        from nanogate.storage import Query

        def script() -> Any:
            return (yield Query("SELECT prefix_hash, turns, sealed FROM memories")).rows

        store = SQLStore(live.settings.database.url)
        try:
            rows: list[tuple[Any, ...]] = await store.fast.read(script())
            return rows
        finally:
            await store.close()

    return run_sync(read())


def test_a_conversation_three_windows_long_is_served_with_memory_and_refused_without(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """Without memory the conversation is 400 ``context_length_exceeded`` and nothing
    is asked. With ``:memory`` it is served: the summary model is called once with the
    older turns; the small model gets the system message, the summary and the recent
    turns, within its window; memory is charged at the ``[memory]`` prices on top of
    inference; the summary is stored sealed (its text is not in the database)."""
    messages = conversation()
    refused = chat(gateway, "acme/small", messages)
    assert_envelope(refused, "openai", "context_length_exceeded")
    assert small[0].requests == [] and summarizer[0].requests == []

    before = balance(gateway)
    served = chat(gateway, "acme/small:memory", messages)
    assert served.status_code == 200, served.text
    assert len(summarizer[0].requests) == 1
    summary_prompt = orjson.dumps(summarizer[0].requests[0]["body"]["messages"]).decode()
    assert "Fact 1: word1x0" in summary_prompt and "What was fact 1?" not in summary_prompt
    sent = small[0].requests[-1]["body"]["messages"]
    assert sent[0] == messages[0]
    assert sent[1] == {"role": "system", "content": MEMORY_PREAMBLE + SUMMARY}
    assert sent[-1] == messages[-1]
    assert sent[2:] == messages[len(messages) - len(sent) + 2 :]
    assert count_chat_tokens(sent) + 64 <= WINDOW
    record = written_record(gateway.settings.database.url, served.headers["x-request-id"])
    assert record.add_ons is not None and record.add_ons["memory"] > 0
    cost = Decimal(str(served.json()["x_nanogpt_pricing"]["cost"]))
    assert Decimal(before - balance(gateway)) / 10**9 == cost
    assert cost * 10**9 > record.add_ons["memory"]
    rows = stored_rows(gateway)
    assert len(rows) == 1 and SUMMARY not in str(rows[0][2]) and str(rows[0][2]).startswith("v1.")


def test_the_next_turn_reuses_the_summary_and_expired_memory_is_gone(
    gateway: Live,
    small: tuple[FakeUpstream, str],
    summarizer: tuple[FakeUpstream, str],
    clock: Clock,
) -> None:
    """The next turn of the same conversation (the answer and a new question added) is
    sent with the stored summary and no second compression call, and memory costs it
    nothing. After the memory's days (``:memory-2``), the summary is not used: the turn
    after compresses again; and once that one has expired too, the next summary written
    (of another conversation) purges it."""
    messages = conversation()
    first = chat(gateway, "acme/small:memory-2", messages)
    assert first.status_code == 200, first.text
    assert len(summarizer[0].requests) == 1
    messages += [
        {"role": "assistant", "content": first.json()["choices"][0]["message"]["content"]},
        {"role": "user", "content": "And fact 2?"},
    ]
    second = chat(gateway, "acme/small:memory-2", messages)
    assert second.status_code == 200, second.text
    assert len(summarizer[0].requests) == 1
    sent = small[0].requests[-1]["body"]["messages"]
    assert sent[1]["content"] == MEMORY_PREAMBLE + SUMMARY and sent[-1] == messages[-1]
    record = written_record(gateway.settings.database.url, second.headers["x-request-id"])
    assert record.add_ons is None
    ((old_hash, _, _),) = stored_rows(gateway)

    clock.offset += timedelta(days=2, seconds=1)
    messages += [
        {"role": "assistant", "content": "Fact 2 was about green."},
        {"role": "user", "content": "And fact 3?"},
    ]
    third = chat(gateway, "acme/small:memory-2", messages)
    assert third.status_code == 200, third.text
    assert len(summarizer[0].requests) == 2
    other = [{"role": "system", "content": "Another conversation."}, *messages[1:]]
    clock.offset += timedelta(days=2, seconds=1)
    fourth = chat(gateway, "acme/small:memory-2", other)
    assert fourth.status_code == 200, fourth.text
    assert len(summarizer[0].requests) == 3
    assert old_hash not in [row[0] for row in stored_rows(gateway)]
    assert len(stored_rows(gateway)) == 1


def test_the_memory_header_turns_memory_on_and_body_memory_false_turns_it_off(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """Header ``memory: true`` equals ``:memory``; body ``memory: false`` turns a
    suffix's memory off (and the conversation is then too long)."""
    messages = conversation()
    on = httpx.post(
        gateway.url + SURFACE_PATHS["openai"],
        json={"model": "acme/small", "messages": messages, "max_tokens": 64},
        headers={**gateway.auth(), "memory": "true"},
        timeout=20,
    )
    assert on.status_code == 200, on.text
    assert len(summarizer[0].requests) == 1
    off = chat(gateway, "acme/small:memory", messages, memory=False)
    assert_envelope(off, "openai", "context_length_exceeded")
    assert "memory" not in small[0].requests[-1]["body"]


def test_a_conversation_that_fits_costs_no_memory(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """``:memory`` on a conversation within the window sends it as it is: no summary
    call, nothing stored, no memory charge."""
    messages = [{"role": "user", "content": "Hello there"}]
    response = chat(gateway, "acme/small:memory", messages)
    assert response.status_code == 200, response.text
    assert summarizer[0].requests == []
    assert small[0].requests[-1]["body"]["messages"] == messages
    assert stored_count(gateway) == 0


def test_model_context_limit_compresses_to_a_smaller_window(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """``model_context_limit`` below the model's window makes memory compress to it; the
    field is the gateway's own and is not sent upstream."""
    messages = conversation(times=1)[:-1] + [{"role": "user", "content": "Go on."}]
    while count_chat_tokens(messages) > WINDOW - 200:
        del messages[1:3]
    response = chat(gateway, "acme/small:memory", messages, model_context_limit=700)
    assert response.status_code == 200, response.text
    assert len(summarizer[0].requests) == 1
    sent = small[0].requests[-1]["body"]
    assert count_chat_tokens(sent["messages"]) + 64 <= 700
    assert "model_context_limit" not in sent


def test_a_failing_summary_model_is_503_and_charges_nothing(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """When the summary model fails, the request is 503 and the balance is unchanged;
    the small model is never asked."""
    from nanogate.testing import Fault

    summarizer[0].inject(Fault.status_error(503))
    before = balance(gateway)
    response = chat(gateway, "acme/small:memory", conversation())
    assert_envelope(response, "openai", "service_unavailable")
    assert small[0].requests == []
    assert balance(gateway) == before


def test_memory_compresses_to_the_smallest_context_a_fallback_has(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    small: tuple[FakeUpstream, str],
    summarizer: tuple[FakeUpstream, str],
) -> None:
    """With a fallback of a smaller context, memory compresses to fit it too: when the
    model's own deployment fails, the fallback gets a prompt within its context."""
    from nanogate.testing import Fault

    live = serve_gateway(memory_settings(tmp_path, small[1], summarizer[1], fallback_window=1024))
    small[0].inject(Fault.status_error(503))
    response = chat(live, "acme/small:memory", conversation())
    assert response.status_code == 200, response.text
    first, second = small[0].requests[-2:]
    assert (first["body"]["model"], second["body"]["model"]) == ("small-1", "smaller-1")
    assert count_chat_tokens(second["body"]["messages"]) + 64 <= 1024


def test_a_stream_with_memory_is_compressed_before_its_first_byte(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """Streamed, the conversation is compressed before the stream begins and the
    upstream streams on the compressed prompt; the stream's last priced event includes
    memory's cost."""
    before = balance(gateway)
    with httpx.stream(
        "POST",
        gateway.url + SURFACE_PATHS["openai"],
        json={
            "model": "acme/small:memory",
            "messages": conversation(),
            "max_tokens": 64,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        headers=gateway.auth(),
        timeout=20,
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: {")]
    assert len(summarizer[0].requests) == 1
    assert small[0].requests[-1]["body"]["messages"][1]["content"].startswith(MEMORY_PREAMBLE)
    priced = [orjson.loads(line[6:]) for line in lines if "x_nanogpt_pricing" in line]
    cost = Decimal(str(priced[-1]["x_nanogpt_pricing"]["cost"]))
    assert Decimal(before - balance(gateway)) / 10**9 == cost > 0


@pytest.mark.parametrize("surface", ["anthropic", "legacy"])
def test_memory_serves_the_other_surfaces(
    gateway: Live,
    small: tuple[FakeUpstream, str],
    summarizer: tuple[FakeUpstream, str],
    surface: str,
) -> None:
    """Messages and talk-to-gpt with ``:memory`` compress the same way."""
    messages = conversation()
    system, turns = messages[0]["content"], messages[1:]
    if surface == "anthropic":
        body: dict[str, Any] = {
            "model": "acme/small:memory",
            "system": system,
            "messages": turns,
            "max_tokens": 64,
        }
    else:
        body = {"model": "acme/small:memory", "messages": messages[:-1], "prompt": "What?"}
    response = httpx.post(
        gateway.url + SURFACE_PATHS[surface], json=body, headers=gateway.auth(), timeout=20
    )
    assert response.status_code == 200, response.text
    assert len(summarizer[0].requests) == 1
    sent = small[0].requests[-1]["body"]["messages"]
    assert any(MEMORY_PREAMBLE in str(m.get("content")) for m in sent)


# POST /api/v1/memory ------------------------------------------------------------------


def memory_call(live: Live, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        live.url + "/api/v1/memory", json=body, headers={**live.auth(), **headers}, timeout=20
    )


def test_the_memory_endpoint_compresses_every_turn_before_the_last(
    gateway: Live, small: tuple[FakeUpstream, str], summarizer: tuple[FakeUpstream, str]
) -> None:
    """``POST /api/v1/memory`` answers NanoGPT's ``{messages, usage}``: the system
    message, one memory message and the last turn; ``usage`` counts what the summary
    model read and wrote; memory is charged at its prices and nothing else runs. The
    same call again reuses the stored summary: no summary call, no usage, no charge."""
    messages = conversation(times=1)
    before = balance(gateway)
    response = memory_call(gateway, {"messages": messages, "expiration_days": 45})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["messages"] == [
        messages[0],
        {"role": "system", "content": MEMORY_PREAMBLE + SUMMARY},
        messages[-1],
    ]
    usage = answer["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert len(summarizer[0].requests) == 1 and small[0].requests == []
    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    assert record.add_ons is not None and before - balance(gateway) == record.add_ons["memory"]
    assert record.cost_nusd == record.add_ons["memory"]

    again = memory_call(gateway, {"messages": messages})
    assert again.status_code == 200, again.text
    assert again.json()["messages"] == answer["messages"]
    assert again.json()["usage"]["total_tokens"] == 0
    assert len(summarizer[0].requests) == 1


def test_the_memory_endpoint_answers_errors_in_the_legacy_envelope(
    serve_gateway: LiveFactory,
    gateway: Live,
    tmp_path: Path,
    small: tuple[FakeUpstream, str],
    summarizer: tuple[FakeUpstream, str],
) -> None:
    """A missing ``messages`` is 400 ``missing_required_parameter``, a bad key 401,
    and a balance short of memory's most 402 ``memory_balance_required`` with its
    ``requiredBalance``, each as ``{"error": "...", "status": N}``; a gateway without
    memory refuses the call."""
    assert_envelope(memory_call(gateway, {}), "legacy", "missing_required_parameter")
    unauthorised = httpx.post(
        gateway.url + "/api/v1/memory",
        json={"messages": conversation(1)},
        headers={"authorization": "Bearer sk-nano-00000000-0000-0000-0000-000000000000"},
        timeout=10,
    )
    assert_envelope(unauthorised, "legacy", "invalid_api_key")
    (tmp_path / "poor").mkdir()
    (tmp_path / "off").mkdir()
    poor = serve_gateway(
        memory_settings(tmp_path / "poor", small[1], summarizer[1], input_usd_per_mtok="1000"),
        balance="0.01",
    )
    refused = memory_call(poor, {"messages": conversation(1)})
    body = assert_envelope(refused, "legacy", "memory_balance_required")
    assert Decimal(str(body["requiredBalance"])) > Decimal("0.01")
    assert summarizer[0].requests == []
    off = serve_gateway(memory_settings(tmp_path / "off", small[1], summarizer[1], enabled=False))
    assert_envelope(
        memory_call(off, {"messages": conversation(1)}), "legacy", "invalid_parameter_value"
    )
