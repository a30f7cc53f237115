"""The ``nanogate`` command: serve the gateway and administer accounts and keys."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from nanogate.cli._app import app
    except ImportError as exc:  # the client-only install has no CLI dependencies
        sys.exit(
            f"nanogate: the command line needs extra packages ({exc.name} is missing); "
            "install them with: pip install 'nanogate[server]'"
        )
    app()


__all__ = ["main"]
