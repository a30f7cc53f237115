"""The request log: every statement on ``request_log``, as scripts for the fast driver.

Written in batches by the gateway (:class:`~nanogate.server.RequestLog`), read by the
usage routes and ``nanogate requests show``; nothing here loads SQLAlchemy, so a
read-only command needs only the driver.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from nanogate.storage._fast import Query, Script, stored_time
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
    values = dict(zip(FIELDS, rows[0], strict=True))
    values["created_at"] = stored_time(values["created_at"])
    values["stream"] = bool(values["stream"])
    values["usage_estimated"] = bool(values["usage_estimated"])
    values["deployments"] = orjson.loads(values["deployments"]) if values["deployments"] else []
    values["discrepancy"] = orjson.loads(values["discrepancy"]) if values["discrepancy"] else None
    values["add_ons"] = orjson.loads(values["add_ons"]) if values["add_ons"] else None
    return RequestRecord(**values)


def usage(dialect: str, key_id: str, first_day: str, last_day: str) -> Script[list[UsageRow]]:
    """A key's successful requests per UTC day and model, ``first_day`` to ``last_day``
    inclusive."""
    sql = _USAGE.format(day=_DAY[dialect])
    params = {"key": key_id, "first": first_day, "last": last_day}
    rows = (yield Query(sql, params)).rows
    return [UsageRow(str(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
