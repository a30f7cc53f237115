"""The LiteLLM proxy arm: the popular Python gateway, in front of the same fake upstream.

LiteLLM is never a dependency of this project. Install it into a throwaway
virtualenv and point the benchmark at its ``litellm`` command::

    python3 -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'
    scripts/bench --litellm /tmp/litellm/bin/litellm   # or NANOGATE_BENCH_LITELLM=...

It runs with one worker, a master key and no database, with
``LITELLM_LOCAL_MODEL_COST_MAP=True`` so that it reads its bundled cost map instead
of fetching one. Without it the arm is skipped, and the report says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench._procs import HOST, Processes, child_env, free_port, wait_for_http
from bench._targets import CHAT_PATH, Server

LITELLM = "litellm"
MASTER_KEY = "sk-bench-master"
MODEL = "bench/chat"

CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/fake-chat
      api_base: http://{host}:{upstream_port}/v1
      api_key: sk-fake-upstream
general_settings:
  master_key: {master_key}
litellm_settings:
  drop_params: true
  telemetry: false
"""


def litellm_command(given: str | None) -> str | None:
    """The ``litellm`` command to run: ``given``, else ``$NANOGATE_BENCH_LITELLM``."""
    command = given or os.environ.get("NANOGATE_BENCH_LITELLM")
    return command if command and Path(command).exists() else None


def start_litellm(procs: Processes, workdir: Path, upstream: Server, command: str) -> Server:
    """LiteLLM's proxy with one worker in front of ``upstream``, answering its health check."""
    port = free_port()
    config = workdir / "litellm.yaml"
    config.write_text(
        CONFIG.format(model=MODEL, host=HOST, upstream_port=upstream.port, master_key=MASTER_KEY)
    )
    env = {
        **child_env(),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
    }
    argv = [command, "--config", str(config), "--host", HOST, "--port", str(port)]
    child = procs.start(LITELLM, [*argv, "--num_workers", "1"], env)
    wait_for_http(child, port, "/health/liveliness", timeout=120)
    return Server(LITELLM, child, port, CHAT_PATH, MODEL, MASTER_KEY)
