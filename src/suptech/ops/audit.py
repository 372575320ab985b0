"""The audit log: append-only, each entry chained to the one before by a keyed hash,
and anchored outside the database.

An entry's hash is HMAC-SHA-256, under a key kept outside the operational database
(`SUPTECH_AUDIT_KEY`, else the file `audit.key` in the data directory, made on first
use), over the previous entry's hash and the entry's own fields in canonical JSON.
Changing any field of any entry, deleting one or inserting one breaks the chain at
that point, and someone who can write the database but not read the key cannot
compute a chain again. Each committed entry's sequence number and hash are appended to
`audit.anchors` in the data directory: `verify` requires every anchored entry to be
there with its hash, so cutting off the newest entries, or all of them, is found too.

The chain also covers what the audit describes: each timeline event's content is
sealed in the entry that records it, and each case's state is that of its newest
audited transition, so `verify` finds an event edited or deleted, and a case state
changed, in the database behind the application's back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops.db import audit

GENESIS = "0" * 64


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Keeping:
    """Where an engine's audit key and anchors are: outside its database."""

    key: bytes
    anchors: Path


def keeping(data_dir: Path) -> Keeping:
    text = os.environ.get("SUPTECH_AUDIT_KEY")
    path = Path(data_dir) / "audit.key"
    if text:
        key = text.encode()
    elif path.exists():
        key = path.read_bytes()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
        key = path.read_bytes()
    return Keeping(key, Path(data_dir) / "audit.anchors")


def install(engine, data_dir: Path) -> None:
    """Key the engine's chain and anchor what it commits (called by `ops.db.connect`)."""
    engine.suptech_audit = keep = keeping(data_dir)

    @sa.event.listens_for(engine, "commit")
    def _anchor(con) -> None:
        head = con.info.pop("audit_head", None)
        if head is not None:
            with open(keep.anchors, "a", encoding="ascii") as f:  # appends are atomic
                f.write(f"{head[0]} {head[1]}\n")

    @sa.event.listens_for(engine, "rollback")
    def _forget(con) -> None:
        con.info.pop("audit_head", None)


def _keep(con: Connection) -> Keeping:
    return con.engine.suptech_audit


def _digest(key: bytes, prev_hash: str, seq: int, ts: str, actor: str, action: str,
            object_type: str, object_id: str, detail: str) -> str:
    body = json.dumps([prev_hash, seq, ts, actor, action, object_type, object_id, detail],
                      separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def record(con: Connection, actor: str, action: str, object_type: str, object_id: str,
           **detail) -> int:
    """Append one entry in the caller's transaction; returns its sequence number."""
    if con.dialect.name == "postgresql":
        # One writer at a time extends the chain, across every server process.
        con.execute(sa.text("SELECT pg_advisory_xact_lock(20022)"))
    elif con.dialect.name == "sqlite":
        # Take SQLite's write lock before reading the head: Python's sqlite3 begins a
        # transaction only at a write, so two threads could otherwise both read the
        # same head and the second's entry collide with the first's.
        con.execute(audit.update().where(audit.c.seq == -1).values(seq=audit.c.seq))
    last = con.execute(sa.select(audit.c.seq, audit.c.hash)
                       .order_by(audit.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    ts = now()
    text = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    digest = _digest(_keep(con).key, prev, seq, ts, actor, action, object_type, object_id,
                     text)
    con.execute(audit.insert().values(
        seq=seq, ts=ts, actor=actor, action=action, object_type=object_type,
        object_id=object_id, detail=text, prev_hash=prev, hash=digest))
    con.info["audit_head"] = (seq, digest)  # anchored once the transaction commits
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
    """The chain, then the anchors, then what the chain vouches for (see the module doc)."""
    from suptech.ops.covered import uncovered

    keep = _keep(con)
    prev, expected_seq, n = GENESIS, 1, 0
    entries = []
    for row in con.execute(sa.select(audit).order_by(audit.c.seq)).mappings():
        n += 1
        if row["seq"] != expected_seq:
            return Verification(n, prev, expected_seq, f"entry {expected_seq} is missing")
        if row["prev_hash"] != prev:
            return Verification(n, prev, row["seq"], "does not follow the entry before it")
        digest = _digest(keep.key, prev, row["seq"], row["ts"], row["actor"], row["action"],
                         row["object_type"], row["object_id"], row["detail"])
        if not hmac.compare_digest(digest, row["hash"]):
            return Verification(n, prev, row["seq"], "its content was changed (or its hash "
                                "was computed without the audit key)")
        entries.append(row)
        prev, expected_seq = row["hash"], expected_seq + 1
    hashes = {e["seq"]: e["hash"] for e in entries}
    for seq, anchored in _anchors(keep.anchors):
        if seq not in hashes:
            return Verification(n, prev, seq, f"entry {seq} is missing: the log was anchored "
                                f"at entry {seq} and now ends at {n}")
        if hashes[seq] != anchored:
            return Verification(n, prev, seq, "it is not the entry that was anchored")
    broken = uncovered(con, entries)
    if broken:
        return Verification(n, prev, broken[0], broken[1])
    return Verification(n, prev, None, None)


def _anchors(path: Path):
    if not path.exists():
        return
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            seq, _, digest = line.strip().partition(" ")
            if seq.isdigit() and digest:
                yield int(seq), digest
