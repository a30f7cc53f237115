"""The request log, the Request Billing lookup and stored responses belong to one key."""

from __future__ import annotations

import orjson
from tests.conftest import InProcess
from tests.helpers import wait_until_async

from nanogate.storage import SQLStore

CHAT = {"model": "local/chat", "messages": [{"role": "user", "content": "bill me"}]}


async def other_key(gateway: InProcess) -> str:
    """A second key on the same account, once the gateway has picked it up."""
    store = SQLStore(gateway.settings.database.url)
    try:
        key = (await store.create_key(gateway.seeded.account_id)).key
    finally:
        await store.close()
    await gateway.app.state.keys.refresh()
    return key


async def test_request_billing_for_the_key_that_made_the_request(gateway: InProcess) -> None:
    """The Request Billing lookup returns NanoGPT's shape for the caller's own request,
    and the same 404 (with Retry-After: 30) for another key or an unknown id."""
    done = await gateway.client.post("/api/v1/chat/completions", json=CHAT, headers=gateway.auth())
    request_id = done.headers["x-request-id"]
    lookup = await gateway.client.get(
        f"/api/v1/usage/requests/{request_id}", headers=gateway.auth()
    )
    billing = lookup.json()
    assert billing["object"] == "request_billing" and billing["request_id"] == request_id
    assert billing["currency"] == "USD" and billing["cost_scope"] == "primary_charge"
    assert billing["usage"]["input_tokens"] == done.json()["usage"]["prompt_tokens"]
    assert billing["usage"]["output_tokens"] == done.json()["usage"]["completion_tokens"]
    assert lookup.headers["cache-control"] == "private, no-store, max-age=0"
    state = gateway.app.state

    async def written() -> bool:
        in_database = await state.store.get_request(request_id) is not None
        return in_database and state.request_log.pending(request_id) is None

    await wait_until_async(written, "the request log to write the record")  # now from the database
    again = await gateway.client.get(f"/api/v1/usage/requests/{request_id}", headers=gateway.auth())
    assert again.json()["request_id"] == request_id
    stranger = await other_key(gateway)
    hidden = await gateway.client.get(
        f"/api/v1/usage/requests/{request_id}", headers={"authorization": f"Bearer {stranger}"}
    )
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "request_not_found"
    assert hidden.headers["retry-after"] == "30"


async def test_stored_responses_are_private_to_their_key(gateway: InProcess) -> None:
    """Another key can neither read, continue nor delete a stored response."""
    created = await gateway.client.post(
        "/api/v1/responses", json={"model": "local/chat", "input": "secret"}, headers=gateway.auth()
    )
    response_id = created.json()["id"]
    stranger = {"authorization": f"Bearer {await other_key(gateway)}"}
    for method, path, body in (
        ("GET", f"/api/v1/responses/{response_id}", None),
        ("DELETE", f"/api/v1/responses/{response_id}", None),
        (
            "POST",
            "/api/v1/responses",
            {"model": "local/chat", "input": "x", "previous_response_id": response_id},
        ),
    ):
        response = await gateway.client.request(method, path, json=body, headers=stranger)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "response_not_found"
    own = await gateway.client.get(f"/api/v1/responses/{response_id}", headers=gateway.auth())
    assert own.json()["id"] == response_id


async def test_store_false_keeps_nothing(gateway: InProcess) -> None:
    """A response created with store: false cannot be retrieved or continued."""
    created = await gateway.client.post(
        "/api/v1/responses",
        json={"model": "local/chat", "input": "forget me", "store": False},
        headers=gateway.auth(),
    )
    assert created.json()["store"] is False
    missing = await gateway.client.get(
        f"/api/v1/responses/{created.json()['id']}", headers=gateway.auth()
    )
    assert missing.status_code == 404


