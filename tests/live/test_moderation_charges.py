"""Moderation over real sockets: what it charges (read from the balance before and after),
an OpenAI-compatible moderation upstream (the fake, on loopback), and its outages.

The seed's rule: a request blocked by inline moderation is not charged for generation,
but the moderation preflight is; a clean request pays both; a moderator that fails
charges nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, with_provider
from tests.live.test_balances import assert_books_balance
from tests.live.test_charging import balance, model

from nanogate.billing import cost
from nanogate.config import ModelSettings, ProviderSettings
from nanogate.core import count_tokens, format_usd
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP, refused_url

MODERATIONS = "/api/v1/moderations"
CHAT = SURFACE_PATHS["openai"]
THREAT = "I will kill you"


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture
def moderation_live(
    serve_gateway: LiveFactory, tmp_path: Path, fake: tuple[FakeUpstream, str]
) -> Iterator[Live]:
    """The embedded default, plus ``acme/moderation`` on the fake upstream (priced at $1
    per million input tokens, reading text and images) and ``down/moderation`` on an
    address that refuses every connection."""
    _, url = fake
    with refused_url() as nowhere:
        settings = with_provider(
            make_settings(tmp_path),
            ProviderSettings(
                name="fake",
                kind="openai",
                base_url=url + "/v1",
                timeout_s=0.5,
                api_key="sk-upstream-secret",
            ),
            [
                {
                    "id": "acme/moderation",
                    "provider": "fake",
                    "type": "moderation",
                    "upstream_model": "omni-moderation-latest",
                    "input_usd_per_mtok": "1",
                    "capabilities": ["batch", "vision"],
                }
            ],
        )
        settings = with_provider(
            settings,
            ProviderSettings(name="down", kind="openai", base_url=nowhere + "/v1"),
            [ModelSettings(id="down/moderation", provider="down", type="moderation").model_dump()],
        )
        yield serve_gateway(settings)


def post(live: Live, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        return client.post(path, json=body, headers={**live.auth(), **headers})


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "local/chat", "messages": [{"role": "user", "content": content}], **extra}


def preflight_cost(live: Live, model_id: str, text: str) -> int:
    return cost(model(live, model_id), count_tokens(text), 0)


def books(live: Live) -> None:
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


# The rule moderator's charges --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, chat(THREAT)),
        (CHAT, chat(THREAT, stream=True)),
        (SURFACE_PATHS["anthropic"], {**chat(THREAT), "max_tokens": 32}),
        ("/api/v1/responses", {"model": "local/chat", "input": THREAT}),
        (SURFACE_PATHS["legacy"], {"model": "local/chat", "prompt": THREAT}),
    ],
    ids=["chat", "chat-stream", "messages", "responses", "legacy"],
)
def test_flagged_request_pays_only_the_preflight(
    moderation_live: Live, path: str, body: dict[str, Any]
) -> None:
    """Blocked by inline moderation: 400 content_policy_violation, and the balance goes down
    by exactly the moderation check, nothing for generation."""
    before = balance(moderation_live)
    answer = post(moderation_live, path, body, moderation="true")
    assert answer.status_code == 400
    assert "moderation" in answer.json()
    expected = preflight_cost(moderation_live, "local/moderation", THREAT)
    assert expected > 0
    assert before - balance(moderation_live) == expected
    books(moderation_live)


def test_clean_request_pays_preflight_and_generation(moderation_live: Live) -> None:
    """Passed by inline moderation: the generation runs, and the balance goes down by the
    moderation check plus the generation, each at its own model's price."""
    before = balance(moderation_live)
    answer = post(moderation_live, CHAT, chat("Hello there"), moderation="true")
    assert answer.status_code == 200
    usage = answer.json()["usage"]
    generation = cost(
        model(moderation_live, "local/chat"), usage["prompt_tokens"], usage["completion_tokens"]
    )
    check = preflight_cost(moderation_live, "local/moderation", "Hello there")
    assert before - balance(moderation_live) == generation + check
    assert answer.headers["x-nanogpt-inline-moderation-cost-usd"] == "0.00000002"
    books(moderation_live)


def test_the_endpoint_charges_per_input_token(moderation_live: Live) -> None:
    """POST /api/v1/moderations is charged its input tokens at the model's price."""
    before = balance(moderation_live)
    answer = post(moderation_live, MODERATIONS, {"input": ["hello", THREAT]})
    assert [r["flagged"] for r in answer.json()["results"]] == [False, True]
    expected = preflight_cost(moderation_live, "local/moderation", "hello " + THREAT)
    assert before - balance(moderation_live) == expected
    books(moderation_live)


# The OpenAI-compatible upstream ------------------------------------------------------------


