"""docs/errors.md is generated from the catalogue and never drifts from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_errors_doc_is_current() -> None:
    """Regenerating docs/errors.md from the error classes and renderers changes nothing;
    every catalogue code has its section with an example body per surface."""
    spec = importlib.util.spec_from_file_location("errors_doc", ROOT / "scripts" / "errors_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "errors.md").read_text() == module.render(), (
        "run: .venv/bin/python scripts/errors_doc.py"
    )
