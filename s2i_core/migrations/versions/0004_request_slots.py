"""One request rate per API key across processes and replicas: each request the picture service
is sent takes a row here first (see s2i_core/storage/request_slots.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("taken_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_slots")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_request_slots_key_id_taken_at"), "request_slots", ["key_id", "taken_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_request_slots_key_id_taken_at"), table_name="request_slots")
    op.drop_table("request_slots")
