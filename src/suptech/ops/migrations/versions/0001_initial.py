"""Users, tokens, triage, cases, events and the audit log.

Revision ID: 0001

Written out in full, not taken from `db.metadata`: a migration is frozen once
released, while the metadata follows the latest revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    S = sa.String
    op.create_table(
        "users", sa.Column("user_id", S(64), primary_key=True),
        sa.Column("role", S(16), nullable=False), sa.Column("jurisdiction", S(8), nullable=False),
        sa.Column("lei", S(20)), sa.Column("created_at", S(40), nullable=False))
    op.create_table(
        "tokens", sa.Column("token_id", S(16), primary_key=True),
        sa.Column("user_id", S(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("token_hash", S(64), nullable=False, unique=True),
        sa.Column("created_at", S(40), nullable=False), sa.Column("revoked_at", S(40)))
    op.create_table(
        "alert_triage", sa.Column("alert_id", S(40), primary_key=True),
        sa.Column("status", S(16), nullable=False), sa.Column("assignee", S(64)),
        sa.Column("reason", sa.Text), sa.Column("updated_at", S(40), nullable=False))
    op.create_table(
        "cases", sa.Column("case_id", S(40), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("jurisdiction", S(8), nullable=False), sa.Column("state", S(24), nullable=False),
        sa.Column("created_by", S(64), nullable=False), sa.Column("investigator", S(64)),
        sa.Column("created_at", S(40), nullable=False), sa.Column("updated_at", S(40), nullable=False))
    op.create_table(
        "case_alerts", sa.Column("case_id", S(40), sa.ForeignKey("cases.case_id"), primary_key=True),
        sa.Column("alert_id", S(40), primary_key=True))
    op.create_table(
        "events", sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_type", S(8), nullable=False), sa.Column("object_id", S(40), nullable=False),
        sa.Column("actor", S(64), nullable=False), sa.Column("kind", S(16), nullable=False),
        sa.Column("text", sa.Text), sa.Column("ts", S(40), nullable=False))
    op.create_index("events_object", "events", ["object_type", "object_id"])
    op.create_table(
        "audit_log", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", S(40), nullable=False), sa.Column("actor", S(64), nullable=False),
        sa.Column("action", S(32), nullable=False), sa.Column("object_type", S(16), nullable=False),
        sa.Column("object_id", S(128), nullable=False), sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", S(64), nullable=False), sa.Column("hash", S(64), nullable=False))


def downgrade() -> None:
    for table in ("audit_log", "events", "case_alerts", "cases", "alert_triage", "tokens", "users"):
        op.drop_table(table)
