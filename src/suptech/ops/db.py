"""The operational database: its tables, its connection and its migrations."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

users = sa.Table(
    "users", metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # see access.ROLES
    sa.Column("jurisdiction", sa.String(8), nullable=False),  # CN-SH, CN-JS, CN-ZJ, CN-AH
    sa.Column("lei", sa.String(20)),  # submitters: the institution they report for
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("language", sa.String(8)),  # the dashboard's (suptech.i18n); empty: the browser's
)

tokens = sa.Table(
    "tokens", metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),  # shown to admins, not secret
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 hex
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
)

#: A user's named filters of the alert queue (`suptech.ops.views`).
saved_views = sa.Table(
    "saved_views", metadata,
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("query", sa.Text, nullable=False),  # the queue's own parameters, URL-encoded
    sa.Column("created_at", sa.String(40), nullable=False),
)

#: Triage of an alert (alerts themselves are in the report database, append-only).
triage = sa.Table(
    "alert_triage", metadata,
    sa.Column("alert_id", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # new, assigned, dismissed, escalated
    sa.Column("assignee", sa.String(64)),
    sa.Column("reason", sa.Text),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

cases = sa.Table(
    "cases", metadata,
    sa.Column("case_id", sa.String(40), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("jurisdiction", sa.String(8), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("investigator", sa.String(64)),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    # A joint case's other regions, comma-separated (`suptech.federation.joint`); their
    # users act on it as user@region.
    sa.Column("partners", sa.String(64)),
)

case_alerts = sa.Table(
    "case_alerts", metadata,
    sa.Column("case_id", sa.String(40), sa.ForeignKey("cases.case_id"), primary_key=True),
    sa.Column("alert_id", sa.String(40), primary_key=True),
)

#: Everything that happened to a case or an alert, in order: the case timeline.
events = sa.Table(
    "events", metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("object_type", sa.String(8), nullable=False),  # case, alert
    sa.Column("object_id", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # comment, state, assign, ...
    sa.Column("text", sa.Text),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Index("events_object", "object_type", "object_id"),
)

#: What a federation member keeps of its joint work: released outputs, what it learned,
#: alerts shared with it and by it (`suptech.federation.records`).
federation_records = sa.Table(
    "federation_records", metadata,
    sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(24), nullable=False),  # released, matched, alert.in, ...
    sa.Column("peer", sa.String(16), nullable=False),  # the other member it concerns
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("agreement", sa.String(80)),  # id and version it ran under
    sa.Column("body", sa.Text, nullable=False),  # JSON
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Index("federation_records_kind", "kind"),
)

#: Append-only and hash-chained: each entry's hash covers the previous entry's hash.
audit = sa.Table(
    "audit_log", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("object_type", sa.String(16), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def database_url(data_dir: Path, url: str | None = None) -> str:
    """`url`, else SUPTECH_DATABASE_URL, else a SQLite file in the data directory."""
    url = url or os.environ.get("SUPTECH_DATABASE_URL")
    if url:
        # Plain postgresql:// means psycopg 3 here (SQLAlchemy's default is psycopg2).
        return url.replace("postgresql://", "postgresql+psycopg://", 1) \
            if url.startswith("postgresql://") else url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'operations.sqlite').resolve()}"


def connect(data_dir: Path, url: str | None = None) -> Engine:
    """An engine on the operational database, migrated to the current schema."""
    # Connections kept for a server's threads (40) rather than opened and closed per
    # request beyond the default five: opening one costs PostgreSQL a process.
    engine = sa.create_engine(database_url(data_dir, url), future=True, pool_size=16,
                              max_overflow=24)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite(con, _):  # wait for a writer rather than fail; keep foreign keys
            con.execute("PRAGMA busy_timeout = 10000")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA journal_mode = WAL")
    migrate(engine)
    from suptech.ops import audit
    audit.install(engine, data_dir)
    return engine


def migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as con:
        config.attributes["connection"] = con
        command.upgrade(config, "head")
