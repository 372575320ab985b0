"""The audit chain catches what someone with write access to the operational database
does behind the application's back: entries cut off (the last, the last five, all), a
chain recomputed without the key, a timeline event edited or deleted, a case state set."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from suptech.ops import access, audit, cases
from suptech.ops.access import User
from suptech.ops.db import connect

ANA = User("ana", "analyst", "CN-SH", None)


@pytest.fixture
def ops(tmp_path):
    engine = connect(tmp_path)
    with engine.begin() as con:
        access.add_user(con, "test", "ana", "analyst", "CN-SH")
        for i in range(5):
            access.add_user(con, "test", f"u{i}", "analyst", "CN-AH")
    with engine.begin() as con:
        case = cases.open_case(con, ANA, "a ring of three accounts", [])
        cases.comment(con, ANA, "case", case["case_id"], "looked at the flows")
        cases.transition(con, ANA, case["case_id"], "investigating")
    yield engine
    engine.dispose()


def check(engine) -> audit.Verification:
    with engine.connect() as con:
        return audit.verify(con)


def sql(engine, text: str) -> None:
    with engine.begin() as con:
        con.execute(sa.text(text))


def test_an_untouched_log_is_intact(ops):
    v = check(ops)
    assert v.ok and v.entries == 15, v.reason


@pytest.mark.parametrize("cut", ["seq = (SELECT MAX(seq) FROM audit_log)",
                                 "seq > (SELECT MAX(seq) - 5 FROM audit_log)", "1 = 1"])
def test_cutting_off_the_newest_entries_or_all_is_found(ops, cut):
    sql(ops, f"DELETE FROM audit_log WHERE {cut}")
    v = check(ops)
    assert not v.ok and "missing: the log was anchored" in v.reason


def test_a_chain_recomputed_without_the_key_is_found(ops):
    with ops.begin() as con:
        rows = con.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        prev = audit.GENESIS
        for r in rows:  # the attacker edits entry 3 and rehashes everything with SHA-256
            detail = '{"role":"admin"}' if r["seq"] == 3 else r["detail"]
            body = json.dumps([prev, r["seq"], r["ts"], r["actor"], r["action"],
                               r["object_type"], r["object_id"], detail],
                              separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(body.encode()).hexdigest()
            con.execute(sa.text("UPDATE audit_log SET detail = :d, prev_hash = :p, hash = :h "
                                "WHERE seq = :s"), dict(d=detail, p=prev, h=digest, s=r["seq"]))
            prev = digest
    v = check(ops)
    assert not v.ok and v.broken_at == 1 and "without the audit key" in v.reason


def test_an_edited_timeline_event_is_found(ops):
    sql(ops, "UPDATE events SET text = 'nothing to see' WHERE kind = 'comment'")
    v = check(ops)
    assert not v.ok and "was changed after it was recorded" in v.reason


def test_a_deleted_timeline_event_is_found(ops):
    sql(ops, "DELETE FROM events WHERE kind = 'comment'")
    v = check(ops)
    assert not v.ok and "that it records was deleted" in v.reason


def test_a_case_state_set_in_the_database_is_found(ops):
    sql(ops, "UPDATE cases SET state = 'closed-no-action'")
    v = check(ops)
    assert not v.ok and "is closed-no-action in the database" in v.reason
    assert "left it investigating" in v.reason


def test_entries_recorded_at_once_by_many_threads_all_land_in_one_chain(ops):
    """A server audits from many threads at once: none of them loses its entry."""
    import threading

    before = audit.verify(ops.connect()).entries
    failures = []

    def act(i: int) -> None:
        for k in range(20):
            try:
                with ops.begin() as con:
                    con.execute(sa.text("SELECT 1"))  # a read first, as handlers do
                    audit.record(con, f"u{i}", "alert.read", "alert", f"AL-{i}-{k}")
            except Exception as e:  # noqa: BLE001 (counted, and shown if any)
                failures.append(repr(e)[:120])

    threads = [threading.Thread(target=act, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with ops.connect() as con:
        v = audit.verify(con)
    assert v.ok and v.entries == before + 120
