"""The access log: one line per request, as text or JSON, never a secret.

A line holds what an operator follows requests by: the request id, the key id, the
method and path, the status and error code, the model as the client named it, how long
the request took and what it cost. None of these is a credential; a model text that
holds one by mistake is masked like everything the gateway logs (the log handlers'
redaction).
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Literal

import orjson

from nanogate.core import format_usd
from nanogate.storage import RequestRecord

AccessFormat = Literal["text", "json", "off"]

log = logging.getLogger("nanogate.access")


def text_line(record: RequestRecord) -> str:
    """``req_… key_… POST /api/v1/chat/completions 200 - local/chat 12.3ms $0.000140``:
    absent fields as ``-``."""
    duration = f"{record.duration_ms:.1f}ms" if record.duration_ms is not None else "-"
    return " ".join(
        (
            record.request_id,
            record.key_id or "-",
            record.method,
            record.path,
            str(record.status),
            record.code or "-",
            record.model or "-",
            duration,
            "$" + format_usd(record.cost_nusd, 0),
        )
    )


def json_line(record: RequestRecord) -> str:
    """The same fields as one JSON object, with the request's start time."""
    return orjson.dumps(
        {
            "ts": record.created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "request_id": record.request_id,
            "key_id": record.key_id,
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "code": record.code,
            "model": record.model,
            "duration_ms": round(record.duration_ms, 3) if record.duration_ms else None,
            "cost_usd": format_usd(record.cost_nusd, 0),
        }
    ).decode()


class AccessLog:
    """Writes a request's line to the ``nanogate.access`` logger, in ``format``."""

    def __init__(self, format: AccessFormat) -> None:
        self._line = json_line if format == "json" else text_line

    def write(self, record: RequestRecord) -> None:
        log.info("%s", self._line(record))


def access_log(format: AccessFormat) -> AccessLog | None:
    """The access log of ``[server] access_log``; ``None`` when it is ``off``."""
    return None if format == "off" else AccessLog(format)
