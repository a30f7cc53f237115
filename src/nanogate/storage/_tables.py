"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create it.

Money columns hold integer nano-dollars (see :mod:`nanogate.core._money`). An
account's ``balance_nusd`` is its money; ``reserved_nusd`` is the part leased to
gateway processes (``leases``), from which they hold requests in flight. Every
change to either is a ``ledger`` row (``amount_nusd`` changes the balance,
``hold_nusd`` the reserved part), so both can be recomputed from the ledger alone.
Ledger kinds: ``topup``, ``lease`` (a slice leased to a process), ``settlement``
(a request's charge, paid from its process's lease), ``release`` (a lease given
back), ``recovery`` (a lease or hold released because its gateway process
stopped), ``refund``, and ``reservation`` (a per-request hold, in databases
written before leases).
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
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
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
    Column("reserved_nusd", BigInteger, nullable=False, default=0),
    Index("ix_accounts_created", "created_at", "id"),
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
    Column("byok", Text, nullable=True),
    Index("ix_api_keys_created", "created_at", "id"),
    Index("ix_api_keys_account_created", "account_id", "created_at"),
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
    Column("discrepancy", Text, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("ttfb_ms", Float, nullable=True),
    Column("client_ip", String(64), nullable=True),
    Column("add_ons", Text, nullable=True),
    Index("ix_request_log_key_created", "key_id", "created_at"),
    Index("ix_request_log_created", "created_at", "request_id"),
    Index("ix_request_log_account_created", "account_id", "created_at"),
    Index("ix_request_log_model_created", "model", "created_at"),
    Index("ix_request_log_status_created", "status", "created_at"),
    Index("ix_request_log_code_created", "code", "created_at"),
)

memories = Table(
    "memories",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("prefix_hash", String(64), primary_key=True),
    Column("turns", Integer, nullable=False),
    Column("sealed", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
"""Context memory: a key's compressed conversation prefixes, sealed, until they expire."""

stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_id", String(40), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("context", Text, nullable=False),
)

LEDGER_ID = BigInteger().with_variant(Integer, "sqlite")

ledger = Table(
    "ledger",
    metadata,
    Column("id", LEDGER_ID, primary_key=True, autoincrement=True),
    Column("account_id", String(40), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("amount_nusd", BigInteger, nullable=False),
    Column("hold_nusd", BigInteger, nullable=False),
    Column("request_id", String(40), nullable=True, index=True),
    Column("key_id", String(40), nullable=True),
    Column("model", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("note", String(200), nullable=True),
)

reservations = Table(
    "reservations",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("counted", Boolean, nullable=False),
    Column("model", String(200), nullable=True),
    Column("amount_nusd", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),
    Column("owner", String(40), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("owner", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("day", String(10), nullable=False),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("owner", "kind", "subject", "day"),
)
"""A gateway process's slice (``owner``) of an account's balance (kind ``balance``,
``subject`` the account, no ``day``) or of a key's daily allowance (``requests``,
``usd``). Counted in ``accounts.reserved_nusd`` and ``usage_daily`` while it lasts."""

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("subject", String(80), nullable=False),
    Column("day", String(10), nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("usd_nusd", BigInteger, nullable=False),
    PrimaryKeyConstraint("subject", "day"),
)

rate_seq = Table(
    "rate_seq",
    metadata,
    Column("subject", String(80), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)
"""How many requests each subject's per-second limit has admitted; its row is also the
lock that serialises the subject's counts."""

rate_log = Table(
    "rate_log",
    metadata,
    Column("subject", String(80), nullable=False),
    Column("slot", BigInteger, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("subject", "slot"),
)
"""A ring of the last admissions per subject, ``limit`` slots long: slot ``seq % limit``
holds when the request ``limit`` admissions ago was admitted. A request is admitted only
if that was more than a second ago, so no second, wherever it starts, admits more than
the limit (a sliding second, not fixed windows). Slots older than a second are swept
(an empty slot admits)."""

instances = Table(
    "instances",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("hostname", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key_id", String(40), nullable=False),
    Column("idem_key", String(255), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("request_id", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", Text, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("key_id", "idem_key"),
)

x402_payments = Table(
    "x402_payments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("request_hash", String(80), nullable=False, index=True),
    Column("method", String(8), nullable=False),
    Column("path", String(200), nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("amount_nusd", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("runs", Integer, nullable=False, default=0),
    Column("paid_rail", String(32), nullable=True),
    Column("payment_digest", String(80), nullable=True, unique=True),
    Column("settlement", Text, nullable=True),
    Column("request_id", String(40), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("owner", String(40), nullable=True),
    Index("ix_x402_payments_created", "created_at", "id"),
    Index("ix_x402_payments_status_created", "status", "created_at"),
)
"""Accountless x402 payments: each quote with the request it prices. ``payment_digest``
is the SHA-256 of the ``X-PAYMENT`` that settled it (each is used once); ``owner`` the
gateway process running it while ``processing``; asset amounts are decimal strings of
atomic units (Nano's exceed 64 bits)."""

x402_offers = Table(
    "x402_offers",
    metadata,
    Column("payment_id", String(40), ForeignKey("x402_payments.id"), nullable=False),
    Column("rail", String(32), nullable=False),
    Column("pay_to", String(200), nullable=False),
    Column("amount", String(80), nullable=False),
    PrimaryKeyConstraint("payment_id", "rail"),
)

x402_receipts = Table(
    "x402_receipts",
    metadata,
    Column("rail", String(32), nullable=False),
    Column("receipt_id", String(200), nullable=False),
    Column("payment_id", String(40), nullable=False, index=True),
    Column("amount", String(80), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("arrived_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("rail", "receipt_id"),
)
"""Funds confirmed towards a payment's polling offer: a Nano block, a token transfer, a
simulated payment on the dev rail. Each counts once. ``arrived_at`` is when the funds
arrived by the chain's own clock (a Nano block's arrival at the node, an EVM block's
time), which decides whether they pay the quote; ``observed_at`` when the gateway first
saw them (and stands for ``arrived_at`` where that is unknown)."""

x402_leases = Table(
    "x402_leases",
    metadata,
    Column("rail", String(32), nullable=False),
    Column("pay_to", String(200), nullable=False),
    Column("payment_id", String(40), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("rail", "pay_to"),
)
"""Which payment holds each address of a polling rail's pool, and until when."""

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(40), nullable=False),
    Column("detail", Text, nullable=True),
    Column("client_ip", String(64), nullable=True),
    Index("ix_admin_audit_created", "created_at", "id"),
)
"""Every change made through the admin API or the console: who (``actor``: ``api`` or
``console``), what (``action``, like ``key.create``), to which row (``target``), with
the change's non-secret details (JSON) and the address it came from."""
