"""A gateway killed with SIGKILL leaks no lease and loses no settled charge: the next
start gives every lease back."""

from __future__ import annotations

import signal
import sqlite3
from decimal import Decimal
from pathlib import Path

import httpx
from tests.helpers import SURFACE_PATHS
from tests.live.test_money_engine import funded_key, gateway, hold_streams, nanogate, write_config


def holds(database: Path) -> tuple[int, int]:
    """(open leases and holds, reserved nano-dollars) straight from the database."""
    with sqlite3.connect(database) as db:
        count = db.execute("select count(*) from reservations").fetchone()[0]
        count += db.execute("select count(*) from leases where amount > 0").fetchone()[0]
        reserved = db.execute("select coalesce(sum(reserved_nusd), 0) from accounts").fetchone()[0]
    return count, reserved


def test_sigkill_leaks_no_hold(tmp_path: Path) -> None:
    """Streams in flight hold money from the gateway's lease when it is killed with
    SIGKILL, after three requests were answered; after a restart every lease is given
    back, the three answered requests stay charged, nothing was charged for the killed
    streams, and the ledger recomputes to the stored balance."""
    database = tmp_path / "gate.db"
    config = write_config(tmp_path, f"sqlite:///{database}")
    account_id, key = funded_key(config, 10**9)
    auth = {"authorization": f"Bearer {key}"}
    chat = {"model": "local/chat", "messages": [{"role": "user", "content": "hi"}]}
    answered = []
    with gateway(config) as (url, process):
        for _ in range(3):
            done = httpx.post(url + SURFACE_PATHS["openai"], json=chat, headers=auth, timeout=30)
            assert done.status_code == 200, done.text
            answered.append(Decimal(str(done.json()["x_nanogpt_pricing"]["cost"])))
        threads = hold_streams(url, key, 4)
        held_count, held_amount = holds(database)
        assert held_count == 1 and held_amount > 0  # one lease holds all four streams
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        for thread in threads:
            thread.join(10)
    assert holds(database) == (held_count, held_amount), "the kill left the lease in place"

    with gateway(config):
        assert holds(database) == (0, 0)
        audit = nanogate(config, "accounts", "audit", account_id)
        assert audit["consistent"] is True and audit["open_holds"] == 0
        charged = sum(answered, Decimal(0))
        assert charged > 0
        assert Decimal(str(audit["balance_usd"])) == Decimal(1) - charged, (
            "the answered requests stay charged; the killed streams are not"
        )
        with sqlite3.connect(database) as db:
            released = db.execute(
                "select count(*) from ledger where kind = 'recovery' and note like ?",
                ("released: the gateway%",),
            ).fetchone()[0]
        assert released == 1
