"""``nanogate chat``: a streaming chat with any NanoGPT-compatible endpoint.

With a prompt, one streamed answer and exit (status 1 if it fails); without, a
conversation at a prompt until ``/exit`` or Ctrl-D. Failures show the message, the
code and the request id to quote to the operator.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.prompt import Prompt
from rich.text import Text

from nanogate.cli._console import err, escaped, styled

if TYPE_CHECKING:
    from nanogate.client import APIError, Client

# Prompts, notices and errors go to ``err``; answers alone go to stdout, as they arrive.

DEFAULT_BASE_URL = "http://127.0.0.1:8080/api/v1"
"""A gateway on this machine with its default port (``nanogate serve``)."""
EXIT_WORDS = frozenset({"/exit", "/quit"})

Message = dict[str, Any]


@contextmanager
def client_logs_quiet() -> Iterator[None]:
    """Keep the client's own log lines (retries, failures) off the terminal: the command
    shows each failure itself."""
    logger = logging.getLogger("nanogate.client")
    quiet = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(quiet)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(quiet)
        logger.propagate = propagate


def show_error(error: APIError, base_url: str | None = None) -> None:
    """The failure, on stderr: what went wrong, its code and the request id, and for a
    server that did not answer, the URL tried."""
    from nanogate.client import StreamError

    if isinstance(error, StreamError):
        headline = "the answer failed mid-stream"
    elif error.status is None:
        headline = "no answer from the server"
    else:
        headline = f"HTTP {error.status}"
    err.print(styled(("error", "bold red"), f" ({headline}): ", error.message), highlight=False)
    details = [
        ("code", error.code),
        ("type", error.type),
        ("param", error.param),
        ("request id", error.request_id),
        ("retry after", None if error.retry_after is None else f"{error.retry_after:g} s"),
        ("needs", None if error.required_balance is None else f"${error.required_balance}"),
        ("url tried", base_url if error.status is None else None),
    ]
    for label, value in details:
        if value is not None:
            err.print(styled("  ", (f"{label:<11}", "bold"), " ", str(value)), highlight=False)


def stream_answer(client: Client, model: str, messages: list[Message], pieces: list[str]) -> None:
    """Stream one answer to stdout as it arrives, collecting its text in ``pieces``.
    Control characters in it are shown as escapes, so a server cannot drive the
    terminal (set its title, write the clipboard)."""
    with client.chat.completions.create(model=model, messages=messages, stream=True) as stream:
        for chunk in stream:
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces.append(text)
                    sys.stdout.write(escaped(text))
                    sys.stdout.flush()


def ask(client: Client, model: str, messages: list[Message]) -> str | None:
    """One turn: the streamed answer's text, or ``None`` after showing the failure."""
    from nanogate.client import APIError

    pieces: list[str] = []
    try:
        stream_answer(client, model, messages, pieces)
    except APIError as error:
        if pieces:
            sys.stdout.write("\n")
            sys.stdout.flush()
        show_error(error, client.base_url)
        return None
    sys.stdout.write("\n")
    sys.stdout.flush()
    return "".join(pieces)


def converse(client: Client, model: str, messages: list[Message]) -> None:
    """The interactive loop: each answer joins the conversation; a failed or interrupted
    turn does not."""
    err.print(
        styled("chatting with ", (model, "bold"), "; ", ("/exit", "bold"), " or Ctrl-D to leave"),
        highlight=False,
    )
    while True:
        try:
            line = Prompt.ask(Text("you", style="bold cyan"), console=err)
        except (EOFError, KeyboardInterrupt):
            err.print()
            return
        text = line.strip()
        if text in EXIT_WORDS:
            return
        if not text:
            continue
        turn = [*messages, {"role": "user", "content": text}]
        try:
            answer = ask(client, model, turn)
        except KeyboardInterrupt:  # Ctrl-C stops this answer, not the session
            sys.stdout.write("\n")
            err.print(Text("(answer interrupted; it does not join the conversation)", style="dim"))
            continue
        if answer is not None:
            messages[:] = [*turn, {"role": "assistant", "content": answer}]


def chat(
    model: Annotated[str, typer.Option("--model", "-m", help="The model to chat with.")],
    prompt: Annotated[
        str | None,
        typer.Argument(help="Ask this, print the streamed answer and exit. Omit to converse."),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            envvar="NANOGATE_BASE_URL",
            help="The endpoint's OpenAI base URL (nanogate: http://HOST:PORT/api/v1).",
        ),
    ] = DEFAULT_BASE_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar=["NANOGATE_API_KEY", "NANOGPT_API_KEY"],
            help="The API key (none: accountless, pay per request).",
            show_default=False,
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="A system prompt for the conversation.")
    ] = None,
    max_retries: Annotated[
        int,
        typer.Option(
            "--max-retries", min=0, help="Retries of a failed request before its first token."
        ),
    ] = 2,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, max=3600.0, help="Seconds to wait for the server."),
    ] = 60.0,
) -> None:
    """Chat with a model of any NanoGPT-compatible endpoint, streaming the answers."""
    from nanogate.client import Client

    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    with (
        client_logs_quiet(),
        Client(
            base_url=base_url, api_key=api_key, max_retries=max_retries, timeout=timeout
        ) as client,
    ):
        if prompt is None:
            converse(client, model, messages)
            return
        answer = ask(client, model, [*messages, {"role": "user", "content": prompt}])
    if answer is None:
        raise typer.Exit(1)


__all__ = ["chat", "show_error"]
