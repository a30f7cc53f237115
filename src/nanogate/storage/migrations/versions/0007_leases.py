"""Escrow leases: the slices of balances and daily allowances each gateway process holds;
and the per-second log, whose sliding second replaces the fixed windows of ``rate_window``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("owner", "kind", "subject", "day"),
    )
    op.create_table(
        "rate_seq",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rate_log",
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("slot", sa.BigInteger, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("subject", "slot"),
    )
    op.drop_table("rate_window")


def downgrade() -> None:
    op.create_table(
        "rate_window",
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("second", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("subject", "second"),
    )
    op.drop_table("rate_log")
    op.drop_table("rate_seq")
    op.drop_table("leases")
