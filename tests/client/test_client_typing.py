"""The public API type-checks under mypy --strict as users will write against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_public_api_passes_mypy_strict() -> None:
    """typing_check.py, written against nanogate.client, passes mypy --strict."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "/dev/null",
            str(HERE / "typing_check.py"),
        ],
        capture_output=True,
        text=True,
        cwd=HERE.parent.parent,
        env=None,
    )
    assert result.returncode == 0, result.stdout + result.stderr
