"""Accountless x402 payments: quotes with their stored requests, offers, receipts and
the leases of polling rails' addresses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "x402_payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_hash", sa.String(80), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("amount_nusd", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("paid_rail", sa.String(32), nullable=True),
        sa.Column("payment_digest", sa.String(80), nullable=True, unique=True),
        sa.Column("settlement", sa.Text, nullable=True),
        sa.Column("request_id", sa.String(40), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(40), nullable=True),
    )
    op.create_index("ix_x402_payments_request_hash", "x402_payments", ["request_hash"])
    op.create_table(
        "x402_offers",
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("x402_payments.id"), nullable=False),
        sa.Column("rail", sa.String(32), nullable=False),
        sa.Column("pay_to", sa.String(200), nullable=False),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "rail"),
    )
    op.create_table(
        "x402_receipts",
        sa.Column("rail", sa.String(32), nullable=False),
        sa.Column("receipt_id", sa.String(200), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rail", "receipt_id"),
    )
    op.create_index("ix_x402_receipts_payment_id", "x402_receipts", ["payment_id"])
    op.create_table(
        "x402_leases",
        sa.Column("rail", sa.String(32), nullable=False),
        sa.Column("pay_to", sa.String(200), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rail", "pay_to"),
    )


def downgrade() -> None:
    op.drop_table("x402_leases")
    op.drop_table("x402_receipts")
    op.drop_table("x402_offers")
    op.drop_index("ix_x402_payments_request_hash", "x402_payments")
    op.drop_table("x402_payments")
