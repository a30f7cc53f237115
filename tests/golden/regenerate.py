"""Write the golden error renderings from the current renderers.

Run ``.venv/bin/python tests/golden/regenerate.py`` after an intended change to an
error class or an envelope, then read the diff: the goldens are the contract, and
``tests/unit/test_render.py`` compares every catalogue class against them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nanogate.server  # noqa: F401  (the whole gateway loaded: the catalogue it answers with)
from nanogate.core import (
    chat_stream_error,
    error_headers,
    messages_stream_error,
    render_error,
    responses_stream_failed,
)
from nanogate.errors import GatewayError, catalogue

ERRORS_DIR = Path(__file__).resolve().parent / "errors"

CHUNK_ID = "chatcmpl_test"
SEQUENCE_NUMBER = 7


def streamed_response() -> dict[str, Any]:
    """The response object as streamed so far, before the failure."""
    return {"id": "resp_test", "object": "response", "status": "in_progress", "output": []}


def renderings(err: GatewayError) -> dict[str, Any]:
    """Every rendering of ``err``, as plain JSON data (header pairs become lists)."""
    return {
        "openai": render_error(err, "openai"),
        "anthropic": render_error(err, "anthropic"),
        "legacy": render_error(err, "legacy"),
        "headers": [list(pair) for pair in error_headers(err)],
        "chat_stream": chat_stream_error(err, CHUNK_ID),
        "messages_stream": messages_stream_error(err),
        "responses_stream": responses_stream_failed(err, streamed_response(), SEQUENCE_NUMBER),
    }


def golden_path(cls: type[GatewayError]) -> Path:
    return ERRORS_DIR / f"{cls.code}.json"


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    by_code: dict[str, type[GatewayError]] = {}
    for cls in catalogue():
        if cls.code in by_code:
            raise SystemExit(
                f"{cls.__name__} and {by_code[cls.code].__name__} both answer with "
                f"{cls.code!r}; the catalogue must have one class per code"
            )
        by_code[cls.code] = cls
    ERRORS_DIR.mkdir(parents=True, exist_ok=True)
    for cls in by_code.values():
        golden_path(cls).write_text(dump(renderings(cls())), encoding="utf-8")


if __name__ == "__main__":
    main()
