"""What loads what: the command line's help needs none of the gateway, the database
stack, the HTTP server or the client, and a gateway without Redis never loads redis-py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

HEAVY = ("nanogate.server", "nanogate.storage", "sqlalchemy", "alembic", "uvicorn", "redis")
"""Modules a command loads only when it runs (and ``nanogate chat`` alone loads httpx)."""

PROBE = """
import sys
sys.argv = ["nanogate", *sys.argv[1:]]
from nanogate.cli import main
try:
    main()
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [("--help",), ("accounts", "--help"), ("keys", "create", "--help"), ("serve", "--help")],
    ids=" ".join,
)
def test_help_loads_nothing_heavy(args: tuple[str, ...]) -> None:
    """``nanogate --help`` and each command's ``--help`` print their help without
    importing the gateway, the store, SQLAlchemy, Alembic, uvicorn, Redis or httpx."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    assert "Usage" in done.stdout
    loaded = set(done.stderr.split())
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == [], heavy
    assert "httpx" not in loaded


APP = """
import sys
from nanogate.config import load_settings
from nanogate.server import create_app
create_app(load_settings(None, {}))
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def test_a_gateway_without_redis_never_imports_it() -> None:
    """Building the app with no ``[redis] url`` loads no module of redis-py."""
    done = subprocess.run([sys.executable, "-c", APP], capture_output=True, text=True, check=True)
    loaded = set(done.stderr.split())
    assert "nanogate.server._app" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] == "redis") == []


def test_a_gateway_loads_aiohttp_only_for_the_clients_that_use_it() -> None:
    """Building the app loads no module of aiohttp: the upstream client is the gateway's
    own, and moderation and the payment rails load aiohttp when first used."""
    done = subprocess.run([sys.executable, "-c", APP, ""], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stderr.split())
    assert "nanogate.server._app" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] == "aiohttp") == []


def test_account_commands_on_a_current_schema_load_no_sqlalchemy(tmp_path: Path) -> None:
    """Once the database's schema is current, ``nanogate accounts show``,
    ``nanogate requests show`` and ``nanogate payments show`` read on the fast driver
    alone: neither SQLAlchemy nor Alembic loads.
    (Creating the account on the new database migrated it first.)"""
    config = tmp_path / "nanogate.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "n.db"}"\n')
    created = subprocess.run(
        [sys.executable, "-m", "nanogate", "accounts", "create", "--balance", "2.5"]
        + ["--json", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    account = orjson.loads(created.stdout.strip().splitlines()[-1])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "accounts", "show", account["id"]]
        + ["--json", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shown = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert shown["id"] == account["id"] and shown["balance_usd"] == "2.50"
    loaded = set(done.stderr.split())
    assert sorted(m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic")) == []
    for group, missing in (
        ("requests", "request 'req_unknown'"),
        ("payments", "payment 'pay_unknown'"),
    ):
        looked_up = subprocess.run(
            [sys.executable, "-c", PROBE, group, "show", missing.split("'")[1]]
            + ["--config", str(config)],
            capture_output=True,
            text=True,
        )
        assert f"no {missing}" in looked_up.stderr
        loaded = set(looked_up.stderr.split())
        assert sorted(m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic")) == []
