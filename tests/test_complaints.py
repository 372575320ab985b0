"""Complaints as a workflow: the decision's clock in working days of the Chinese calendar,
its extensions with notice, and the complaints left past it raised as alerts."""

from __future__ import annotations

import datetime as dt
import json

from builders import BROKER_A, record, write_csv

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.investor.complaints import add_days, clock
from suptech.model.calendar import DEFAULT
from suptech.store.database import open_store

D = dt.date


def test_fifteen_working_days_after_receipt():
    """From Monday 2 March 2026: three weeks of five, the day of receipt not counted."""
    assert add_days(D(2026, 3, 2), 15) == D(2026, 3, 23)
    assert add_days(D(2026, 3, 2), 15, working_days=False) == D(2026, 3, 17)


def test_the_spring_festival_is_not_counted_and_its_make_up_saturdays_are():
    """Received Friday 13 February 2026: Saturday 14 is worked (1), 16-20 and Monday 23
    are holidays, Saturday 28 is worked (6), then 2-12 March (7-15)."""
    assert add_days(D(2026, 2, 13), 15) == D(2026, 3, 12)


def test_an_extension_noticed_in_time_moves_the_deadline_to_30_then_60_days():
    received = D(2026, 3, 2)
    assert clock(received, [], D(2026, 3, 23)).deadline == D(2026, 3, 23)
    once = clock(received, [(D(2026, 3, 20), "EXTENDED")], D(2026, 4, 30))
    assert (once.extensions, once.deadline) == (1, add_days(received, 30))
    twice = clock(received, [(D(2026, 3, 20), "EXTENDED"), (D(2026, 4, 1), "EXTENDED"),
                             (D(2026, 4, 2), "EXTENDED")], D(2026, 4, 30))
    assert (twice.extensions, twice.deadline) == (2, add_days(received, 60))
    # Noticed the day after the deadline: too late to count.
    late = clock(received, [(D(2026, 3, 24), "EXTENDED")], D(2026, 3, 24))
    assert late.extensions == 0 and late.overdue(D(2026, 3, 24))


def test_decided_on_the_deadline_is_in_time_the_day_after_is_late():
    received = D(2026, 3, 2)
    assert not clock(received, [(D(2026, 3, 23), "DECIDED")], D(2026, 4, 1)).late
    after = clock(received, [(D(2026, 3, 24), "DECIDED"), (D(2026, 3, 30), "REVIEWED")],
                  D(2026, 4, 1))
    assert after.late and after.state == "REVIEWED" and not after.overdue(D(2026, 4, 1))
    assert clock(received, [(D(2026, 3, 5), "WITHDRAWN")], D(2026, 6, 1)).state == "WITHDRAWN"


def test_a_complaint_left_undecided_past_its_deadline_is_an_alert(tmp_path):
    """Received 2 March: K1 has no step (due 23 March: overdue from the 24th), K2 was
    extended on 20 March, K3 decided on 23 March. Scanned up to 23 March: nothing; up
    to 24 March: K1, naming its complainant's account at the institution."""
    parties = [record("party", 1)]
    accounts = [record("account", 1)]
    complaints = [record("complaint", k, complaint_id=f"K{k}", isin=None,
                         ts_event="2026-03-02T10:00:00+08:00") for k in (1, 2, 3)]
    events = [record("complaint_event", 1, complaint_id="K2", event="EXTENDED",
                     extended_to="30", notice_ref="N2", ts_event="2026-03-20T10:00:00+08:00"),
              record("complaint_event", 2, complaint_id="K3", event="DECIDED",
                     decision="UPHELD", ts_event="2026-03-23T10:00:00+08:00")]
    files = [write_csv(tmp_path, f"{name}.csv", rows,
                       columns=list(dict.fromkeys(c for r in rows for c in r)))
             for name, rows in (("party", parties), ("account", accounts),
                                ("complaint", complaints), ("complaint_event", events))]
    detector = REGISTRY.get("complaint_overdue")()
    store = open_store(tmp_path / "db")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
        start = DEFAULT.day_start((D(2026, 3, 2) - D(1970, 1, 1)).days)

        def until(day: D):
            end = DEFAULT.day_start((day - D(1970, 1, 1)).days + 1)
            return run(store, [detector], start, end).to_dicts()

        assert until(D(2026, 3, 23)) == []
        [alert] = until(D(2026, 3, 24))
    finally:
        store.close()
    why = json.loads(alert["explanation"])
    assert (why["subject"], why["deadline"], why["days_late"]) == ("K1", "2026-03-23", 1)
    assert alert["account_ids"] == "A1" and why["institution"] == BROKER_A


def test_steps_that_say_too_little_are_refused_and_the_others_kept(tmp_path):
    rows = {"party": [record("party", 1)],
            "complaint": [record("complaint", 1, isin=None)],
            "complaint_event": [
                record("complaint_event", 1),
                record("complaint_event", 2, event="EXTENDED", extended_to="30"),
                record("complaint_event", 3, event="EXTENDED", extended_to="45",
                       notice_ref="N3"),
                record("complaint_event", 4, event="DECIDED")]}
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, [write_csv(tmp_path, f"{k}.csv", v, columns=list(
            dict.fromkeys(c for r in v for c in r))) for k, v in rows.items()])
    finally:
        store.close()
    failed = {(f, c) for r in results for _, f, c in
              r.feedback.select("report_id", "field", "code").rows()}
    assert failed == {("notice_ref", "E010"), ("extended_to", "E010"), ("decision", "E010")}
    assert sum(r.summary.accepted for r in results) == 3
