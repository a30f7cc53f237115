"""A gateway killed with SIGKILL leaks no lease and loses no settled charge: the next
start gives every lease back."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
from tests.live.test_serve import free_port

CONFIG = """
[server]
create_demo_account = false
key_refresh_s = 0.1

[database]
url = "sqlite:///gate.db"

[[providers]]
name = "local"
kind = "local"
stream_delay_ms = 200

[[models]]
id = "local/chat"
provider = "local"
input_usd_per_mtok = "0.10"
output_usd_per_mtok = "0.40"
context_window = 32768
max_output_tokens = 4096
capabilities = ["streaming"]
"""


def nanogate(config: Path, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "nanogate", *args, "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOGATE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "nanogate", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the gateway did not start")


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
    config = tmp_path / "nanogate.toml"
    config.write_text(CONFIG)
    account = nanogate(config, "accounts", "create", "--balance", "1")
    key = nanogate(config, "keys", "create", "--account", str(account["id"]))["key"]
    port = free_port()
    process = start(config, port)
    url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
    body = {
        "model": "local/chat",
        "stream": True,
        "messages": [{"role": "user", "content": "tell me a long story " * 5}],
    }
    answered = []
    for _ in range(3):
        done = httpx.post(
            url,
            json={**body, "stream": False, "max_tokens": 5},
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert done.status_code == 200, done.text
        answered.append(Decimal(str(done.json()["x_nanogpt_pricing"]["cost"])))
    started = threading.Barrier(5)

    def hold_a_stream() -> None:
        try:
            with httpx.stream(
                "POST", url, json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
            ) as response:
                chunks = response.iter_raw()
                next(chunks)
                started.wait(10)
                for _ in chunks:
                    pass
        except (httpx.TransportError, threading.BrokenBarrierError):
            pass

    threads = [threading.Thread(target=hold_a_stream) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait(10)
    database = tmp_path / "gate.db"
    held_count, held_amount = holds(database)
    assert held_count == 1 and held_amount > 0  # one lease holds all four streams
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    for thread in threads:
        thread.join(10)
    assert holds(database) == (held_count, held_amount), "the kill left the holds in place"

    restarted = start(config, port)
    try:
        assert holds(database) == (0, 0)
        audit = nanogate(config, "accounts", "audit", str(account["id"]))
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
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(20)
