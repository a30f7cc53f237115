"""The request log: every statement on ``request_log``, as scripts for the fast driver.

Written in batches by the gateway (:class:`~nanogate.server.RequestLog`), read by the
usage routes and ``nanogate requests show``; nothing here loads SQLAlchemy, so a
read-only command needs only the driver.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import orjson

from nanogate.storage._fast import Query, Script, stored_time
from nanogate.storage._pages import after_clause
from nanogate.storage._records import RequestRecord, UsageRow

FIELDS = tuple(field.name for field in fields(RequestRecord))
"""The columns, in the record's order."""

_INSERT = (
    f"INSERT INTO request_log ({', '.join(FIELDS)}) "
    f"VALUES ({', '.join(':' + name for name in FIELDS)}) "
    "ON CONFLICT (request_id) DO NOTHING"
)
_GET = f"SELECT {', '.join(FIELDS)} FROM request_log WHERE request_id = :request"
_DAY = {
    "sqlite": "substr(created_at, 1, 10)",
    "postgresql": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}
"""A row's UTC day, as ``YYYY-MM-DD``: SQLite stores UTC text, PostgreSQL a timestamptz."""
_USAGE = """
SELECT {day}, model, COUNT(*), COALESCE(SUM(cost_nusd), 0),
    COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
FROM request_log
WHERE key_id = :key AND model IS NOT NULL AND status < 400
    AND {day} >= :first AND {day} <= :last
GROUP BY 1, 2 ORDER BY 1, 2"""


def insert_rows(rows: list[dict[str, Any]]) -> Script[None]:
    """Write rows (see :func:`nanogate.storage._sql.request_row`); a row already written
    (a retried flush) is skipped."""
    yield Query(_INSERT, many=rows)


def get_request(request_id: str) -> Script[RequestRecord | None]:
    """A request's record, or ``None``."""
    rows = (yield Query(_GET, {"request": request_id})).rows
    if not rows:
        return None
    return _record(rows[0])


def _record(row: tuple[Any, ...]) -> RequestRecord:
    values = dict(zip(FIELDS, row, strict=True))
    values["created_at"] = stored_time(values["created_at"])
    values["stream"] = bool(values["stream"])
    values["usage_estimated"] = bool(values["usage_estimated"])
    values["deployments"] = orjson.loads(values["deployments"]) if values["deployments"] else []
    values["discrepancy"] = orjson.loads(values["discrepancy"]) if values["discrepancy"] else None
    values["add_ons"] = orjson.loads(values["add_ons"]) if values["add_ons"] else None
    return RequestRecord(**values)


REQUEST_FILTERS = {
    "key_id": "key_id = :key_id",
    "account_id": "account_id = :account_id",
    "model": "model = :model",
    "status": "status = :status",
    "code": "code = :code",
    "since": "created_at >= :since",
    "until": "created_at < :until",
}
"""The conditions a listing may filter by, each a fixed piece of SQL."""


def requests_page(
    filters: dict[str, object], limit: int, after: tuple[datetime, str] | None
) -> Script[list[RequestRecord]]:
    """Up to ``limit`` records newest first, after ``after``'s position, matching every
    filter given (``REQUEST_FILTERS``' names; ``None`` values are left out)."""
    given = {name: value for name, value in filters.items() if value is not None}
    where = [REQUEST_FILTERS[name] for name in given] or ["1 = 1"]
    params: dict[str, object] = {**given, "limit": limit}
    if after is not None:
        where.append(after_clause("created_at", "request_id"))
        params.update(at=after[0], after=after[1])
    query = (
        f"SELECT {', '.join(FIELDS)} FROM request_log WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, request_id DESC LIMIT :limit"
    )
    return [_record(row) for row in (yield Query(query, params)).rows]


_FIGURES = """
SELECT created_at, status, code, cost_nusd, duration_ms FROM request_log
WHERE created_at >= :since"""


def figures_since(
    since: datetime,
) -> Script[list[tuple[datetime, int, str | None, int, float | None]]]:
    """Every request from ``since`` as (time, status, code, cost, duration): the rows of
    the overview's figures (an indexed range of ``created_at``)."""
    rows = (yield Query(_FIGURES, {"since": since})).rows
    return [
        (stored_time(at), int(status), code, int(cost or 0), duration)
        for at, status, code, cost, duration in rows
    ]


def usage(dialect: str, key_id: str, first_day: str, last_day: str) -> Script[list[UsageRow]]:
    """A key's successful requests per UTC day and model, ``first_day`` to ``last_day``
    inclusive."""
    sql = _USAGE.format(day=_DAY[dialect])
    params = {"key": key_id, "first": first_day, "last": last_day}
    rows = (yield Query(sql, params)).rows
    return [UsageRow(str(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
