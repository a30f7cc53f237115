"""x402: when each receipt's funds arrived, by the chain's clock, beside when the gateway
saw them (a payment is judged by the first).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("x402_receipts") as batch:
        batch.add_column(sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("x402_receipts") as batch:
        batch.drop_column("arrived_at")
