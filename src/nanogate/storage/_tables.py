"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create it.

Money columns hold integer nano-dollars (see :mod:`nanogate.core._money`).
``api_keys.seq`` takes the value of the ``admin_seq`` counter at the key's last
change, so a running gateway can fetch just the keys changed since it last looked.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("balance_nusd", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("models", Text, nullable=True),
    Column("daily_requests", Integer, nullable=True),
    Column("daily_usd_nusd", BigInteger, nullable=True),
    Column("rps", Integer, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, nullable=False, index=True),
)

request_log = Table(
    "request_log",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("key_id", String(40), nullable=True),
    Column("account_id", String(40), nullable=True),
    Column("surface", String(16), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(200), nullable=False),
    Column("model", String(200), nullable=True),
    Column("status", Integer, nullable=False),
    Column("code", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("stream", Boolean, nullable=False, default=False),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("cost_nusd", BigInteger, nullable=False, default=0),
    Column("usage_estimated", Boolean, nullable=False, default=False),
    Column("deployments", Text, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("ttfb_ms", Float, nullable=True),
    Column("client_ip", String(64), nullable=True),
    Index("ix_request_log_key_created", "key_id", "created_at"),
)

stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_id", String(40), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("context", Text, nullable=False),
)
