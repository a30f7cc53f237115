"""The "gateway" target: a configuration, an account and a key, and the command to serve.

The configuration puts one OpenAI-kind provider in front of the fake upstream and
one model, ``bench/chat``, on it; its :class:`Mode` says which database, whether
Redis, and how many workers. The account and key are made with the ``nanogate``
command line before the gateway starts, as an operator would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

MODEL = "bench/chat"

CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}
workers = {workers}
create_demo_account = false

[database]
url = "{database_url}"
{redis}
[[providers]]
name = "fake"
kind = "openai"
base_url = "http://127.0.0.1:{upstream_port}/v1"

[[models]]
id = "{model}"
provider = "fake"
upstream_model = "fake-chat"
name = "Benchmark chat"
input_usd_per_mtok = "0.10"
output_usd_per_mtok = "0.40"
context_window = 128000
max_output_tokens = 4096
capabilities = ["streaming"]
"""

REDIS = """
[redis]
url = "{url}"
prefix = "{prefix}"
"""


@dataclass(frozen=True, slots=True)
class Mode:
    """How the gateway is backed and run."""

    database_url: str | None = None
    """``None``: a fresh SQLite file in the run's directory."""
    redis_url: str | None = None
    """``None``: no ``[redis]`` section."""
    redis_prefix: str = "nanogate-bench:"
    workers: int = 1
    limits: bool = True
    """Whether the key has every limit (:data:`KEY_LIMITS`), or none."""


def config_text(port: int, upstream_port: int, mode: Mode, workdir: Path) -> str:
    """The gateway's configuration file for ``mode``."""
    database_url = mode.database_url or f"sqlite:///{workdir / 'bench.db'}"
    redis = ""
    if mode.redis_url is not None:
        redis = REDIS.format(url=mode.redis_url, prefix=mode.redis_prefix)
    return CONFIG.format(
        port=port,
        workers=mode.workers,
        database_url=database_url,
        redis=redis,
        upstream_port=upstream_port,
        model=MODEL,
    )


KEY_LIMITS = ("--daily-requests", "1000000000", "--daily-usd", "1000000", "--rps", "1000000")
"""The key is limited like a customer's, so every limit is counted on every request (per
second, per day, spending per day), though none is reached."""


@dataclass(frozen=True, slots=True)
class GatewaySetup:
    """Everything needed to start the gateway and call it."""

    config: Path
    port: int
    api_key: str
    account_id: str

    def serve_argv(self) -> list[str]:
        """``nanogate serve`` for this configuration and port."""
        return [nanogate_command(), "serve", "--config", str(self.config), "--port", str(self.port)]


def nanogate_command() -> str:
    """The ``nanogate`` script next to the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("nanogate")
    if beside.exists():
        return str(beside)
    found = shutil.which("nanogate")
    if found is None:
        raise RuntimeError("the nanogate command is not installed (pip install -e '.[server]')")
    return found


def _cli_json(argv: list[str]) -> dict[str, object]:
    """Run one ``nanogate ... --json`` command and parse the object it prints."""
    done = subprocess.run(
        [nanogate_command(), *argv], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"nanogate {' '.join(argv[:2])} failed:\n{done.stderr}{done.stdout}")
    data = orjson.loads(done.stdout.strip().splitlines()[-1])
    if not isinstance(data, dict):
        raise RuntimeError(f"nanogate {' '.join(argv[:2])} printed {done.stdout!r}")
    return data


def help_seconds(runs: int = 5) -> list[float]:
    """Wall time of ``nanogate --help``, ``runs`` times: the command line's start-up."""
    return command_seconds([nanogate_command(), "--help"], runs)


def read_seconds(setup: GatewaySetup, runs: int = 5) -> list[float]:
    """Wall time of a read-only command, ``nanogate accounts show``, ``runs`` times:
    what an operator waits for a look at an account."""
    argv = [nanogate_command(), "accounts", "show", setup.account_id, "--config", str(setup.config)]
    return command_seconds(argv, runs)


def command_seconds(argv: list[str], runs: int) -> list[float]:
    """Wall time of the command ``argv``, ``runs`` times; it must succeed."""
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[1:]} failed:\n{done.stderr.decode(errors='replace')}")
    return times


def prepare(workdir: Path, port: int, upstream_port: int, mode: Mode | None = None) -> GatewaySetup:
    """Write the configuration into ``workdir`` and create an account and a key."""
    mode = mode or Mode()
    config = workdir / "nanogate.toml"
    config.write_text(config_text(port, upstream_port, mode, workdir))
    account = _cli_json(
        ["accounts", "create", "--balance", "1000", "--name", "bench", "--json"]
        + ["--config", str(config)]
    )
    key = _cli_json(
        ["keys", "create", "--account", str(account["id"]), "--name", "bench", "--json"]
        + ["--config", str(config), *(KEY_LIMITS if mode.limits else ())]
    )
    return GatewaySetup(config, port, str(key["key"]), str(account["id"]))
