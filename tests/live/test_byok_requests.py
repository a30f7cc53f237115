"""BYOK over real sockets: a key stores its own provider credential and uses it.

``acme/chat`` runs on provider ``own`` (BYOK allowed) and, as a second deployment, on
``house`` (the operator's credential only). Both are fake upstreams on loopback that
record the ``authorization`` header each request carried.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings
from tests.live.test_charging import balance

from nanogate.billing import cost, with_fee
from nanogate.config import Settings
from nanogate.routing import Model
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP

SECRET = "test-byok-secret-0123456789-abcdefghij"
USER_KEY = "sk-users-own-credential-7x9Q"
CHAT = "/api/v1/chat/completions"
BODY: dict[str, Any] = {
    "model": "acme/chat",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 16,
}


@pytest.fixture
def upstreams() -> Iterator[dict[str, FakeUpstream]]:
    fakes = {"own": FakeUpstream(reply="Hello from own."), "house": FakeUpstream()}
    served = {name: ServedAioHTTP(fake.app()).__enter__() for name, fake in fakes.items()}
    for name, fake in fakes.items():
        fake.url = served[name].url  # type: ignore[attr-defined]
    yield fakes
    for server in served.values():
        server.__exit__(None, None, None)


@pytest.fixture
def gateway(serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, FakeUpstream]) -> Live:
    base = make_settings(tmp_path).model_dump()
    providers = [
        {
            "name": name,
            "kind": "openai",
            "base_url": fake.url + "/v1",  # type: ignore[attr-defined]
            "api_key": "sk-operator-secret",
            "byok": name == "own",
            "timeout_s": 2,
        }
        for name, fake in upstreams.items()
    ]
    model = {
        "id": "acme/chat",
        "provider": "own",
        "deployments": [{"provider": "house"}],
        "input_usd_per_mtok": "3",
        "output_usd_per_mtok": "15",
        "capabilities": ["streaming"],
    }
    embed = {
        "id": "acme/embed",
        "type": "embedding",
        "provider": "own",
        "deployments": [{"provider": "house"}],
        "dimensions": 8,
        "input_usd_per_mtok": "1",
    }
    settings = Settings.model_validate(
        {
            **base,
            "providers": [*base["providers"], *providers],
            "models": [*base["models"], model, embed],
            "byok": {"secret": SECRET, "fee_percent": "5"},
        }
    )
    return serve_gateway(settings)


def auth_seen(fake: FakeUpstream) -> list[str]:
    return [
        next((v for k, v in r["headers"].items() if k.lower() == "authorization"), "")
        for r in fake.requests
    ]


def store_key(live: Live, provider: str = "own", key: str = USER_KEY) -> httpx.Response:
    return httpx.post(
        live.url + "/api/user/provider-keys",
        json={"provider": provider, "key": key},
        headers=live.auth(),
    )


def test_a_key_stores_its_credential_sealed_and_sees_only_its_suffix(
    gateway: Live, tmp_path: Path
) -> None:
    """``POST /api/user/provider-keys`` stores the credential sealed (the database never
    holds it in clear); ``GET`` shows the provider and the last four characters;
    ``DELETE`` removes it."""
    stored = store_key(gateway)
    assert stored.status_code == 200, stored.text
    assert stored.json()["suffix"] == "7x9Q" and USER_KEY not in stored.text
    listed = httpx.get(gateway.url + "/api/user/provider-keys", headers=gateway.auth()).json()
    assert [(k["provider"], k["suffix"]) for k in listed["data"]] == [("own", "7x9Q")]
    with sqlite3.connect(tmp_path / "nanogate.db") as db:
        (column,) = db.execute(
            "select byok from api_keys where id = ?", (gateway.seeded.key_id,)
        ).fetchone()
    assert "sealed" in column and USER_KEY not in column and '7x9Q"' in column

    deleted = httpx.delete(
        gateway.url + "/api/user/provider-keys?provider=own", headers=gateway.auth()
    )
    assert deleted.json() == {"provider": "own", "deleted": True}
    listed = httpx.get(gateway.url + "/api/user/provider-keys", headers=gateway.auth()).json()
    assert listed["data"] == []
    again = httpx.delete(
        gateway.url + "/api/user/provider-keys?provider=own", headers=gateway.auth()
    )
    assert again.status_code == 404


def test_only_providers_that_allow_byok_take_a_credential(gateway: Live) -> None:
    """A provider without ``byok = true`` (or one that does not exist) refuses a stored
    credential with a 400 naming the providers that accept one."""
    for provider in ("house", "nowhere"):
        response = store_key(gateway, provider)
        body = assert_envelope(response, "legacy", "invalid_parameter_value")
        assert "own" in body["error"]


def test_a_byok_request_uses_the_keys_credential_and_pays_the_fee(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """With ``x-use-byok: true`` the upstream sees the key's own credential, not the
    operator's, and the request is charged the BYOK fee (5 % of its price); without it,
    the operator's credential is used and the full price is charged."""
    store_key(gateway)
    before = balance(gateway)
    response = httpx.post(
        gateway.url + CHAT, json=BODY, headers={**gateway.auth(), "x-use-byok": "true"}
    )
    assert response.status_code == 200, response.text
    assert auth_seen(upstreams["own"]) == [f"Bearer {USER_KEY}"]
    usage = response.json()["usage"]
    model = Model.from_settings(next(m for m in gateway.settings.models if m.id == "acme/chat"))
    price = cost(model, usage["prompt_tokens"], usage["completion_tokens"])
    assert before - balance(gateway) == with_fee(price, gateway.settings.byok.fee_percent)

    plain = httpx.post(gateway.url + CHAT, json=BODY, headers=gateway.auth())
    assert plain.status_code == 200
    assert auth_seen(upstreams["own"])[-1] == "Bearer sk-operator-secret"


