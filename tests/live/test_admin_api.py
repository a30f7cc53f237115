"""The admin API (DESIGN section 11) over a real socket: every route, the admin token,
cursor pagination, the audit trail and errors in the OpenAI envelope.

The gateway runs with the dev x402 rail on, so payments can be quoted without money.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings, wait_until
from tests.x402_helpers import BODY

from nanogate.config import AdminSettings, X402Settings

TOKEN = "admin-" + "t" * 40
ADMIN = "/api/admin/v1"
CHAT = {"model": "local/chat", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def live(serve_gateway: LiveFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Live:
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", TOKEN)
    settings = make_settings(tmp_path)
    settings = settings.model_copy(update={"x402": X402Settings(enabled=True, rails=("dev",))})
    return serve_gateway(settings)


class AdminClient:
    def __init__(self, live: Live, token: str = TOKEN) -> None:
        self.http = httpx.Client(
            base_url=live.url + ADMIN, headers={"authorization": f"Bearer {token}"}, timeout=10
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body if body is not None else {})

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        assert response.headers["cache-control"] == "no-store"
        return response.json()


@pytest.fixture
def admin(live: Live) -> Iterator[AdminClient]:
    client = AdminClient(live)
    yield client
    client.http.close()


def test_without_a_token_configured_the_admin_api_is_not_served(
    serve_gateway: LiveFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token, or one shorter than 32 characters: every admin path is 404 (the OpenAI
    envelope), even with the right header."""
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", "short-token")
    live = serve_gateway(make_settings(tmp_path))
    response = httpx.get(
        live.url + ADMIN + "/accounts", headers={"authorization": "Bearer short-token"}
    )
    assert_envelope(response, "openai", "not_found")
    assert live.app.state.admin is None


def test_a_missing_or_wrong_token_is_401_invalid_api_key(live: Live) -> None:
    """No header, another scheme, an API key, a near miss: each 401 invalid_api_key."""
    attempts: list[dict[str, str]] = [
        {},
        {"authorization": f"Basic {TOKEN}"},
        {"authorization": f"Bearer {live.key}"},
        {"authorization": f"Bearer {TOKEN[:-1]}x"},
        {"x-api-key": TOKEN},
    ]
    for headers in attempts:
        response = httpx.get(live.url + ADMIN + "/accounts", headers=headers)
        body = assert_envelope(response, "openai", "invalid_api_key")
        assert response.status_code == 401
        assert TOKEN not in response.text and "admin token" in body["error"]["message"]


