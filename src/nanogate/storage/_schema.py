"""Which schema a database has: the newest migration's revision, and the script that
reads a database's own, on the fast driver (without SQLAlchemy or Alembic)."""

from __future__ import annotations

from nanogate.storage._fast import Query, Script

SCHEMA_HEAD = "0009"
"""The newest migration's revision. A database already at it is not handed to
Alembic, whose import and script scan would double a CLI command's start-up; a
test keeps this equal to Alembic's head."""

VERSION = "SELECT version_num FROM alembic_version"
"""The database's own revision, as Alembic records it."""


def at_head() -> Script[bool]:
    """Whether the database's schema is at :data:`SCHEMA_HEAD`. A database without
    Alembic's table (a new one) fails the statement; the caller migrates it then."""
    rows = (yield Query(VERSION)).rows
    return [str(row[0]) for row in rows] == [SCHEMA_HEAD]
