"""A user's saved views of the alert queue (`suptech.ops.views`).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), primary_key=True),
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False))


def downgrade() -> None:
    op.drop_table("saved_views")
