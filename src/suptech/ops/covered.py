"""What the audit chain vouches for beyond itself: the case timeline and case states.

An entry that records a timeline event carries the event's id and a digest of its
content (`event_seal`); an entry that opens or moves a case says the state it left.
Read back against the tables, they tell an event edited, added or deleted, or a case
state set, in the database itself rather than through the application.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops.db import cases, events


def event_seal(event_id: int, object_type: str, object_id: str, actor: str, kind: str,
               text: str | None, ts: str) -> str:
    """The digest of a timeline event's content, carried by the entry recording it."""
    fields = [event_id, object_type, object_id, actor, kind, text, ts]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
                          .encode()).hexdigest()


def uncovered(con: Connection, entries: list) -> tuple[int, str] | None:
    """The first (entry, reason) where the tables disagree with the chain, or None."""
    sealed: dict[int, tuple[int, str]] = {}  # event id -> (entry, digest)
    states: dict[str, tuple[int, str]] = {}  # case id -> (entry, state it left)
    for row in entries:
        detail = json.loads(row["detail"] or "{}")
        if "event_id" in detail:
            sealed[detail["event_id"]] = (row["seq"], detail.get("event", ""))
        if row["action"] == "case.open":
            states[row["object_id"]] = (row["seq"], "open")
        elif row["action"] == "case.transition":
            states[row["object_id"]] = (row["seq"], detail.get("after"))
    last = entries[-1]["seq"] if entries else 0
    for e in con.execute(sa.select(events).order_by(events.c.event_id)).mappings():
        seq, digest = sealed.pop(e["event_id"], (None, None))
        if seq is None:
            return last, f"timeline event {e['event_id']} is recorded by no audit entry"
        if digest != event_seal(e["event_id"], e["object_type"], e["object_id"], e["actor"],
                                e["kind"], e["text"], e["ts"]):
            return seq, f"timeline event {e['event_id']} was changed after it was recorded"
    for event_id, (seq, _) in sorted(sealed.items(), key=lambda kv: kv[1][0]):
        return seq, f"timeline event {event_id} that it records was deleted"
    for c in con.execute(sa.select(cases.c.case_id, cases.c.state)).mappings():
        seq, state = states.pop(c["case_id"], (None, None))
        if seq is None:
            return last, f"case {c['case_id']} was opened by no audit entry"
        if state != c["state"]:
            return seq, (f"case {c['case_id']} is {c['state']} in the database, but its "
                         f"last audited move left it {state}")
    for case_id, (seq, _) in states.items():
        return seq, f"case {case_id} that it records was deleted"
    return None
