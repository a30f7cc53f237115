"""The paid add-ons' sans-IO parts: what a search reads and adds, how memory splits and
finds a conversation, and which 402 a short balance gets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from nanogate.billing import MEMORY, WEB_SEARCH, add_on_refusal
from nanogate.config import ConfigError, MemorySettings, Settings, load_settings
from nanogate.core import count_chat_tokens, count_tokens
from nanogate.errors import InsufficientBalance, InvalidParameterValue
from nanogate.memory import (
    MEMORY_PREAMBLE,
    SummaryBudget,
    chunks,
    compose,
    prefix_hashes,
    recent_start,
    split,
    summary_request,
    transcript_lines,
)
from nanogate.search import (
    SearchResult,
    clean_results,
    fitting_block,
    max_added_tokens,
    results_text,
    search_query,
    with_results,
)
from nanogate.search._providers import parse_results
from nanogate.server._memory import memory_sealer, prompt_budget

# Web search ---------------------------------------------------------------------------


def test_the_query_is_the_last_user_turns_text() -> None:
    """The last user message is searched, its text parts joined and whitespace folded;
    earlier turns and other roles are not."""
    messages = [
        {"role": "user", "content": "old question"},
        {"role": "assistant", "content": "old answer"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "latest\n  news"},
                {"type": "image_url", "image_url": {"url": "data:,"}},
                {"type": "text", "text": "on rust"},
            ],
        },
    ]
    assert search_query(messages) == "latest news on rust"
    assert len(search_query([{"role": "user", "content": "x" * 1000}])) == 400


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "system", "content": "only a system message"}],
        [{"role": "user", "content": "  "}],
        [{"role": "user", "content": "question"}, {"role": "user", "content": ""}],
    ],
)
def test_a_request_without_user_text_cannot_search(messages: list[dict[str, Any]]) -> None:
    """Nothing to search for is 400 ``invalid_parameter_value`` on ``messages``."""
    with pytest.raises(InvalidParameterValue) as raised:
        search_query(messages)
    assert raised.value.param == "messages"


def test_results_are_cut_to_their_bounds_and_the_block_fits_the_hold() -> None:
    """Titles and snippets are cut, results without a URL or with one too long to keep
    are dropped, at most ``limit`` are kept, and the block they make never has more
    tokens than :func:`max_added_tokens` says (every field at its bound)."""
    raw = [
        SearchResult("", "", "no url"),
        SearchResult("t", "https://x.example/" + "p" * 600, "too long a url"),
        *(
            SearchResult("T" * 900, f"https://x.example/{n}/" + "u" * 470, "s " * 2000)
            for n in range(8)
        ),
    ]
    kept = clean_results(raw, 5)
    assert len(kept) == 5
    assert all(len(r.title) == 200 and len(r.snippet) <= 600 for r in kept)
    assert all(r.url.startswith("https://x.example/") and len(r.url) <= 500 for r in kept)
    block = results_text("q" * 400, kept, "2026-12-07")
    added = count_chat_tokens([{"role": "user", "content": block}]) - count_chat_tokens(
        [{"role": "user", "content": ""}]
    )
    assert added <= max_added_tokens(5)


@pytest.mark.parametrize("text", ["a.", "漢", "é", "1,", "🙂", " ."])
def test_the_bound_holds_for_dense_text_and_results_without_titles(text: str) -> None:
    """Text of about one token per character, in every field at its bound and with the
    title left empty (a result is then titled by its URL, cut to the title's bound),
    still adds no more tokens than :func:`max_added_tokens` says, for 1 to 20 results."""
    dense = text * 1000
    raw = [
        SearchResult(
            "",
            "https://" + (f"{n}" + dense)[:480],
            dense,
        )
        for n in range(20)
    ]
    for limit in (1, 5, 20):
        kept = clean_results(raw, limit)
        assert len(kept) == limit and all(len(r.title) <= 200 for r in kept)
        block = results_text(dense[:400], kept, "2026-12-07")
        added = count_chat_tokens([{"role": "user", "content": block}]) - count_chat_tokens(
            [{"role": "user", "content": ""}]
        )
        assert added <= max_added_tokens(limit)


def test_only_the_results_that_fit_are_added() -> None:
    """:func:`fitting_block` keeps the first results whose block fits the room, and
    none when not even the first does."""
    results = [SearchResult(f"T{n}", f"https://a.example/{n}", "word " * 100) for n in range(5)]
    whole = results_text("q", results, "d")
    two = results_text("q", results[:2], "d")
    assert fitting_block("q", results, "d", 10**6) == whole
    assert fitting_block("q", results, "d", count_tokens(two)) == two
    assert fitting_block("q", results, "d", 10) is None


def test_results_without_a_user_turn_go_in_a_system_message() -> None:
    """When context memory compressed the last user turn into its summary, the results
    go in a system message after the leading ones, so what was charged reaches the
    model."""
    block = results_text("q", [SearchResult("T", "https://a.example", "s")], "d")
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "system", "content": "summary"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
        {"role": "tool", "content": "42"},
    ]
    out = with_results(messages, block)
    assert [m["role"] for m in out] == ["system", "system", "system", "assistant", "tool"]
    assert "https://a.example" in out[2]["content"]


def test_the_results_go_in_front_of_the_last_user_turn() -> None:
    """A string turn gets the block prepended; a turn of parts gets a text part first;
    the messages passed in are not changed."""
    block = results_text("q", [SearchResult("Title", "https://a.example", "Snip")], "2026-12-07")
    assert "[1] Title\nURL: https://a.example\nSnip" in block
    plain = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert with_results(plain, block)[0]["content"] == block + "q"
    parts = [{"role": "user", "content": [{"type": "text", "text": "q"}]}]
    out = with_results(parts, block)
    assert out[0]["content"] == [{"type": "text", "text": block}, {"type": "text", "text": "q"}]
    assert parts[0]["content"] == [{"type": "text", "text": "q"}]


@pytest.mark.parametrize(
    "answer", [[], {"results": "none"}, {"no": "results"}, "text", {"results": None}]
)
def test_a_search_answer_without_a_list_of_results_is_malformed(answer: Any) -> None:
    """SearxNG's and Tavily's answers both carry ``results[]``; anything else is a
    malformed answer (the caller makes it a 503)."""
    with pytest.raises(ValueError):
        parse_results(answer)


def test_search_results_are_read_leniently_within_the_list() -> None:
    """Entries that are not objects are skipped; missing or non-string fields are empty."""
    answer = {"results": [{"title": "A", "url": "https://a", "content": "c"}, 3, {"url": 5}]}
    assert parse_results(answer) == [SearchResult("A", "https://a", "c"), SearchResult("", "", "")]


# Context memory -----------------------------------------------------------------------


def turns(count: int, words: int = 50) -> list[dict[str, Any]]:
    return [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"turn {i} " + "word " * words,
        }
        for i in range(count)
    ]


def test_a_conversation_splits_into_its_leading_system_messages_and_turns() -> None:
    """Only the leading system (or developer) messages are kept apart."""
    messages = [
        {"role": "system", "content": "a"},
        {"role": "developer", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "system", "content": "d"},
    ]
    conversation = split(messages)
    assert [m["content"] for m in conversation.system] == ["a", "b"]
    assert [m["content"] for m in conversation.turns] == ["c", "d"]


def test_prefix_hashes_chain_the_system_messages_and_each_turn() -> None:
    """The hash of a prefix is the same in a longer conversation, and differs when the
    system messages or an earlier turn differ."""
    base = [{"role": "system", "content": "s"}, *turns(4)]
    hashes = prefix_hashes(split(base))
    longer = prefix_hashes(split([*base, *turns(2)]))
    assert len(hashes) == 4 and longer[:4] == hashes
    other_system = prefix_hashes(split([{"role": "system", "content": "t"}, *turns(4)]))
    assert not set(other_system) & set(hashes)
    edited = [*base[:2], {"role": "assistant", "content": "edited"}, *base[3:]]
    assert prefix_hashes(split(edited))[0] == hashes[0]
    assert prefix_hashes(split(edited))[1:] != hashes[1:]


def test_recent_turns_fill_half_of_what_is_left_and_the_rest_fits() -> None:
    """The turns kept verbatim fit in half of what the system messages and the summary
    leave of the budget, so the composed conversation fits with room for more turns."""
    conversation = split([{"role": "system", "content": "s"}, *turns(60)])
    budget, summary = 2000, 200
    start = recent_start(conversation, None, budget, summary)
    assert start is not None and 0 < start < 60
    composed = compose(conversation, "x " * summary, start)
    assert count_chat_tokens(composed) <= budget
    kept = count_chat_tokens(composed[2:])
    assert kept <= (budget - summary) // 2 + 60
    assert composed[1]["content"].startswith(MEMORY_PREAMBLE)


def test_the_recent_turns_never_begin_with_a_tools_result() -> None:
    """A tool's result is kept with the call it answers: the kept turns begin at the
    call, even when the result is the last turn (and with ``whole``); when the call
    and its result do not fit together, memory cannot help."""
    calling = [
        *turns(20),
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c", "content": "result " * 200},
    ]
    conversation = split(calling)
    for whole in (False, True):
        start = recent_start(conversation, None, 100_000 if whole else 700, 50, whole=whole)
        assert start == len(calling) - 2, whole
    assert recent_start(conversation, None, 300, 50) is None
    messages: list[dict[str, Any]] = turns(20)
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c", "content": "result " * 200},
        {"role": "user", "content": "and now?"},
    ]
    conversation = split(messages)
    budget = count_chat_tokens(messages[-2:]) * 2 + 260
    start = recent_start(conversation, None, budget, 50)
    assert start is not None and conversation.turns[start]["role"] != "tool"


def test_memory_cannot_help_when_the_last_turn_alone_does_not_fit() -> None:
    """``None`` when even the last turn, beside the system messages and a summary, is
    beyond the budget; and with ``whole``, when there is no earlier turn."""
    long_last = split([*turns(4), {"role": "user", "content": "word " * 3000}])
    assert recent_start(long_last, None, 2000, 100) is None
    assert recent_start(split(turns(1)), None, 2000, 100, whole=True) is None
    assert recent_start(split(turns(5)), None, 100_000, 100, whole=True) == 4


def test_the_transcript_leaves_out_tool_calls_and_chunks_fit() -> None:
    """The summary model reads each turn as ``Role: text`` (tool calls are left out),
    in chunks of the given size; the call carries the previous summary first."""
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
        {"role": "tool", "content": "42"},
    ]
    assert transcript_lines(messages, 1000) == ["User: hello", "Tool result: 42"]
    lines = [f"User: {'w ' * 90}" for _ in range(10)]
    groups = chunks(lines, 400)
    assert sum(len(g) for g in groups) == 10 and len(groups) > 2
    request = summary_request("before", ["User: hi"])
    assert request[1]["content"].startswith("Previous summary:\nbefore\n\nConversation:\n")


@pytest.mark.parametrize("words", [10, 150, 900, 1700, 1800])
def test_the_summary_budget_bounds_every_pass(words: int) -> None:
    """However the transcript's turns fall into chunks (turns just over half a chunk
    make the most), :meth:`SummaryBudget.calls` is at least the passes made."""
    sizes = SummaryBudget(context_window=4096, summary_tokens=256)
    assert sizes.chunk_tokens == 4096 - 512 - 96
    history = turns(40, words)
    lines = transcript_lines(history, sizes.chunk_tokens)
    from nanogate.memory import transcript_tokens

    total = transcript_tokens(history)
    passes = len(chunks(lines, sizes.chunk_tokens))
    assert passes <= sizes.calls(total)
    assert sizes.most_output(total) == sizes.calls(total) * 256
    assert sizes.most_input(total) >= total + passes * 256


def test_the_prompt_budget_leaves_room_for_the_output_and_the_search() -> None:
    """The output asked for (an eighth of the context when none is) and what a search
    may add come off the context."""
    assert prompt_budget(2048, 64) == 2048 - 64 - 1
    assert prompt_budget(2048, None) == 2048 - 256 - 1
    assert prompt_budget(8192, 100, reserved=1000) == 8192 - 1100 - 1


def test_memory_needs_a_secret_and_a_chat_summary_model() -> None:
    """Memory on without a secret, or with a short one, cannot start; its summary model
    must be a chat model of the catalogue; off, it needs neither."""
    assert memory_sealer(MemorySettings(), {}) is None
    with pytest.raises(ConfigError, match="NANOGATE_MEMORY_SECRET"):
        memory_sealer(MemorySettings(enabled=True), {})
    with pytest.raises(ConfigError, match="at least 32"):
        memory_sealer(MemorySettings(enabled=True), {"NANOGATE_MEMORY_SECRET": "short"})
    sealer = memory_sealer(MemorySettings(enabled=True), {"NANOGATE_MEMORY_SECRET": "s" * 32})
    assert sealer is not None
    base = load_settings().model_dump()
    with pytest.raises(ValueError, match="not a chat model"):
        Settings.model_validate(
            {**base, "memory": {"enabled": True, "summary_model": "local/embed"}}
        )


def test_web_search_is_off_without_a_url_and_its_url_is_http() -> None:
    """The embedded default has web search off; a URL must be http(s)."""
    assert not load_settings().web_search.enabled
    base = load_settings().model_dump()
    with pytest.raises(ValueError, match="http"):
        Settings.model_validate({**base, "web_search": {"url": "ftp://search"}})
    on = load_settings(env={"NANOGATE_WEB_SEARCH_URL": "http://127.0.0.1:8888"})
    assert on.web_search.enabled


# Money --------------------------------------------------------------------------------


def refused(available: int | None) -> InsufficientBalance:
    error = InsufficientBalance(fields={"requiredBalance": 9})
    error.available_nusd = available
    return error


@pytest.mark.parametrize(
    ("available", "add_ons", "code"),
    [
        # inference 100; search 50; memory 30
        (140, {WEB_SEARCH: 50, MEMORY: 30}, "webSearch_balance_required"),
        (130, {WEB_SEARCH: 50, MEMORY: 30}, "webSearch_balance_required"),
        (120, {WEB_SEARCH: 50, MEMORY: 30}, "both_balance_required"),
        (160, {WEB_SEARCH: 50, MEMORY: 30}, "memory_balance_required"),
        (150, {WEB_SEARCH: 50, MEMORY: 30}, "memory_balance_required"),
        (129, {WEB_SEARCH: 50, MEMORY: 30}, "both_balance_required"),
        (100, {WEB_SEARCH: 50, MEMORY: 30}, "both_balance_required"),
        (140, {WEB_SEARCH: 50}, "webSearch_balance_required"),
        (100, {MEMORY: 30}, "memory_balance_required"),
        (99, {WEB_SEARCH: 50, MEMORY: 30}, "insufficient_balance"),
        (None, {WEB_SEARCH: 50}, "insufficient_balance"),
        (500, {}, "insufficient_balance"),
    ],
)
def test_the_402_names_the_add_on_to_drop(
    available: int | None, add_ons: dict[str, int], code: str
) -> None:
    """DESIGN section 10: with both asked, memory's code if dropping memory fits, else
    web search's if dropping search fits, else both; with one, its own; a balance short
    of the inference alone stays ``insufficient_balance``. ``requiredBalance`` is kept."""
    error = add_on_refusal(refused(available), 100, add_ons)
    assert error.code == code
    assert error.fields == {"requiredBalance": 9}


def test_requests_show_lists_each_add_ons_cost() -> None:
    """``nanogate requests show`` gives each add-on's cost in exact dollars, and none for
    a request without add-ons."""
    from nanogate.cli._admin import request_view
    from nanogate.storage import RequestRecord

    record = RequestRecord("req_1", datetime(2026, 12, 7, tzinfo=UTC), "openai", "POST", "/")
    assert request_view(record)["add_ons_usd"] == {}
    record.add_ons = {WEB_SEARCH: 6_000_000, MEMORY: 1}
    assert request_view(record)["add_ons_usd"] == {
        "webSearch": "0.006",
        "memory": "0.000000001",
    }
