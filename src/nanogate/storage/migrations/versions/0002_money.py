"""Money: reserved balances, the ledger, reservations, limit counters, instances,
idempotency records.

Existing balances get an opening ledger row, so every balance can be recomputed
from the ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEDGER_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("reserved_nusd", sa.BigInteger, nullable=False, server_default="0")
        )
    op.create_table(
        "ledger",
        sa.Column("id", LEDGER_ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_nusd", sa.BigInteger, nullable=False),
        sa.Column("hold_nusd", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(40), nullable=True),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
    )
    op.create_index("ix_ledger_account_id", "ledger", ["account_id"])
    op.create_index("ix_ledger_request_id", "ledger", ["request_id"])
    op.execute(
        "INSERT INTO ledger (account_id, kind, amount_nusd, hold_nusd, created_at, note) "
        "SELECT id, 'topup', balance_nusd, 0, created_at, 'opening balance' "
        "FROM accounts WHERE balance_nusd <> 0"
    )
    op.create_table(
        "reservations",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("amount_nusd", sa.BigInteger, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reservations_owner", "reservations", ["owner"])
    op.create_table(
        "usage_daily",
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("usd_nusd", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("subject", "day"),
    )
    op.create_table(
        "rate_window",
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("second", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("subject", "second"),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("idem_key", sa.String(255), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("headers", sa.Text, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idem_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency")
    op.drop_table("instances")
    op.drop_table("rate_window")
    op.drop_table("usage_daily")
    op.drop_table("reservations")
    op.drop_table("ledger")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("reserved_nusd")
