"""A case worked jointly with other regions (`suptech.federation.joint`): its partners.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("partners", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("partners")
