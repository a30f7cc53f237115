"""The operator command line: accounts, keys and the request log, as DESIGN section 7 says.

Commands run in process through typer's runner against a SQLite file; the
propagation tests run them against the database of a gateway served on loopback.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import LiveFactory
from tests.helpers import SURFACE_PATHS, make_settings
from typer.testing import CliRunner

from nanogate.cli._app import app

runner = CliRunner()


def cli(config: Path, *args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, [*args, "--config", str(config)])
    if ok:
        assert result.exit_code == 0, result.output
        if "--json" in args:
            return orjson.loads(result.stdout)
    return result


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nanogate.toml"
    path.write_text('[database]\nurl = "sqlite:///admin.db"\n')
    return path


def test_accounts_create_show_and_topup(config: Path) -> None:
    """An account is created with an exact balance, shown, and topped up exactly."""
    created = cli(config, "accounts", "create", "--balance", "12.5", "--json")
    assert created["id"].startswith("acct_") and created["balance_usd"] == "12.50"
    shown = cli(config, "accounts", "show", created["id"], "--json")
    assert shown["balance_usd"] == "12.50"
    topped = cli(config, "accounts", "topup", created["id"], "0.000000001", "--json")
    assert topped["balance_usd"] == "12.500000001"


def test_json_output_is_exactly_one_object(config: Path) -> None:
    """With --json, stdout holds one JSON object and nothing else."""
    result = cli(config, "accounts", "create", "--json", ok=False)
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and isinstance(orjson.loads(lines[0]), dict)


def test_relative_sqlite_path_is_next_to_the_config_file(config: Path) -> None:
    """``sqlite:///admin.db`` in a config file means a file beside that config file."""
    cli(config, "accounts", "create", "--json")
    assert (config.parent / "admin.db").exists()


def test_keys_create_with_every_option_and_store_only_a_hash(config: Path) -> None:
    """A key is sk-nano-<uuid4>, carries its limits and allowlist, and the database holds
    only its hash."""
    account = cli(config, "accounts", "create", "--json")
    created = cli(
        config,
        "keys",
        "create",
        "--account",
        account["id"],
        "--name",
        "ci",
        "--models",
        "local/chat, local/mini",
        "--daily-requests",
        "10",
        "--daily-usd",
        "1.25",
        "--rps",
        "3",
        "--expires",
        "2030-01-01T00:00:00Z",
        "--json",
    )
    key = created["key"]
    assert key.startswith("sk-nano-") and uuid.UUID(key.removeprefix("sk-nano-")).version == 4
    assert created["id"].startswith("key_")
    assert created["models"] == ["local/chat", "local/mini"]
    assert (created["daily_requests"], created["daily_usd"], created["rps"]) == (10, "1.25", 3)
    assert created["expires_at"] == "2030-01-01T00:00:00Z"
    database = sqlite3.connect(config.parent / "admin.db")
    dump = "\n".join(database.iterdump())
    database.close()
    assert key not in dump
    assert key.removeprefix("sk-nano-") not in dump


def test_refusals_exit_non_zero_with_a_message(config: Path) -> None:
    """Unknown ids are refused with exit code 1 and a reason."""
    cli(config, "db", "upgrade")
    cases = [
        (("accounts", "show", "acct_missing"), "no account"),
        (("accounts", "topup", "acct_missing", "1"), "no account"),
        (("keys", "create", "--account", "acct_missing"), "no account"),
        (("keys", "revoke", "key_missing"), "no key"),
        (("requests", "show", "req_missing"), "no request"),
    ]
    for args, reason in cases:
        result = cli(config, *args, ok=False)
        assert result.exit_code == 1, args
        assert reason in result.output, (args, result.output)


def test_a_key_created_or_revoked_takes_effect_within_a_second(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A key made by the CLI works on the running gateway within one second, and stops
    working within one second of its revocation; no restart involved."""
    settings = make_settings(tmp_path, key_refresh_s=0.25)
    live = serve_gateway(settings)
    config = tmp_path / "admin.toml"
    config.write_text(f'[database]\nurl = "{settings.database.url}"\n')
    created = cli(config, "keys", "create", "--account", live.seeded.account_id, "--json")

    def status() -> int:
        with httpx.Client(base_url=live.url) as client:
            return client.post(
                SURFACE_PATHS["openai"],
                json={"model": "local/chat", "messages": [{"role": "user", "content": "x"}]},
                headers={"authorization": f"Bearer {created['key']}"},
            ).status_code

    def within_a_second(expected: int) -> float:
        start = time.monotonic()
        while status() != expected:
            assert time.monotonic() - start < 1.0, f"still not {expected} after a second"
            time.sleep(0.02)
        return time.monotonic() - start

    within_a_second(200)
    cli(config, "keys", "revoke", created["id"], "--json")
    within_a_second(401)


def test_requests_show_prints_the_full_record(serve_gateway: LiveFactory, tmp_path: Path) -> None:
    """After a request, `requests show` prints its record: key, model, status, tokens, timings."""
    settings = make_settings(tmp_path)
    live = serve_gateway(settings)
    with httpx.Client(base_url=live.url) as client:
        response = client.post(
            SURFACE_PATHS["openai"],
            json={"model": "local/chat", "messages": [{"role": "user", "content": "log me"}]},
            headers=live.auth(),
        )
    request_id = response.headers["x-request-id"]
    config = tmp_path / "admin.toml"
    config.write_text(f'[database]\nurl = "{settings.database.url}"\n')
    deadline = time.monotonic() + 5
    while True:
        result = cli(config, "requests", "show", request_id, "--json", ok=False)
        if result.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    record = orjson.loads(result.stdout)
    assert record["request_id"] == request_id
    assert record["key_id"] == live.seeded.key_id
    assert (record["model"], record["status"], record["surface"]) == ("local/chat", 200, "openai")
    assert (
        record["input_tokens"] > 0 and record["output_tokens"] == 5
    )  # "You", " said", ":", " log", " me"
    assert record["duration_ms"] > 0


def test_an_unreachable_database_is_a_clean_failure(tmp_path: Path) -> None:
    """`db upgrade` (and every command) against a database that does not answer exits 1
    with the reason, without a traceback or the URL's password."""
    config = tmp_path / "down.toml"
    config.write_text('[database]\nurl = "postgresql://gate:s3cret@127.0.0.1:9/nanogate"\n')
    result = cli(config, "db", "upgrade", ok=False)
    assert result.exit_code == 1
    assert "cannot use the database" in result.output
    assert "Traceback" not in result.output and "s3cret" not in result.output


def test_accounts_ledger_and_audit(config: Path) -> None:
    """`accounts ledger` lists money movements oldest first; `accounts audit` recomputes the
    balance from them and says whether it matches."""
    account = cli(config, "accounts", "create", "--balance", "2", "--json")
    cli(config, "accounts", "topup", account["id"], "0.5", "--json")
    ledger = cli(config, "accounts", "ledger", account["id"], "--json")
    assert [(e["kind"], e["amount_usd"]) for e in ledger["entries"]] == [
        ("topup", "2.00"),
        ("topup", "0.50"),
    ]
    audit = cli(config, "accounts", "audit", account["id"], "--json")
    assert audit["consistent"] is True and audit["ledger_balance_usd"] == "2.50"
    assert cli(config, "accounts", "show", account["id"], "--json")["reserved_usd"] == "0.00"
