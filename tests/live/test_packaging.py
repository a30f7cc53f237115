"""Packaging: ``python -m build`` makes a wheel and an sdist; the wheel installed without
extras is a working client (it needs httpx alone), and carries the console's assets
for the server install.

Everything runs offline: the build without isolation (the dev extras hold its
backend), the wheel installed with ``--no-deps``, and httpx's own dependencies copied
from this environment into an interpreter that sees nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import import_module
from pathlib import Path

import pytest
from tests.conftest import Live

ROOT = Path(__file__).resolve().parents[2]
HTTPX_STACK = (
    "httpx",
    "httpcore",
    "anyio",
    "certifi",
    "idna",
    "h11",
    "sniffio",
    "typing_extensions",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_the_build_makes_a_wheel_and_an_sdist(dist: Path) -> None:
    """One wheel and one sdist; the wheel's only unconditional dependency is httpx, and
    it holds the migrations, the embedded configuration and the console's assets."""
    (wheel,) = dist.glob("nanogate-*.whl")
    (sdist,) = dist.glob("nanogate-*.tar.gz")
    assert sdist.stat().st_size > 0
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert [r for r in requires if "extra ==" not in r] == ["httpx<1,>=0.27"]
    for name in (
        "nanogate/py.typed",
        "nanogate/config/default.toml",
        "nanogate/storage/migrations/versions/0009_admin.py",
        "nanogate/server/console/templates/base.html",
        "nanogate/server/console/static/vendor/uPlot.iife.min.js",
    ):
        assert name in names, name


def test_the_wheel_without_extras_is_a_working_client(
    dist: Path, live: Live, tmp_path: Path
) -> None:
    """Installed alone, with httpx's stack and nothing else on the path, the client
    talks to a gateway; the gateway itself needs the server extra."""
    (wheel,) = dist.glob("nanogate-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=120,
    )
    for name in HTTPX_STACK:
        module = import_module(name)
        source = Path(module.__file__ or "")
        if source.name == "__init__.py":
            shutil.copytree(source.parent, target / name, dirs_exist_ok=True)
        else:
            shutil.copy(source, target / source.name)
    script = f"""
import sys
sys.path[:0] = [{str(target)!r}]
from nanogate.client import Client
with Client(base_url={live.url + "/api/v1"!r}, api_key={live.key!r}) as client:
    reply = client.chat.completions.create(
        model="local/chat", messages=[{{"role": "user", "content": "hi"}}]
    )
print(reply["choices"][0]["message"]["role"])
try:
    import nanogate.server
except ImportError as exc:
    print("server needs", exc.name)
"""
    result = subprocess.run(
        [sys.executable, "-S", "-s", "-E", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "assistant"
    assert lines[1].startswith("server needs ")
