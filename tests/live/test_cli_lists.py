"""The listing commands: ``accounts list``, ``keys list`` and ``requests list``, newest
first, filtered, one JSON object with ``--json``, continued by a cursor."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import LiveFactory
from tests.helpers import run_sync
from tests.live.test_cli import cli

from nanogate.storage import RequestRecord, SQLStore


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nanogate.toml"
    path.write_text('[database]\nurl = "sqlite:///lists.db"\n')
    return path


def everything(config: Path, *args: str) -> list[dict[str, Any]]:
    """Every row of a listing, page by page (2 rows a page), following next_cursor."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        more = ("--cursor", cursor) if cursor else ()
        page = cli(config, *args, "--limit", "2", *more, "--json")
        assert set(page) == {"data", "next_cursor"} and len(page["data"]) <= 2
        rows += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def test_accounts_list_pages_newest_first_and_searches(config: Path) -> None:
    """Five accounts come back newest first over three pages, each once; ``--q`` finds
    them by part of a name in any case (``%`` matches itself) or by id."""
    made = [
        cli(config, "accounts", "create", "--name", name, "--json")
        for name in ("alpha", "Beta team", "gamma", "beta-2", "100%")
    ]
    rows = everything(config, "accounts", "list")
    assert [r["id"] for r in rows] == [m["id"] for m in reversed(made)]
    found = cli(config, "accounts", "list", "--q", "BETA", "--json")["data"]
    assert {r["name"] for r in found} == {"Beta team", "beta-2"}
    assert [r["name"] for r in cli(config, "accounts", "list", "--q", "%", "--json")["data"]] == [
        "100%"
    ]
    assert cli(config, "accounts", "list", "--q", made[2]["id"], "--json")["data"][0]["name"] == (
        "gamma"
    )


def test_keys_list_filters_by_account_and_never_shows_a_key(config: Path) -> None:
    """Keys are listed with their ids and prefixes, never the secret; ``--account``
    keeps one account's."""
    one = cli(config, "accounts", "create", "--json")["id"]
    two = cli(config, "accounts", "create", "--json")["id"]
    secrets = [
        cli(config, "keys", "create", "--account", a, "--json")["key"] for a in (one, one, two)
    ]
    rows = everything(config, "keys", "list")
    assert len(rows) == 3
    listed = cli(config, "keys", "list", "--account", one, "--json")["data"]
    assert {r["account_id"] for r in listed} == {one} and len(listed) == 2
    text = cli(config, "keys", "list", ok=False).output
    assert all(secret not in text and secret not in str(rows) for secret in secrets)


def test_requests_list_filters_and_pages(config: Path) -> None:
    """The request log newest first, by key, model, status, code and time; a cursor
    continues where its page ended; a cursor of nothing of ours is refused."""
    base = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    records = [
        RequestRecord(
            f"req_{n:04d}",
            base + timedelta(minutes=n),
            "openai",
            "POST",
            "/api/v1/chat/completions",
            status=200 if n % 2 else 404,
            key_id="key_a" if n < 3 else "key_b",
            model="local/chat" if n % 2 else "nope/x",
            code=None if n % 2 else "model_not_found",
            cost_nusd=1000 * n,
        )
        for n in range(5)
    ]

    async def write() -> None:
        store = SQLStore(f"sqlite:///{config.parent / 'lists.db'}")
        try:
            await store.upgrade()
            await store.insert_requests(records)
        finally:
            await store.close()

    run_sync(write())
    rows = everything(config, "requests", "list")
    assert [r["request_id"] for r in rows] == [f"req_{n:04d}" for n in (4, 3, 2, 1, 0)]
    by_key = cli(config, "requests", "list", "--key", "key_a", "--json")["data"]
    assert [r["request_id"] for r in by_key] == ["req_0002", "req_0001", "req_0000"]
    failed = cli(
        config, "requests", "list", "--code", "model_not_found", "--status", "404", "--json"
    )
    assert [r["request_id"] for r in failed["data"]] == ["req_0004", "req_0002", "req_0000"]
    recent = cli(config, "requests", "list", "--since", "2026-12-07T12:03:00Z", "--json")["data"]
    assert [r["request_id"] for r in recent] == ["req_0004", "req_0003"]
    assert (
        cli(config, "requests", "list", "--model", "local/chat", "--json")["data"][0]["cost_usd"]
        == "0.000003"
    )
    refused = cli(config, "requests", "list", "--cursor", "bogus", ok=False)
    assert refused.exit_code == 1 and "not a cursor" in refused.output


@pytest.mark.parametrize(
    "args",
    [
        ("accounts", "list"),
        ("accounts", "show", "acct_x"),
        ("accounts", "ledger", "acct_x"),
        ("accounts", "audit", "acct_x"),
        ("keys", "list"),
        ("requests", "list"),
        ("requests", "show", "req_x"),
        ("payments", "show", "pay_x"),
    ],
)
def test_read_only_commands_refuse_a_missing_database(config: Path, args: tuple[str, ...]) -> None:
    """A command that only reads, pointed at a SQLite file that does not exist, fails
    naming the path and how to create the database, and creates nothing."""
    result = cli(config, *args, ok=False)
    assert result.exit_code == 1
    database = config.parent / "lists.db"
    assert f"no database at {database.resolve()}" in " ".join(result.output.split())
    assert "nanogate db upgrade" in result.output
    assert not database.exists()


def test_requests_tail_follows_requests_as_they_are_written(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """``requests tail --json`` prints each new request once, as a JSON line, with its
    cost; a key filter keeps that key's; it runs until interrupted."""
    live = serve_gateway()
    config = tmp_path / "tail.toml"
    config.write_text(f'[database]\nurl = "{live.settings.database.url}"\n')
    follower = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nanogate"),
            "requests",
            "tail",
            "--key",
            live.seeded.key_id,
            "--interval",
            "0.05",
            "--json",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in follower.stdout or ()], daemon=True
    ).start()
    try:
        assert follower.stderr is not None
        assert follower.stderr.readline().startswith("following the request log from ")
        body = {"model": "local/chat", "messages": [{"role": "user", "content": "hi"}]}
        sent = []
        for _ in range(3):
            answered = httpx.post(
                live.url + "/api/v1/chat/completions", json=body, headers=live.auth(), timeout=10
            )
            sent.append(answered.headers["x-request-id"])
        httpx.post(live.url + "/api/v1/chat/completions", json=body, timeout=10)  # no key
        shown: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        while len(shown) < len(sent) and time.monotonic() < deadline:
            try:
                shown.append(orjson.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                assert follower.poll() is None, follower.stderr.read()
        assert [r["request_id"] for r in shown] == sent
        assert all(r["cost_usd"] != "0.00" and r["key_id"] == live.seeded.key_id for r in shown)
        time.sleep(0.3)  # a few more polls: nothing is printed twice
        assert lines.empty()
    finally:
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10) == 0
        for pipe in (follower.stdout, follower.stderr):
            if pipe is not None:
                pipe.close()