def test_a_setting_names_another_variable(
    serve_gateway: LiveFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[admin] token_env`` chooses the variable the token is read from."""
    monkeypatch.delenv("NANOGATE_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("OPS_TOKEN", TOKEN)
    settings = make_settings(tmp_path).model_copy(
        update={"admin": AdminSettings(token_env="OPS_TOKEN")}
    )
    client = AdminClient(serve_gateway(settings))
    assert client.get("/accounts").status_code == 200
    client.http.close()


def test_accounts_create_show_search_top_up_and_page(admin: AdminClient, live: Live) -> None:
    """Create answers 201 with the account; search by name and id; a top-up adds exactly;
    pages of one row follow ``next_cursor`` to the end without repeats."""
    made = admin.ok(admin.post("/accounts", {"name": "Acme Corp", "balance_usd": "12.5"}), 201)
    assert made["balance_usd"] == "12.50" and made["reserved_usd"] == "0.00"
    assert made["id"].startswith("acct") and made["name"] == "Acme Corp"
    assert admin.ok(admin.get(f"/accounts/{made['id']}")) == made

    found = admin.ok(admin.get("/accounts", q="acme"))
    assert [a["id"] for a in found["data"]] == [made["id"]] and found["next_cursor"] is None
    assert admin.ok(admin.get("/accounts", q=made["id"]))["data"][0]["id"] == made["id"]

    topped = admin.ok(admin.post(f"/accounts/{made['id']}/topup", {"amount_usd": "0.000000001"}))
    assert topped["balance_usd"] == "12.500000001"

    seen: list[str] = []
    cursor = None
    while True:
        page = admin.ok(admin.get("/accounts", limit=1, cursor=cursor))
        seen += [a["id"] for a in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted({made["id"], live.seeded.account_id})
    assert seen[0] == made["id"], "newest first"


def test_the_ledger_pages_newest_first(admin: AdminClient) -> None:
    """Opening balance and top-ups in the ledger, newest first, in pages."""
    account = admin.ok(admin.post("/accounts", {"balance_usd": "1"}), 201)
    for amount in ("2", "3"):
        admin.ok(admin.post(f"/accounts/{account['id']}/topup", {"amount_usd": amount}))
    first = admin.ok(admin.get(f"/accounts/{account['id']}/ledger", limit=2))
    assert [e["amount_usd"] for e in first["data"]] == ["3.00", "2.00"]
    rest = admin.ok(admin.get(f"/accounts/{account['id']}/ledger", cursor=first["next_cursor"]))
    assert [(e["kind"], e["amount_usd"]) for e in rest["data"]] == [("topup", "1.00")]
    assert rest["next_cursor"] is None


def test_bad_account_input_is_refused_and_changes_nothing(admin: AdminClient) -> None:
    """A float, a negative amount, zero, an unknown field, a non-object body: 400 with
    ``param``; an unknown account: 404. The balance is unchanged throughout."""
    account = admin.ok(admin.post("/accounts", {"balance_usd": "1"}), 201)
    topup = f"/accounts/{account['id']}/topup"
    for body, param in [
        ({"amount_usd": 0.1}, "amount_usd"),
        ({"amount_usd": "-1"}, "amount_usd"),
        ({"amount_usd": "0"}, "amount_usd"),
        ({"amount_usd": "1.0000000001"}, "amount_usd"),
        ({"amount_usd": "5", "note": "x"}, "note"),
        ({}, "amount_usd"),
    ]:
        response = admin.post(topup, body)
        error = assert_envelope(response, "openai", response.json()["error"]["code"])["error"]
        assert response.status_code == 400 and error["param"] == param, response.text
    assert admin.http.post(topup, content=b"[1]").status_code == 400
    assert admin.ok(admin.get(f"/accounts/{account['id']}"))["balance_usd"] == "1.00"
    assert_envelope(
        admin.post("/accounts/acct_nope/topup", {"amount_usd": "1"}), "openai", "not_found"
    )
    assert_envelope(admin.get("/accounts/acct_nope"), "openai", "not_found")
    assert_envelope(admin.get("/accounts/acct_nope/ledger"), "openai", "not_found")
    bad = admin.get("/accounts", cursor="not-a-cursor")
    assert assert_envelope(bad, "openai", "invalid_parameter_value")["error"]["param"] == "cursor"
    assert admin.get("/accounts", limit=0).status_code == 400
    assert admin.get("/accounts", limit=1001).status_code == 400


def test_keys_show_their_secret_once_work_and_revoke(admin: AdminClient, live: Live) -> None:
    """Create answers 201 with the secret, which works at once; listings never show it;
    revoking answers the key revoked and the gateway refuses it within a second."""
    account = admin.ok(admin.post("/accounts", {"balance_usd": "1"}), 201)
    body = {
        "account_id": account["id"],
        "name": "ci",
        "models": ["local/chat"],
        "daily_requests": 100,
        "daily_usd": "2.5",
        "rps": 5,
        "expires_at": "2099-01-01T00:00:00Z",
    }
    made = admin.ok(admin.post("/keys", body), 201)
    secret = made["key"]
    assert secret.startswith("sk-nano-") and made["prefix"] == secret[: len(made["prefix"])]
    assert (made["daily_usd"], made["rps"], made["models"]) == ("2.50", 5, ["local/chat"])
    assert made["expires_at"] == "2099-01-01T00:00:00Z"

    listed = admin.ok(admin.get("/keys", account_id=account["id"]))
    assert [k["id"] for k in listed["data"]] == [made["id"]]
    everything = admin.ok(admin.get("/keys", limit=1000))
    assert secret not in str(everything) and "key" not in everything["data"][0]

    chat = httpx.post(
        live.url + "/api/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert chat.status_code == 200, chat.text

    revoked = admin.ok(admin.post(f"/keys/{made['id']}/revoke"))
    assert revoked["revoked_at"] is not None
    assert admin.ok(admin.post(f"/keys/{made['id']}/revoke"))["revoked_at"] == revoked["revoked_at"]

    def refused() -> bool:
        again = httpx.post(
            live.url + "/api/v1/chat/completions",
            json=CHAT,
            headers={"authorization": f"Bearer {secret}"},
            timeout=10,
        )
        return again.status_code == 401

    wait_until(refused, "the revoked key to be refused")
    assert_envelope(admin.post("/keys/key_nope/revoke"), "openai", "not_found")
    assert_envelope(admin.post("/keys", {"account_id": "acct_nope"}), "openai", "not_found")
    assert admin.post("/keys", {"account_id": account["id"], "rps": 0}).status_code == 400
    assert (
        admin.post("/keys", {"account_id": account["id"], "expires_at": "soon"}).status_code == 400
    )


def test_every_change_is_in_the_audit_trail(admin: AdminClient) -> None:
    """Account create, top-up, key create and revoke each write one audit row, newest
    first, with what changed and never the key's secret."""
    account = admin.ok(admin.post("/accounts", {"name": "audited"}), 201)
    admin.ok(admin.post(f"/accounts/{account['id']}/topup", {"amount_usd": "4"}))
    key = admin.ok(admin.post("/keys", {"account_id": account["id"]}), 201)
    admin.ok(admin.post(f"/keys/{key['id']}/revoke"))
    admin.post("/accounts/acct_nope/topup", {"amount_usd": "1"})  # refused: not audited

    trail = admin.ok(admin.get("/audit"))["data"]
    assert [(e["action"], e["target"]) for e in trail] == [
        ("key.revoke", key["id"]),
        ("key.create", key["id"]),
        ("account.topup", account["id"]),
        ("account.create", account["id"]),
    ]
    assert trail[2]["detail"] == {"amount_usd": "4.00"}
    assert {e["actor"] for e in trail} == {"api"} and trail[0]["client_ip"] == "127.0.0.1"
    assert key["key"] not in str(trail)
    page = admin.ok(admin.get("/audit", limit=3))
    assert admin.ok(admin.get("/audit", cursor=page["next_cursor"]))["data"] == trail[3:]


def test_requests_are_listed_filtered_and_shown_whole(admin: AdminClient, live: Live) -> None:
    """Requests appear in the log with their cost; filters narrow them; one request's
    record has its attempts and the ledger's charge."""
    answered = httpx.post(
        live.url + "/api/v1/chat/completions", json=CHAT, headers=live.auth(), timeout=10
    )
    missing = httpx.post(
        live.url + "/api/v1/chat/completions",
        json={**CHAT, "model": "no/such"},
        headers=live.auth(),
        timeout=10,
    )
    ok_id, bad_id = answered.headers["x-request-id"], missing.headers["x-request-id"]

    def listed() -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = admin.ok(admin.get("/requests", key_id=live.seeded.key_id))[
            "data"
        ]
        return data if {ok_id, bad_id} <= {r["request_id"] for r in data} else []

    rows = wait_until(listed, "both requests in the log")
    assert [r["request_id"] for r in rows[:2]] == [bad_id, ok_id]

    failed = admin.ok(admin.get("/requests", code="model_not_found"))["data"]
    assert [r["request_id"] for r in failed] == [bad_id]
    assert admin.ok(admin.get("/requests", status=200))["data"][0]["request_id"] == ok_id
    assert admin.ok(admin.get("/requests", model="local/chat"))["data"][0]["request_id"] == ok_id
    assert admin.ok(admin.get("/requests", account_id="acct_nope"))["data"] == []
    assert admin.ok(admin.get("/requests", until="2000-01-01T00:00:00Z"))["data"] == []
    assert len(admin.ok(admin.get("/requests", since="2000-01-01"))["data"]) >= 2

    record = admin.ok(admin.get(f"/requests/{ok_id}"))
    assert record["status"] == 200 and record["cost_usd"] != "0.00"
    assert record["charged_usd"] == record["cost_usd"]
    (attempt,) = record["deployments"]
    assert attempt["outcome"] == "answered" and attempt["provider"] == "local"
    assert_envelope(admin.get("/requests/req_nope"), "openai", "not_found")
    for name, value in [("status", "abc"), ("since", "yesterday"), ("cursor", "zz")]:
        refused = admin.get("/requests", **{name: value})
        assert (
            assert_envelope(refused, "openai", "invalid_parameter_value")["error"]["param"] == name
        )


def test_payments_are_listed_and_shown(admin: AdminClient, live: Live) -> None:
    """A dev-rail quote appears as a pending payment, with its offer; the status filter
    narrows the list; the payer's request is not shown."""
    quoted = httpx.post(live.url + "/api/v1/chat/completions", json=BODY | {"model": "local/chat"})
    assert quoted.status_code == 402, quoted.text
    payment_id = quoted.json()["payment"]["paymentId"]

    listed = admin.ok(admin.get("/payments"))["data"]
    assert [p["id"] for p in listed] == [payment_id] and listed[0]["status"] == "pending"
    assert admin.ok(admin.get("/payments", status="completed"))["data"] == []
    shown = admin.ok(admin.get(f"/payments/{payment_id}"))
    assert [o["rail"] for o in shown["offers"]] == ["dev"] and shown["receipts"] == []
    assert "headers" not in shown and "body" not in shown
    assert_envelope(admin.get("/payments/pay_nope"), "openai", "not_found")
    assert admin.get("/payments", status="lost").status_code == 400


def test_stats_count_requests_errors_spend_and_latency(admin: AdminClient, live: Live) -> None:
    """The last hour's buckets hold the requests just made: the count, the error by
    code, the spend and latency percentiles; 24h and 7d have their bucket counts."""
    ids = [
        httpx.post(
            live.url + "/api/v1/chat/completions", json=body, headers=live.auth(), timeout=10
        ).headers["x-request-id"]
        for body in (CHAT, CHAT, {**CHAT, "model": "no/such"})
    ]

    def counted() -> dict[str, Any] | None:
        figures: dict[str, Any] = admin.ok(admin.get("/stats", window="1h"))
        return figures if sum(b["requests"] for b in figures["buckets"]) >= len(ids) else None

    figures = wait_until(counted, "the requests in the figures")
    assert len(figures["buckets"]) == 60 and figures["bucket_seconds"] == 60
    errors: dict[str, int] = {}
    for bucket in figures["buckets"]:
        for code, n in bucket["errors"].items():
            errors[code] = errors.get(code, 0) + n
    assert errors == {"model_not_found": 1}
    busy = [b for b in figures["buckets"] if b["requests"]]
    assert all(b["p50_ms"] is not None and b["p99_ms"] >= b["p50_ms"] for b in busy)
    assert any(b["spend_usd"] != "0.00" for b in busy)
    assert len(admin.ok(admin.get("/stats", window="24h"))["buckets"]) == 96
    assert len(admin.ok(admin.get("/stats", window="7d"))["buckets"]) == 168
    assert len(admin.ok(admin.get("/stats"))["buckets"]) == 96
    refused = admin.get("/stats", window="1y")
    assert (
        assert_envelope(refused, "openai", "invalid_parameter_value")["error"]["param"] == "window"
    )


def test_deployments_show_breaker_state_and_latency(admin: AdminClient, live: Live) -> None:
    """Every deployment of the catalogue, its breaker closed and, once it has answered,
    its recent latency."""
    httpx.post(live.url + "/api/v1/chat/completions", json=CHAT, headers=live.auth(), timeout=10)
    shown = admin.ok(admin.get("/deployments"))
    by_name = {d["name"]: d for d in shown["data"]}
    chat = by_name["local/local/chat"]
    assert chat["breaker"] == "closed" and chat["model"] == "local/chat"
    assert chat["latency_ms"] is not None and chat["latency_ms"] >= 0
    assert by_name["local/local/mini"]["latency_ms"] is None
    live.app.state.breakers.failed("local/local/mini")
    for _ in range(10):
        live.app.state.breakers.failed("local/local/mini")
    mini = {d["name"]: d for d in admin.ok(admin.get("/deployments"))["data"]}["local/local/mini"]
    assert mini["breaker"] == "open" and mini["retry_in_s"] > 0


def test_the_openapi_document_lists_every_admin_route(live: Live) -> None:
    """Each route under /api/admin/v1 is documented, tagged admin, secured by the admin
    token."""
    document = httpx.get(live.url + "/api/v1/openapi.json").json()
    admin_paths = {p: ops for p, ops in document["paths"].items() if p.startswith(ADMIN)}
    documented = {(m.upper(), p[len(ADMIN) :]) for p, ops in admin_paths.items() for m in ops}
    assert documented == {
        ("GET", "/accounts"),
        ("POST", "/accounts"),
        ("GET", "/accounts/{account_id}"),
        ("POST", "/accounts/{account_id}/topup"),
        ("GET", "/accounts/{account_id}/ledger"),
        ("GET", "/keys"),
        ("POST", "/keys"),
        ("POST", "/keys/{key_id}/revoke"),
        ("GET", "/requests"),
        ("GET", "/requests/{request_id}"),
        ("GET", "/payments"),
        ("GET", "/payments/{payment_id}"),
        ("GET", "/stats"),
        ("GET", "/deployments"),
        ("GET", "/audit"),
    }
    for ops in admin_paths.values():
        for op in ops.values():
            assert op["tags"] == ["admin"] and op["security"] == [{"adminToken": []}]
            assert "401" in op["responses"]
