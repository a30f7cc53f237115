"""The ``nanogate`` command: serve the gateway and administer accounts and keys."""

from __future__ import annotations

import sys


def main() -> None:
    _refuse_undecodable(sys.argv[1:])
    if sys.argv[1:2] == ["chat"]:
        _chat()
        return
    try:
        from nanogate.cli._app import app
    except ImportError as exc:  # the client-only install has no CLI dependencies
        sys.exit(
            f"nanogate: the command line needs extra packages ({exc.name} is missing); "
            "install them with: pip install 'nanogate[server]'"
        )
    app()


def _refuse_undecodable(args: list[str]) -> None:
    """Arguments that are not UTF-8 (Python keeps their bytes as lone surrogates) would
    fail deep inside a command; refuse them first, as a usage error."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode()
        except UnicodeEncodeError:
            sys.stderr.write(f"nanogate: argument {position} is not valid UTF-8: {arg!r}\n")
            sys.exit(2)


def _chat() -> None:
    """``nanogate chat`` needs only the client and the CLI extras (``nanogate[cli]``),
    not the gateway's dependencies, so it is dispatched before the full command tree."""
    try:
        import typer

        from nanogate.cli._chat import chat
    except ImportError as exc:
        sys.exit(
            f"nanogate chat needs extra packages ({exc.name} is missing); "
            "install them with: pip install 'nanogate[cli]'"
        )
    command = typer.Typer(
        add_completion=False, rich_markup_mode=None, pretty_exceptions_show_locals=False
    )
    command.command()(chat)
    command(args=sys.argv[2:], prog_name="nanogate chat")


__all__ = ["main"]
