"""No module of the package or of the suite reads the clock when it is imported.

A time taken at import is stale by the time it is used: the suite once failed whenever it
reached a module more than five minutes after collecting it, because canned answers were
stamped at import and compared with a ``since`` taken when the test ran."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "src"
TESTS = ROOT / "tests"
NOT_IMPORTABLE = {
    "nanogate.__main__",  # runs the command line
    "nanogate.storage.migrations.env",  # run by Alembic, needs its context
}


def module_names(base: Path, package: Path) -> list[str]:
    """Every module in ``package``, named as imported from ``base``."""
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return [name for name in names if name not in NOT_IMPORTABLE]


def probe(origins: list[Path], modules: list[str], *paths: Path) -> dict[str, Any]:
    """Run the probe on ``modules`` in a fresh interpreter (``paths`` added to its path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (ROOT, *paths)))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.clock_probe",
            os.pathsep.join(map(str, origins)),
            *modules,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


def test_importing_the_package_and_the_suite_reads_no_clock() -> None:
    """Importing every module of ``nanogate`` and of ``tests`` (collection included:
    decorators, parametrize values, defaults, class bodies) calls no clock function."""
    modules = module_names(SOURCES, SOURCES / "nanogate") + module_names(ROOT, TESTS)
    result = probe([SOURCES / "nanogate", TESTS], modules)
    assert result["errors"] == []
    reads = sorted({f"{r['clock']} in {r['in']} via [{r['via']}]" for r in result["reads"]})
    assert reads == [], "a clock read at import:\n" + "\n".join(reads)


PLANTED = """
import time
from datetime import UTC, datetime

import pytest

STARTED = time.time()


def stamped(at: datetime = datetime.now(UTC)) -> datetime:
    return at


def log() -> dict[str, int]:
    return {"at": int(time.monotonic())}


class Canned:
    made = datetime.now(UTC)


@pytest.mark.parametrize("answer", [log()])
def test_planted(answer: dict[str, int]) -> None:
    assert time.time() > 0 and answer
"""


def test_the_probe_finds_every_kind_of_clock_read_at_import(tmp_path: Path) -> None:
    """The probe reports a clock read at module level, in a default argument, in a class
    body and through a function called by ``parametrize``; not one inside a test."""
    (tmp_path / "planted_clock.py").write_text(PLANTED)
    result = probe([tmp_path], ["planted_clock"], tmp_path)
    assert result["errors"] == []
    where = {(r["clock"], r["in"].rpartition("/")[2]) for r in result["reads"]}
    assert where == {
        ("<built-in method time.time>", "planted_clock.py:1(<module>)"),
        ("<built-in method now>", "planted_clock.py:1(<module>)"),
        ("<built-in method time.monotonic>", "planted_clock.py:14(log)"),
        ("<built-in method now>", "planted_clock.py:18(Canned)"),
    }
