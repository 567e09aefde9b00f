"""Every story has an owner and can be shared with the school; classes have codes; pictures are
counted per teacher per day (see s2i_core/storage/access.py, classes.py, quota.py).

Stories saved before belong to the first admin (``S2I_ADMINS``) when one is named at the upgrade,
else to the classroom's own teacher ("") until an admin signs in (Library.adopt_unowned); their
class is kept.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy): on SQLite, copying "stories" would drop the old table,
    # and its frames with it (ON DELETE CASCADE).
    op.add_column("stories", sa.Column("owner", sa.Text(), server_default="", nullable=False))
    shared = sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False)
    op.add_column("stories", shared)
    op.create_index("ix_stories_owner", "stories", ["owner"])
    first_admin = context.config.attributes.get("first_admin") or ""
    if first_admin:
        op.execute(
            sa.text("UPDATE stories SET owner = :owner WHERE owner = ''").bindparams(
                owner=first_admin
            )
        )
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("code_made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("name", name=op.f("uq_classes_name")),
        sa.UniqueConstraint("code", name=op.f("uq_classes_code")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "picture_counts",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("pictures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "day", name=op.f("pk_picture_counts")),
    )


def downgrade() -> None:
    op.drop_table("picture_counts")
    op.drop_table("classes")
    op.drop_index("ix_stories_owner", table_name="stories")
    with op.batch_alter_table("stories") as batch:  # SQLite before 3.35 cannot drop a column
        batch.drop_column("shared")
        batch.drop_column("owner")
