"""The terminal: every command prints through these two consoles.

Text that comes from people (names, model ids, notes, error messages, request records,
a server's answers) is printed exactly as it is. Both consoles have Rich markup and
emoji codes off, so ``[blue]`` or ``[/]`` in a name stays literally in the output and
cannot crash the command; styles come from ``Text`` objects instead. ``plain`` also
shows control characters as escapes (``\\x1b``), so stored text cannot drive the
operator's terminal.

Neither console wraps what it prints (``soft_wrap``): a long message stays one line in a
pipe or a log, and a terminal wraps it for display. Tables still fit the terminal.

This module needs only Rich: ``nanogate chat`` uses it without the gateway installed.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

out = Console(markup=False, emoji=False, soft_wrap=True)
"""Results: tables, and the one JSON object of ``--json``."""

err = Console(stderr=True, markup=False, emoji=False, soft_wrap=True)
"""Errors, notices and prompts."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escaped(text: str) -> str:
    """``text`` with control characters other than newline and tab written as escapes
    (``\\x1b``): what a terminal shows without obeying."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def plain(value: object, style: str = "") -> Text:
    """``value`` as text to print as it is (``None`` is empty): no markup, and control
    characters other than newline and tab written as escapes."""
    return Text(escaped("" if value is None else str(value)), style=style)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line from pieces: a ``str`` is printed as it is, a ``(text, style)`` styled."""
    line = Text()
    for part in parts:
        piece, style = (part, "") if isinstance(part, str) else part
        line.append_text(plain(piece, style))
    return line


__all__ = ["err", "escaped", "out", "plain", "styled"]
