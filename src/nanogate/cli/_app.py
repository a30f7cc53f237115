"""The ``nanogate`` command tree."""

from __future__ import annotations

import typer

from nanogate._version import __version__
from nanogate.cli._admin import accounts, keys, requests
from nanogate.cli._chat import chat
from nanogate.cli._payments import payments
from nanogate.cli._serve import db, serve

app = typer.Typer(
    name="nanogate",
    help="nanogate: an LLM API gateway speaking NanoGPT's API.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """nanogate: an LLM API gateway speaking NanoGPT's API."""


app.command("serve")(serve)
app.command("chat")(chat)
app.add_typer(db, name="db")
app.add_typer(accounts, name="accounts")
app.add_typer(keys, name="keys")
app.add_typer(requests, name="requests")
app.add_typer(payments, name="payments")