def test_a_rejected_byok_credential_is_your_api_key_and_never_falls_back(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """When the upstream refuses the key's own credential the client gets 401
    ``invalid_api_key`` about "your API key"; the operator's deployment is not tried and
    nothing is charged."""
    store_key(gateway)
    upstreams["own"].inject(Fault.status_error(401, message="Incorrect API key provided"))
    before = balance(gateway)
    response = httpx.post(
        gateway.url + CHAT,
        json={**BODY, "byok": {"enabled": True}},
        headers=gateway.auth(),
    )
    body = assert_envelope(response, "openai", "invalid_api_key")
    assert "your API key" in body["error"]["message"]
    assert upstreams["house"].requests == []
    assert balance(gateway) == before


def test_byok_without_a_stored_credential_is_refused_before_any_upstream(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """Asking for BYOK with no credential stored (or for a provider the key has none
    for) is a 400 on ``byok``; no upstream is called with anyone's credential."""
    response = httpx.post(
        gateway.url + CHAT, json=BODY, headers={**gateway.auth(), "x-use-byok": "true"}
    )
    body = assert_envelope(response, "openai", "invalid_parameter_value")
    assert body["error"]["param"] == "byok"
    store_key(gateway)
    response = httpx.post(
        gateway.url + CHAT,
        json=BODY,
        headers={**gateway.auth(), "x-use-byok": "true", "x-byok-provider": "house"},
    )
    assert_envelope(response, "openai", "invalid_parameter_value")
    assert upstreams["own"].requests == [] and upstreams["house"].requests == []


def test_credentials_never_reach_the_logs(
    gateway: Live, upstreams: dict[str, FakeUpstream], caplog: pytest.LogCaptureFixture
) -> None:
    """Storing and using a credential, and its rejection upstream (whose message quotes
    it), log nothing of it, at any level: only its last four characters may appear."""
    caplog.set_level(logging.DEBUG)
    store_key(gateway)
    upstreams["own"].inject(Fault.status_error(401, message=f"bad key {USER_KEY}"))
    httpx.post(gateway.url + CHAT, json=BODY, headers={**gateway.auth(), "x-use-byok": "1"})
    httpx.post(gateway.url + CHAT, json=BODY, headers={**gateway.auth(), "x-use-byok": "1"})
    assert len(upstreams["own"].requests) == 2
    assert USER_KEY not in caplog.text
    assert USER_KEY[:-4] not in caplog.text, "not even in part"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/messages", {**BODY, "max_tokens": 16}),
        ("/api/v1/responses", {"model": "acme/chat", "input": "hi"}),
        ("/api/talk-to-gpt", {"model": "acme/chat", "prompt": "hi"}),
    ],
    ids=["messages", "responses", "legacy"],
)
def test_the_byok_body_field_works_on_every_chat_surface(
    gateway: Live, upstreams: dict[str, FakeUpstream], path: str, body: dict[str, Any]
) -> None:
    """``"byok": {"enabled": true}`` in a Messages, Responses or legacy body is honoured
    like on chat completions: refused with no credential stored, and run on the key's own
    credential once one is."""
    with_byok = {**body, "byok": {"enabled": True}}
    refused = httpx.post(gateway.url + path, json=with_byok, headers=gateway.auth())
    assert refused.status_code == 400, refused.text
    assert upstreams["own"].requests == [] and upstreams["house"].requests == []
    store_key(gateway)
    answered = httpx.post(gateway.url + path, json=with_byok, headers=gateway.auth())
    assert answered.status_code == 200, answered.text
    assert auth_seen(upstreams["own"]) == [f"Bearer {USER_KEY}"]
    assert "byok" not in upstreams["own"].requests[0]["body"]


