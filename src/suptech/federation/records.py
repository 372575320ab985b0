"""What a federation member keeps of its joint work, in its operational database: the
coordinator the outputs it released, a node what it learned (which of its entities
another region shares), alerts shared with it and by it. Kept with the job and the
agreement (id and version) each came under."""

from __future__ import annotations

import json

import sqlalchemy as sa

from suptech.ops.audit import now
from suptech.ops.db import federation_records as table

#: The kinds kept.
KINDS = ("released", "matched", "propagated", "alert.in", "alert.out", "joint")


def keep(con, kind: str, peer: str, job_id: str, agreement: str | None, body) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of record {kind!r}")
    return con.execute(table.insert().values(
        kind=kind, peer=peer, job_id=job_id, agreement=agreement,
        body=json.dumps(body, separators=(",", ":"), default=str), ts=now())).inserted_primary_key[0]


def read(con, kind: str, limit: int = 200) -> list[dict]:
    """The newest records of a kind, newest first."""
    rows = con.execute(sa.select(table).where(table.c.kind == kind)
                       .order_by(table.c.record_id.desc()).limit(limit)).mappings()
    return [{**r, "body": json.loads(r["body"])} for r in rows]


def tag(agreement) -> str:
    """How a record names the agreement it ran under."""
    return f"{agreement.id} v{agreement.version}"
