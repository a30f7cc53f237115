"""The admin API: an audit trail of every change made through it, and the indexes its
listings read (newest first, by account, model, status, code or payment status).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_request_log_created", "request_log", ["created_at", "request_id"]),
    ("ix_request_log_account_created", "request_log", ["account_id", "created_at"]),
    ("ix_request_log_model_created", "request_log", ["model", "created_at"]),
    ("ix_request_log_status_created", "request_log", ["status", "created_at"]),
    ("ix_request_log_code_created", "request_log", ["code", "created_at"]),
    ("ix_accounts_created", "accounts", ["created_at", "id"]),
    ("ix_api_keys_created", "api_keys", ["created_at", "id"]),
    ("ix_api_keys_account_created", "api_keys", ["account_id", "created_at"]),
    ("ix_x402_payments_created", "x402_payments", ["created_at", "id"]),
    ("ix_x402_payments_status_created", "x402_payments", ["status", "created_at"]),
)


def upgrade() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
    )
    op.create_index("ix_admin_audit_created", "admin_audit", ["created_at", "id"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_admin_audit_created", table_name="admin_audit")
    op.drop_table("admin_audit")
