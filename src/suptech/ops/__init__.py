"""Operational data: users and tokens, alert triage, cases and the audit log.

Kept apart from the report database: it changes row by row and many people write to it
at once, so it lives in PostgreSQL in server mode (SQLite, one file in the data
directory, when embedded). SQLAlchemy Core speaks to both; Alembic migrates both.
"""
