"""The audit log: append-only, each entry chained to the one before by its hash.

An entry's hash is SHA-256 over the previous entry's hash and the entry's own fields
in canonical JSON. Changing any field of any entry, deleting one or inserting one breaks
the chain at that point, and `verify` names the first entry where it breaks. (Deleting
the newest entries leaves a shorter valid chain; the head hash, printed by `verify`,
is what to keep elsewhere to catch that.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops.db import audit

GENESIS = "0" * 64


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _digest(prev_hash: str, seq: int, ts: str, actor: str, action: str, object_type: str,
            object_id: str, detail: str) -> str:
    body = json.dumps([prev_hash, seq, ts, actor, action, object_type, object_id, detail],
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def record(con: Connection, actor: str, action: str, object_type: str, object_id: str,
           **detail) -> int:
    """Append one entry in the caller's transaction; returns its sequence number."""
    if con.dialect.name == "postgresql":
        # One writer at a time extends the chain, across every server process.
        con.execute(sa.text("SELECT pg_advisory_xact_lock(20022)"))
    last = con.execute(sa.select(audit.c.seq, audit.c.hash)
                       .order_by(audit.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    ts = now()
    text = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    con.execute(audit.insert().values(
        seq=seq, ts=ts, actor=actor, action=action, object_type=object_type,
        object_id=object_id, detail=text, prev_hash=prev,
        hash=_digest(prev, seq, ts, actor, action, object_type, object_id, text)))
    return seq


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str  # the newest entry's hash
    broken_at: int | None  # the first sequence number where the chain breaks
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(con: Connection) -> Verification:
    prev, expected_seq, n = GENESIS, 1, 0
    rows = con.execute(sa.select(audit).order_by(audit.c.seq)).mappings()
    for row in rows:
        n += 1
        if row["seq"] != expected_seq:
            return Verification(n, prev, expected_seq, f"entry {expected_seq} is missing")
        if row["prev_hash"] != prev:
            return Verification(n, prev, row["seq"], "does not follow the entry before it")
        digest = _digest(prev, row["seq"], row["ts"], row["actor"], row["action"],
                         row["object_type"], row["object_id"], row["detail"])
        if digest != row["hash"]:
            return Verification(n, prev, row["seq"], "its content was changed")
        prev, expected_seq = row["hash"], expected_seq + 1
    return Verification(n, prev, None, None)
