"""`pip install nanogate` gives a working client: it imports nothing beyond httpx."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_ONLY = [
    "pydantic",
    "orjson",
    "starlette",
    "aiohttp",
    "sqlalchemy",
    "anthropic",
    "openai",
    "uvicorn",
    "redis",
    "asyncpg",
    "jsonschema",
    "typer",
    "rich",
    "cryptography",
]

PROBE = """
import json, sys
import httpx
before = set(sys.modules)
import nanogate.client
added = sorted(set(sys.modules) - before)
print(json.dumps({"added": added, "stdlib": sorted(sys.stdlib_module_names)}))
"""


def imported_by_the_client() -> tuple[list[str], set[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    return result["added"], set(result["stdlib"])


def test_client_imports_no_server_dependency() -> None:
    """Importing nanogate.client loads none of the gateway's (or the SDKs') packages."""
    added, _ = imported_by_the_client()
    roots = {name.split(".")[0] for name in added}
    assert roots.isdisjoint(SERVER_ONLY)


def test_client_imports_only_the_stdlib_httpx_and_its_own_modules() -> None:
    """Beyond what httpx loads, the client adds only stdlib modules and pure nanogate
    modules (itself, the version, the sans-IO core and the error catalogue it renders)."""
    added, stdlib = imported_by_the_client()
    allowed_nanogate = (
        "nanogate",
        "nanogate._version",
        "nanogate.client",
        "nanogate.core",
        "nanogate.errors",
    )
    foreign = [
        name
        for name in added
        if name.split(".")[0] not in stdlib
        and not name.startswith("_")
        and not any(name == a or name.startswith(a + ".") for a in allowed_nanogate)
    ]
    assert foreign == []


CHAT_PROBE = """
import json, sys, runpy
sys.argv = ["nanogate", "chat", "--help"]
from nanogate.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"modules": sorted(sys.modules), "code": code}))
"""


def test_nanogate_chat_needs_only_the_cli_extras() -> None:
    """``nanogate chat`` runs without the gateway's packages: beyond the client, it loads
    only typer and rich (``pip install 'nanogate[cli]'``)."""
    done = subprocess.run(
        [sys.executable, "-c", CHAT_PROBE], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    roots = {name.split(".")[0] for name in result["modules"]}
    assert roots.isdisjoint(set(SERVER_ONLY) - {"typer", "rich"})