async def test_responses_continue_a_conversation(gateway: InProcess) -> None:
    """previous_response_id carries the earlier turns: the prompt grows by them."""
    first = await gateway.client.post(
        "/api/v1/responses", json={"model": "local/chat", "input": "one"}, headers=gateway.auth()
    )
    second = await gateway.client.post(
        "/api/v1/responses",
        json={"model": "local/chat", "input": "two", "previous_response_id": first.json()["id"]},
        headers=gateway.auth(),
    )
    alone = await gateway.client.post(
        "/api/v1/responses", json={"model": "local/chat", "input": "two"}, headers=gateway.auth()
    )
    assert second.json()["usage"]["input_tokens"] > alone.json()["usage"]["input_tokens"]


async def test_every_api_request_is_logged_with_its_outcome(gateway: InProcess) -> None:
    """Successes and errors on /api routes are written to the request log with key,
    status and code; ops routes are not."""
    ok = await gateway.client.post("/api/v1/chat/completions", json=CHAT, headers=gateway.auth())
    bad = await gateway.client.post(
        "/api/v1/chat/completions", json={**CHAT, "model": "nope"}, headers=gateway.auth()
    )
    health = await gateway.client.get("/healthz")
    await gateway.app.state.request_log.flush()
    store = SQLStore(gateway.settings.database.url)
    try:
        ok_record = await store.get_request(ok.headers["x-request-id"])
        bad_record = await store.get_request(bad.headers["x-request-id"])
        health_record = await store.get_request(health.headers["x-request-id"])
    finally:
        await store.close()
    assert ok_record is not None and ok_record.status == 200
    assert ok_record.key_id == gateway.seeded.key_id and ok_record.model == "local/chat"
    assert bad_record is not None and (bad_record.status, bad_record.code) == (
        404,
        "model_not_found",
    )
    assert health_record is None


async def test_billing_cost_is_priced_from_usage_and_matches_the_legacy_trailer(
    gateway: InProcess,
) -> None:
    """A request's recorded cost is its usage at the model's prices, exactly; the
    talk-to-gpt trailer shows the same figure the billing lookup returns."""
    from decimal import Decimal

    legacy = await gateway.client.post(
        "/api/talk-to-gpt",
        json={"model": "local/chat", "prompt": "price me"},
        headers=gateway.auth(),
    )
    trailer = legacy.text.split("<NanoGPT>")[1].removesuffix("</NanoGPT>")
    usage = orjson.loads(trailer)
    expected = (
        Decimal(usage["inputTokens"]) * Decimal("0.10")
        + Decimal(usage["outputTokens"]) * Decimal("0.40")
    ) / 1_000_000
    billing = await gateway.client.get(
        f"/api/v1/usage/requests/{legacy.headers['x-request-id']}", headers=gateway.auth()
    )
    assert Decimal(billing.json()["cost"]) == expected
    assert Decimal(trailer.split('"cost":')[1].split(",")[0]) == expected


async def test_the_billing_window_follows_the_gateway_clock(tmp_path) -> None:
    """Records are stamped with the gateway's clock, and a request older than 24 hours by
    that clock is no longer visible."""
    from datetime import UTC, datetime, timedelta

    import httpx
    from tests.helpers import make_settings, seed

    from nanogate.server import create_app

    now = [datetime(2026, 1, 1, 12, tzinfo=UTC)]
    settings = make_settings(tmp_path)
    seeded = await seed(settings.database.url)
    app = create_app(settings, clock=lambda: now[0])
    await app.state.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            auth = {"authorization": f"Bearer {seeded.key}"}
            done = await client.post("/api/v1/chat/completions", json=CHAT, headers=auth)
            path = f"/api/v1/usage/requests/{done.headers['x-request-id']}"
            seen = (await client.get(path, headers=auth)).json()
            assert seen["created_at"] == "2026-01-01T12:00:00.000000Z"
            assert seen["expires_at"] == "2026-01-02T12:00:00.000000Z"
            now[0] += timedelta(hours=24, seconds=1)
            assert (await client.get(path, headers=auth)).status_code == 404
    finally:
        await app.state.stop()
