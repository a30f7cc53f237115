"""The OpenAPI document matches behaviour: schemathesis (its command line, as a user
runs it) drives the gateway served on loopback with a funded key, with requests
generated from the document the gateway serves, and holds every answer to it.

Checks: no 5xx, every status, media type, header and body as documented,
schema-invalid requests refused, requests without credentials refused where the
document asks for them, undocumented methods refused with a true ``Allow``, and every
body the document calls valid accepted by the route's validator
(``tests/live/_schemathesis_hooks.py``). Schemathesis's ``positive_data_acceptance`` is
left out: the gateway answers some schema-valid requests with a 400 by design, from
checks no JSON Schema states (a model's type or context window, the configured BYOK
providers, ``from`` without ``to``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.helpers import make_settings, run_sync, seed

from nanogate.server import create_app
from nanogate.server.routes import all_routes
from nanogate.testing import ServedASGI

ROOT = Path(__file__).resolve().parents[2]

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
    "validator_accepts_valid_bodies",
)

CONFIG = """\
seed = 20260101
workers = 1
max-time = {max_time}

[generation]
max-examples = {max_examples}
deterministic = true
database = "none"

[phases.stateful]
enabled = false

[checks]
enabled = false
{checks}

[dictionaries.models]
values = {models}

[parameters]
"body.model" = {{ dictionary = "models", probability = 0.8 }}

[auth.openapi.bearer]
bearer = "${{NANOGATE_CONFORMANCE_KEY}}"

[auth.openapi.apiKey]
api_key = "${{NANOGATE_CONFORMANCE_KEY}}"
"""


@dataclass
class Served:
    url: str
    key: str
    models: list[str]
    """The catalogue's model ids, which generated requests name more often than not."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway on loopback, with a key on an account that can pay for anything."""
    settings = make_settings(tmp_path_factory.mktemp("conformance"))
    seeded = run_sync(seed(settings.database.url, "100000"))
    with ServedASGI(create_app(settings)) as server:
        yield Served(server.url, seeded.key, [m.id for m in settings.models])


def run_schemathesis(
    served: Served, workdir: Path, *, max_examples: int, max_time: int, phases: str
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` against ``served``'s own document, in ``workdir``."""
    config = workdir / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            max_examples=max_examples,
            max_time=max_time,
            checks="\n".join(f"{name}.enabled = true" for name in CHECKS),
            models=json.dumps(served.models),
        )
    )
    env = {
        **os.environ,
        "NANOGATE_CONFORMANCE_KEY": served.key,
        "SCHEMATHESIS_HOOKS": "tests.live._schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{served.url}/api/v1/openapi.json",
            "--no-color",
            "--phases",
            phases,
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=max_time + 120,
        check=False,
    )


def test_every_operation_answers_as_documented(served: Served, tmp_path: Path) -> None:
    """A bounded schemathesis run over every operation finds no server error and no
    answer the document does not describe."""
    result = run_schemathesis(served, tmp_path, max_examples=8, max_time=30, phases="fuzzing")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected and tested, result.stdout[-5000:]
    documented = [route for route in all_routes() if route.documented]
    assert int(tested[1]) == int(selected[1]) == int(selected[2]) >= len(documented) - 1


@pytest.mark.slow
def test_every_operation_answers_as_documented_at_length(served: Served, tmp_path: Path) -> None:
    """As the bounded run, with schemathesis's coverage phase first (boundary values and
    every kind of invalid input, for every operation) and a longer fuzzing budget."""
    result = run_schemathesis(
        served, tmp_path, max_examples=50, max_time=90, phases="coverage,fuzzing"
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