def test_embeddings_use_the_keys_credential_and_pay_the_fee(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """A BYOK embeddings request runs on the key's own credential and pays the fee (on
    the upstream's count, which is within the hold of this input's estimate)."""
    store_key(gateway)
    before = balance(gateway)
    response = httpx.post(
        gateway.url + "/api/v1/embeddings",
        json={"model": "acme/embed", "input": "hello there, how are you today?"},
        headers={**gateway.auth(), "x-use-byok": "true"},
    )
    assert response.status_code == 200, response.text
    assert auth_seen(upstreams["own"]) == [f"Bearer {USER_KEY}"]
    tokens = response.json()["usage"]["prompt_tokens"]
    model = Model.from_settings(next(m for m in gateway.settings.models if m.id == "acme/embed"))
    expected = with_fee(cost(model, tokens, 0), gateway.settings.byok.fee_percent)
    assert before - balance(gateway) == expected


def test_one_keys_failures_do_not_open_the_shared_circuit(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """Failures on a caller's own credential (its quota, its key) say nothing about the
    deployment: after more of them than ``breaker_failures``, requests on the operator's
    credential still go to that deployment."""
    store_key(gateway)
    failures = gateway.settings.routing.breaker_failures + 1
    upstreams["own"].inject(*(Fault.status_error(429) for _ in range(failures)))
    for _ in range(failures):
        response = httpx.post(
            gateway.url + CHAT, json=BODY, headers={**gateway.auth(), "x-use-byok": "true"}
        )
        assert response.status_code == 429
    plain = httpx.post(gateway.url + CHAT, json=BODY, headers=gateway.auth())
    assert plain.json()["choices"][0]["message"]["content"] == "Hello from own."
    assert upstreams["house"].requests == []


def test_a_mid_stream_refusal_of_the_keys_credential_says_your_api_key(
    gateway: Live, upstreams: dict[str, FakeUpstream]
) -> None:
    """An in-band 401 inside a BYOK stream ends it with the error frame of 401
    ``invalid_api_key`` about "your API key", not the operator's 503."""
    store_key(gateway)
    upstreams["own"].inject(Fault.error_event(after=2, status=401, message="bad key"))
    with httpx.stream(
        "POST",
        gateway.url + CHAT,
        json={**BODY, "stream": True},
        headers={**gateway.auth(), "x-use-byok": "true"},
    ) as response:
        text = response.read().decode()
    frame = next(line for line in text.splitlines() if '"finish_reason":"error"' in line)
    error = orjson.loads(frame.removeprefix("data: "))["error"]
    assert error["code"] == "invalid_api_key" and "your API key" in error["message"]
