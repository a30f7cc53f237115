"""The paid add-ons: the request log lists each add-on's cost; context memory keeps a
key's compressed conversation prefixes, sealed, until they expire.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.add_column(sa.Column("add_ons", sa.Text, nullable=True))
    op.create_table(
        "memories",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("prefix_hash", sa.String(64), primary_key=True),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_memories_expires_at", "memories", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_memories_expires_at", table_name="memories")
    op.drop_table("memories")
    with op.batch_alter_table("request_log") as batch:
        batch.drop_column("add_ons")
