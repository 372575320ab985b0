"""A user's language for the dashboard (`suptech.i18n`): empty means the browser's.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("users") as t:  # batch: SQLite alters by copying
        t.add_column(sa.Column("language", sa.String(8)))


def downgrade() -> None:
    with op.batch_alter_table("users") as t:
        t.drop_column("language")
