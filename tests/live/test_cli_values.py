"""What the operator command line's options take: a value an option cannot take is a
usage error (exit status 2, the option named on stderr) and changes nothing.

Commands run in process through typer's runner against a SQLite file, as in
``test_cli.py``; the check of arguments that are not UTF-8 runs the real process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from nanogate.cli._app import app
from nanogate.storage import SQLStore

runner = CliRunner()

NOT_AMOUNTS = [
    ("NaN", "expected dollars"),
    ("nan", "expected dollars"),
    ("sNaN", "expected dollars"),
    ("Infinity", "expected dollars"),
    ("inf", "expected dollars"),
    ("1e30", "expected dollars"),
    ("1e2", "expected dollars"),
    ("", "expected dollars"),
    ("ten", "expected dollars"),
    ("+5", "expected dollars"),
    ("1_000", "expected dollars"),
    ("\u0665", "expected dollars"),  # an Arabic-Indic five: digits are ASCII only
    ("-1", "cannot be negative"),
    ("-0.5", "cannot be negative"),
    ("0.0000000001", "more than nine decimals"),
    ("1000000000.000000001", "more than the maximum"),
    ("99999999999999999999999999999999999999", "more than the maximum"),
]


def cli(config: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(config)])


def ok(config: Path, *args: str) -> Any:
    result = cli(config, *args, "--json")
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def one_line(output: str) -> str:
    """The output with the error panel's frame and line breaks taken out."""
    return " ".join(output.replace("│", " ").split())


def assert_usage_error(result: Result, option: str, reason: str) -> None:
    assert result.exit_code == 2, (option, reason, result.output)
    text = one_line(result.stderr)
    assert f"Invalid value for '{option}'" in text and reason in text, result.stderr


def rows(config: Path, table: str) -> list[tuple[Any, ...]]:
    database = sqlite3.connect(config.parent / "admin.db")
    try:
        return database.execute(f"select * from {table}").fetchall()  # noqa: S608
    finally:
        database.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nanogate.toml"
    path.write_text('[database]\nurl = "sqlite:///admin.db"\n')
    return path


@pytest.fixture
def account(config: Path) -> str:
    return str(ok(config, "accounts", "create", "--balance", "2")["id"])


def test_topup_refuses_what_is_not_an_amount(config: Path, account: str) -> None:
    """`accounts topup` refuses NaN, infinities, exponents, negatives, zero, more than nine
    decimals and more than the maximum: exit 2 naming the amount; balance and ledger
    unchanged."""
    before = rows(config, "accounts"), rows(config, "ledger")
    for value, reason in [*NOT_AMOUNTS, ("0", "must be more than 0")]:
        result = cli(config, "accounts", "topup", account, value)
        assert_usage_error(result, "USD", reason)
    assert (rows(config, "accounts"), rows(config, "ledger")) == before
    assert ok(config, "accounts", "show", account)["balance_usd"] == "2.00"


def test_daily_usd_refuses_what_is_not_an_amount(config: Path, account: str) -> None:
    """`keys create --daily-usd` refuses what is not an amount: exit 2 naming the option,
    and no key is created."""
    for value, reason in NOT_AMOUNTS:
        result = cli(config, "keys", "create", "--account", account, "--daily-usd", value)
        assert_usage_error(result, "--daily-usd", reason)
    assert rows(config, "api_keys") == []


def test_balance_refuses_what_is_not_an_amount(config: Path, account: str) -> None:
    """`accounts create --balance` refuses what is not an amount: exit 2 naming the option,
    and no account is created."""
    before = rows(config, "accounts")
    for value, reason in NOT_AMOUNTS:
        result = cli(config, "accounts", "create", "--balance", value)
        assert_usage_error(result, "--balance", reason)
    assert rows(config, "accounts") == before


def test_plain_decimals_up_to_the_maximum_are_taken(config: Path, account: str) -> None:
    """Whole numbers, decimals with a leading or trailing point, trailing zeros beyond the
    ninth decimal, zero where it makes sense, and the maximum itself are amounts."""
    assert ok(config, "accounts", "create")["balance_usd"] == "0.00"
    assert ok(config, "accounts", "create", "--balance", "0")["balance_usd"] == "0.00"
    assert ok(config, "accounts", "create", "--balance", " 7. ")["balance_usd"] == "7.00"
    assert ok(config, "accounts", "topup", account, ".5")["balance_usd"] == "2.50"
    assert ok(config, "accounts", "topup", account, "0.5000000000000")["balance_usd"] == "3.00"
    topped = ok(config, "accounts", "topup", account, "1000000000")
    assert topped["balance_usd"] == "1000000003.00"
    key = ok(config, "keys", "create", "--account", account, "--daily-usd", "0")
    assert key["daily_usd"] == "0.00"


@pytest.mark.parametrize(
    ("args", "option", "reason"),
    [
        (("--daily-requests", "2147483648"), "--daily-requests", "less than or equal to"),
        (("--rps", "99999999999999999999999"), "--rps", "less than or equal to"),
        (("--expires", "soon"), "--expires", "expected ISO 8601"),
        (("--expires", "9999-12-31T23:59:59-05:00"), "--expires", "out of range in UTC"),
        (("--expires", "0001-01-01T00:00:00+05:00"), "--expires", "out of range in UTC"),
    ],
)
def test_keys_create_refuses_bad_counts_and_dates(
    config: Path, account: str, args: tuple[str, ...], option: str, reason: str
) -> None:
    """Counts beyond what the database holds and dates that are not ISO 8601 or have no
    UTC equivalent are usage errors, and no key is created."""
    result = cli(config, "keys", "create", "--account", account, *args)
    assert_usage_error(result, option, reason)
    assert rows(config, "api_keys") == []


def test_ledger_refuses_a_limit_beyond_what_the_database_takes(config: Path, account: str) -> None:
    """`accounts ledger --limit` beyond a 32-bit count is a usage error, not a traceback."""
    result = cli(config, "accounts", "ledger", account, "--limit", str(2**70))
    assert_usage_error(result, "--limit", "less than or equal to")


def test_an_expiry_with_an_offset_is_stored_as_that_moment(config: Path, account: str) -> None:
    """`--expires 2030-01-01T00:00:00+05:00` is stored as 2029-12-31T19:00Z, the same moment,
    and read back so by the gateway's store (SQLite keeps no offset)."""
    created = ok(
        config, "keys", "create", "--account", account, "--expires", "2030-01-01T00:00:00+05:00"
    )
    assert created["expires_at"] == "2029-12-31T19:00:00Z"

    async def stored() -> datetime | None:
        store = SQLStore(f"sqlite:///{config.parent / 'admin.db'}")
        try:
            key = await store.get_key(created["id"])
        finally:
            await store.close()
        assert key is not None
        return key.expires_at

    assert asyncio.run(stored()) == datetime(2029, 12, 31, 19, tzinfo=UTC)


def test_an_argument_that_is_not_utf8_is_a_usage_error(config: Path) -> None:
    """A command-line argument whose bytes are not UTF-8 is refused with exit 2 before any
    command runs, instead of a traceback from the database driver."""
    result = subprocess.run(
        [sys.executable, "-m", "nanogate", "accounts", "create", "--name", b"bad\xffname"]
        + ["--config", str(config)],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert b"argument 4 is not valid UTF-8" in result.stderr
    assert b"Traceback" not in result.stderr
    assert not (config.parent / "admin.db").exists()
