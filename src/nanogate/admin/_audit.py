"""The audit trail: one row per change made through the admin API or the console.

Written as scripts on the fast driver, so a change and its audit row can share one
transaction (a top-up and its row commit together, or neither does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from nanogate.core import new_id
from nanogate.storage import Query, Script
from nanogate.storage._fast import stored_time
from nanogate.storage._pages import after_clause

Actor = Literal["api", "console"]

_INSERT = """
INSERT INTO admin_audit (id, created_at, actor, action, target, detail, client_ip)
VALUES (:id, :at, :actor, :action, :target, :detail, :ip)"""
_COLUMNS = "id, created_at, actor, action, target, detail, client_ip"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    created_at: datetime
    actor: str
    action: str
    """``account.create``, ``account.topup``, ``key.create`` or ``key.revoke``."""
    target: str
    """The id of the account or key changed."""
    detail: dict[str, Any]
    client_ip: str | None


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asks for a change: the admin API or the console, from which address."""

    actor: Actor
    client_ip: str | None


def record(
    origin: Origin, action: str, target: str, detail: dict[str, Any], now: datetime
) -> Script[None]:
    """Write one audit row."""
    params = {
        "id": new_id("audit"),
        "at": now,
        "actor": origin.actor,
        "action": action,
        "target": target,
        "detail": orjson.dumps(detail).decode(),
        "ip": origin.client_ip,
    }
    yield Query(_INSERT, params)


def audit_page(limit: int, after: tuple[datetime, str] | None) -> Script[list[AuditEntry]]:
    """Up to ``limit`` audit rows newest first, after ``after``'s position."""
    where = "1 = 1"
    params: dict[str, object] = {"limit": limit}
    if after is not None:
        where = after_clause("created_at", "id")
        params.update(at=after[0], after=after[1])
    query = (
        f"SELECT {_COLUMNS} FROM admin_audit WHERE {where} "
        "ORDER BY created_at DESC, id DESC LIMIT :limit"
    )
    rows = (yield Query(query, params)).rows
    return [
        AuditEntry(
            str(id_), stored_time(at), actor, action, target, orjson.loads(detail or "{}"), ip
        )
        for id_, at, actor, action, target, detail, ip in rows
    ]
