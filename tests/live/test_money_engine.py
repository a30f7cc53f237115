"""The money engine across processes: two workers of one gateway, three gateways on
PostgreSQL and Redis, and a gateway killed with leases out.

Every gateway here is a real ``nanogate serve`` process. Each request costs exactly
what it holds (a two-token answer of the local model), so a balance covers an exact
number of requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.helpers import SURFACE_PATHS, run_sync, wait_until
from tests.live.test_balances import CHAT, unit_cost
from tests.live.test_serve import free_port

from nanogate.config import load_settings

CONFIG = """
[server]
create_demo_account = false
key_refresh_s = 0.1
workers = {workers}

[database]
url = "{database}"
{redis}
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


def write_config(directory: Path, database: str, *, workers: int = 1, redis: str = "") -> Path:
    section = f'\n[redis]\nurl = "redis://127.0.0.1:6379/0"\nprefix = "{redis}"\n' if redis else ""
    config = directory / "nanogate.toml"
    config.write_text(CONFIG.format(workers=workers, database=database, redis=section))
    return config


def each(config: Path) -> int:
    """What one CHAT request costs and holds on ``config``'s model, in nano-dollars."""
    return unit_cost(load_settings(config))


def nanogate(config: Path, *args: str) -> dict[str, Any]:
    """One ``nanogate ... --json`` command; the object it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "nanogate", *args, "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def funded_key(config: Path, balance_nusd: int, *limits: str) -> tuple[str, str]:
    """A new account holding ``balance_nusd`` and a key on it: (account id, key)."""
    balance = str(Decimal(balance_nusd) / 10**9)
    account = nanogate(config, "accounts", "create", "--balance", balance)
    key = nanogate(config, "keys", "create", "--account", str(account["id"]), *limits)
    return str(account["id"]), str(key["key"])


@contextmanager
def gateway(config: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``nanogate serve`` on ``config`` until it is ready; stopped with SIGTERM after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOGATE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "nanogate", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url, process), "the gateway to start", timeout=60)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "the gateway exited during start-up"
    try:
        return httpx.get(url + "/readyz").status_code == 200
    except httpx.TransportError:
        return False


async def fire(urls: list[str], key: str, count: int) -> list[int]:
    """``count`` requests at once, spread over ``urls``, each on its own connection."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    urls[i % len(urls)] + SURFACE_PATHS["openai"],
                    json=CHAT,
                    headers={"authorization": f"Bearer {key}"},
                )
                for i in range(count)
            )
        )
    return [r.status_code for r in responses]


def books(config: Path, account_id: str) -> dict[str, Any]:
    """The account's audit, once its gateways have given their unused leases back."""

    def settled() -> dict[str, Any] | None:
        audit = nanogate(config, "accounts", "audit", account_id)
        return audit if audit["open_holds"] == 0 and audit["reserved_usd"] == "0.00" else None

    audit = wait_until(settled, "every lease to be given back")
    assert audit["consistent"] is True, audit
    return audit


def check_balance_and_daily_limit(config: Path, urls: list[str]) -> None:
    """200 requests at once on money for 37 serve at most 37, never overdraw, and the
    ledger adds up; 200 at once on a key allowed 25 a day serve exactly 25."""
    one = each(config)
    account_id, key = funded_key(config, 37 * one)
    statuses = run_sync(fire(urls, key, 200))
    served = statuses.count(200)
    assert 0 < served <= 37 and statuses.count(402) == 200 - served, statuses
    audit = books(config, account_id)
    assert Decimal(audit["balance_usd"]) == Decimal((37 - served) * one) / 10**9

    account_id, key = funded_key(config, 10**10, "--daily-requests", "25")
    statuses = run_sync(fire(urls, key, 200))
    assert statuses.count(200) == 25 and statuses.count(429) == 175, statuses
    audit = books(config, account_id)
    assert Decimal(audit["balance_usd"]) == Decimal(10**10 - 25 * one) / 10**9


def test_two_workers_share_a_balance_and_a_daily_limit(tmp_path: Path) -> None:
    """``--workers 2`` on SQLite: each worker leases from the same balance and daily
    allowance, and together they never exceed either."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}", workers=2)
    with gateway(config) as (url, _):
        check_balance_and_daily_limit(config, [url])


@pytest.mark.postgres
@pytest.mark.redis
def test_three_instances_on_postgres_and_redis_share_a_balance_and_a_daily_limit(
    tmp_path: Path, postgres_database: str
) -> None:
    """Three gateways on one PostgreSQL database and one Redis: requests spread over them
    never exceed the balance or the daily limit."""
    prefix = f"nanogate-test-{secrets.token_hex(4)}:"
    config = write_config(tmp_path, postgres_database, redis=prefix)
    with ExitStack() as stack:
        urls = [stack.enter_context(gateway(config))[0] for _ in range(3)]
        check_balance_and_daily_limit(config, urls)


def hold_streams(url: str, key: str, count: int) -> list[threading.Thread]:
    """``count`` streams started (first chunk read) and left running, on threads."""
    body = {
        "model": "local/chat",
        "stream": True,
        "messages": [{"role": "user", "content": "tell me a long story " * 5}],
    }
    started = threading.Barrier(count + 1)

    def hold() -> None:
        try:
            with httpx.stream(
                "POST",
                url + SURFACE_PATHS["openai"],
                json=body,
                headers={"authorization": f"Bearer {key}"},
                timeout=30,
            ) as response:
                chunks = response.iter_raw()
                next(chunks)
                started.wait(10)
                for _ in chunks:
                    pass
        except (httpx.TransportError, threading.BrokenBarrierError):
            pass

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    started.wait(10)
    return threads


@pytest.mark.postgres
def test_a_killed_instances_leases_are_recovered_by_a_survivor(
    tmp_path: Path, postgres_database: str
) -> None:
    """Two gateways on PostgreSQL; one answers three requests, then is killed with SIGKILL
    while four of its streams hold money. Within five seconds the survivor gives the dead
    instance's leases back; the three answers stay charged and the killed streams are
    not charged."""
    config = write_config(tmp_path, postgres_database)
    account_id, key = funded_key(config, 10**9)
    with gateway(config) as (survivor, _), gateway(config) as (doomed, process):
        with httpx.Client(base_url=doomed) as client:
            for _ in range(3):
                answer = client.post(
                    SURFACE_PATHS["openai"], json=CHAT, headers={"authorization": f"Bearer {key}"}
                )
                assert answer.status_code == 200
        threads = hold_streams(doomed, key, 4)
        assert nanogate(config, "accounts", "audit", account_id)["open_holds"] == 1
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed = time.monotonic()
        for thread in threads:
            thread.join(10)
        audit = books(config, account_id)
        assert time.monotonic() - killed < 5.0, "the survivor recovers within five seconds"
        assert Decimal(audit["balance_usd"]) == Decimal(10**9 - 3 * each(config)) / 10**9
        assert httpx.get(survivor + "/readyz").status_code == 200