def test_moderations_through_the_upstream(
    moderation_live: Live, fake: tuple[FakeUpstream, str]
) -> None:
    """A moderation model on an openai provider asks ``POST /v1/moderations`` upstream
    (its own model name, the operator's key, the request id) and answers its verdicts."""
    upstream, _ = fake
    before = balance(moderation_live)
    answer = post(
        moderation_live,
        MODERATIONS,
        {"model": "acme/moderation", "input": ["hello", "this is forbidden"]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == "acme/moderation"
    assert [r["flagged"] for r in body["results"]] == [False, True]
    assert body["results"][1]["categories"]["harassment"] is True
    assert body["results"][1]["category_scores"]["harassment"] == 0.9
    (seen,) = upstream.requests
    assert seen["path"] == "/v1/moderations"
    assert seen["body"] == {
        "model": "omni-moderation-latest",
        "input": ["hello", "this is forbidden"],
    }
    assert seen["headers"]["Authorization"] == "Bearer sk-upstream-secret"
    assert seen["headers"]["X-Request-ID"] == answer.headers["x-request-id"]
    charged = preflight_cost(moderation_live, "acme/moderation", "hello this is forbidden")
    assert before - balance(moderation_live) == charged
    books(moderation_live)


def test_images_reach_the_upstream_as_parts(
    moderation_live: Live, fake: tuple[FakeUpstream, str]
) -> None:
    """Text and image parts go upstream as OpenAI's multimodal input, one result back."""
    upstream, _ = fake
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    answer = post(moderation_live, MODERATIONS, {"model": "acme/moderation", "input": parts})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["results"]) == 1
    assert upstream.requests[-1]["body"]["input"] == parts


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, chat("this is forbidden")),
        (SURFACE_PATHS["anthropic"], {**chat("this is forbidden"), "max_tokens": 32}),
        (SURFACE_PATHS["legacy"], {"model": "local/chat", "prompt": "this is forbidden"}),
    ],
    ids=["openai", "anthropic", "legacy"],
)
def test_inline_moderation_by_the_upstream(
    moderation_live: Live, path: str, body: dict[str, Any]
) -> None:
    """``moderation: <upstream model>`` blocks what the upstream flags: the verdict is the
    body's ``moderation`` object, and only the check is charged."""
    surface = {CHAT: "openai", SURFACE_PATHS["anthropic"]: "anthropic"}.get(path, "legacy")
    before = balance(moderation_live)
    answer = post(moderation_live, path, body, moderation="acme/moderation")
    verdict = assert_envelope(answer, surface, "content_policy_violation")["moderation"]
    assert verdict["model"] == "acme/moderation" and verdict["categories"]["harassment"] is True
    assert answer.headers["x-nanogpt-inline-moderation-model"] == "acme/moderation"
    assert answer.headers["x-nanogpt-inline-moderation-flagged"] == "true"
    expected = preflight_cost(moderation_live, "acme/moderation", "this is forbidden")
    assert before - balance(moderation_live) == expected
    assert answer.headers["x-nanogpt-inline-moderation-cost-usd"] == format_usd(expected, 0)
    books(moderation_live)


# Outages -------------------------------------------------------------------------------------

FAULTS = {
    "http-503": Fault.status_error(503),
    "http-429": Fault.status_error(429, retry_after=3),
    "http-500": Fault.status_error(500),
    "reset": Fault.reset(),
    "timeout": Fault.delay(2.0),
    "malformed": Fault.malformed(),
    "no-results": Fault.empty(),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        (MODERATIONS, {"model": "acme/moderation", "input": "hello"}, {}),
        (CHAT, chat("hello"), {"moderation": "acme/moderation"}),
        (CHAT, chat("hello", stream=True), {"moderation": "acme/moderation"}),
    ],
    ids=["endpoint", "inline", "inline-stream"],
)
def test_a_failing_moderation_upstream_is_a_503_and_free(
    moderation_live: Live,
    fake: tuple[FakeUpstream, str],
    fault: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    """Whatever the upstream does wrong, the answer is 503 service_unavailable naming the
    moderation provider, the generation is not run, and the balance does not move."""
    upstream, _ = fake
    upstream.inject(FAULTS[fault])
    before = balance(moderation_live)
    answer = post(moderation_live, path, body, **headers)
    error = assert_envelope(answer, "openai", "service_unavailable")["error"]
    assert error["message"].startswith("Moderation provider unavailable")
    assert "x-nanogpt-inline-moderation-model" not in answer.headers
    assert balance(moderation_live) == before
    books(moderation_live)


def test_a_refused_moderation_upstream_is_a_503_and_free(moderation_live: Live) -> None:
    """A moderation provider nothing listens on: 503 on the endpoint and inline, no charge."""
    before = balance(moderation_live)
    direct = post(moderation_live, MODERATIONS, {"model": "down/moderation", "input": "hi"})
    gated = post(moderation_live, CHAT, chat("hi"), moderation="down/moderation")
    for answer in (direct, gated):
        error = assert_envelope(answer, "openai", "service_unavailable")["error"]
        assert "could not be reached" in error["message"]
        assert "127.0.0.1" not in answer.text
    assert balance(moderation_live) == before
    books(moderation_live)


def test_the_upstream_key_never_reaches_a_response(moderation_live: Live) -> None:
    """The operator's upstream key appears in no answer, flagged or failing."""
    answers = [
        post(moderation_live, MODERATIONS, {"model": "acme/moderation", "input": "forbidden"}),
        post(moderation_live, CHAT, chat("forbidden"), moderation="acme/moderation"),
    ]
    for answer in answers:
        assert b"sk-upstream-secret" not in answer.content
        assert "sk-upstream-secret" not in orjson.dumps(dict(answer.headers)).decode()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_request_refused_for_its_balance_pays_no_moderation(
    serve_gateway: LiveFactory, tmp_path: Path, stream: bool
) -> None:
    """The generation's hold comes first: a request its balance cannot cover gets 402 and
    its inline moderation never runs, so nothing at all is charged."""
    live = serve_gateway(make_settings(tmp_path), balance="0.0000001")
    before = balance(live)
    answer = post(live, CHAT, chat(THREAT, max_tokens=2000, stream=stream), moderation="true")
    assert answer.status_code == 402, answer.text
    assert "x-nanogpt-inline-moderation-cost-usd" not in answer.headers
    assert balance(live) == before
    books(live)
