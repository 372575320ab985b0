"""What a federation member keeps of its joint work (`suptech.federation.records`).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "federation_records",
        sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("peer", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("agreement", sa.String(80)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Index("federation_records_kind", "kind"))


def downgrade() -> None:
    op.drop_table("federation_records")
