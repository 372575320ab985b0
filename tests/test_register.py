"""The new-technology risk register and the innovation pilots: each rule at, just below
and just above its line, on hand-built filings, and the filings' own validation."""

from __future__ import annotations

import datetime as dt
import json

from builders import record, write_csv

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.model.calendar import DEFAULT
from suptech.risk.indicator import RuleParams
from suptech.risk.rules import rules
from suptech.store.database import open_store

START = dt.date(2026, 3, 2)


def on(n: int) -> str:
    """Calendar day n from START, as a date."""
    return (START + dt.timedelta(days=n)).isoformat()


def at(n: int) -> str:
    return f"{on(n)}T18:00:00+08:00"


class Register:
    def __init__(self):
        self.rows: dict[str, list[dict]] = {}

    def add(self, kind: str, n: int, **fields) -> None:
        rows = self.rows.setdefault(kind, [])
        rows.append(record(kind, len(rows) + 1, ts_event=at(n), **fields))

    def app(self, app_id: str, live: int = 0, **fields) -> None:
        self.add("tech_application", live, application_id=app_id, live_from=on(live),
                 **fields)

    def raised(self, tmp_path, indicator: str, first: int | None = None,
               last: int | None = None, **lines) -> dict[str, dict]:
        """The indicator's alerts by subject (with `day`: days from START), over days
        `first` to `last` (default: every day of the filings)."""
        tmp_path.mkdir(parents=True, exist_ok=True)
        order = sorted(self.rows, key=lambda k: ("tech_application", "pilot").count(k) == 0)
        files = [write_csv(tmp_path, f"{k}.csv", self.rows[k],
                           columns=list(dict.fromkeys(c for r in self.rows[k] for c in r)))
                 for k in order]
        cls = REGISTRY.get(indicator)
        section = getattr(rules(), cls.section)
        chosen = cls(RuleParams(section.model_copy(update=lines)))
        span = {} if first is None else {
            "start_ns": DEFAULT.day_start((START - dt.date(1970, 1, 1)).days + first),
            "end_ns": DEFAULT.day_start((START - dt.date(1970, 1, 1)).days + last + 1)}
        store = open_store(tmp_path / "db")
        try:
            results = ingest_files(store, files)
            assert all(r.summary.rejected == 0 for r in results), [
                r.feedback.head(3).rows() for r in results if r.summary.rejected]
            found = run(store, [chosen], **span).to_dicts()
        finally:
            store.close()
        out = {}
        for a in found:
            why = json.loads(a["explanation"])
            why["day"] = DEFAULT.local_day(a["window_start"]) - (START - dt.date(1970, 1, 1)).days
            out[why["subject"]] = why
        return out


def test_cover_short_of_the_exposure(tmp_path):
    """Exposure 1,000 each: covered by 1,000 (at the line: enough), by 990 (short: raised
    the day it goes live), by a provision of 500 and an insurance of 510 (1.01) that ends
    on day 3 (raised on day 4, when only the provision is left), and by 2,000 in dollars
    (not counted: short)."""
    reg = Register()
    for app in ("A1", "A2", "A3", "A4"):
        reg.app(app, exposure="1000")
    reg.add("risk_cover", 0, application_id="A1", amount="1000")
    reg.add("risk_cover", 0, application_id="A2", amount="990")
    reg.add("risk_cover", 0, application_id="A3", amount="500")
    reg.add("risk_cover", 0, application_id="A3", cover_type="INSURANCE", amount="510",
            valid_to=on(3))
    reg.add("risk_cover", 0, application_id="A4", amount="2000", currency="USD")
    reg.add("risk_cover", 6, application_id="A1", amount="1000")  # the filings run to day 6
    raised = reg.raised(tmp_path, "tech_coverage")
    assert {k: v["day"] for k, v in raised.items()} == {"A2": 0, "A3": 4, "A4": 0}
    assert raised["A3"]["coverage"] == 0.5 and raised["A2"]["min_coverage"] == 1.0


def test_a_reassessment_overdue_by_more_than_the_grace(tmp_path):
    """On day 40, with 30 days' grace: B0's review fell due on day 11 (29 days), B1's on
    day 10 (30 days: the last day of grace), B2's on day 9 (31: raised that day), B3
    went live on day 9 and was never assessed (raised); B4's was due on day 9 but it was
    assessed again on day 20. On day 41 B1 is raised, and B2 and B3 not again."""
    reg = Register()
    for app in ("B0", "B1", "B2", "B3", "B4"):
        reg.app(app, live=0 if app != "B3" else 9)
    reg.add("tech_assessment", 0, application_id="B0", assessed_on=on(0), next_review=on(11))
    reg.add("tech_assessment", 0, application_id="B1", assessed_on=on(0), next_review=on(10))
    reg.add("tech_assessment", 0, application_id="B2", assessed_on=on(0), next_review=on(9))
    reg.add("tech_assessment", 0, application_id="B4", assessed_on=on(0), next_review=on(9))
    reg.add("tech_assessment", 20, application_id="B4", assessed_on=on(20),
            next_review=on(200))
    raised = reg.raised(tmp_path, "tech_review", first=40, last=40)
    assert set(raised) == {"B2", "B3"} and raised["B2"]["days_overdue"] == 31
    assert set(reg.raised(tmp_path / "again", "tech_review", first=41, last=41)) == {"B1"}


def test_serious_incidents_within_the_window(tmp_path):
    """3 high incidents within 90 days (C1: raised on the third's day), 3 over 91 days
    (C2: the first has left the window when the third comes), 2 high and a low (C3), one
    critical (C4: alone a breach), 4 high within 90 days (C5: raised on the third's)."""
    reg = Register()
    for app in ("C1", "C2", "C3", "C4", "C5"):
        reg.app(app)
    for app, days, severities in (("C1", (1, 30, 90), "HHH"), ("C2", (1, 30, 91), "HHH"),
                                  ("C3", (1, 2, 3), "HHL"), ("C4", (5,), "C"),
                                  ("C5", (1, 2, 3, 4), "HHHH")):
        for d, s in zip(days, severities):
            reg.add("tech_incident", d, incident_id=f"{app}-{d}", application_id=app,
                    severity={"H": "HIGH", "L": "LOW", "C": "CRITICAL"}[s])
    raised = reg.raised(tmp_path, "tech_incidents")
    assert {k: v["day"] for k, v in raised.items()} == {"C1": 90, "C4": 5, "C5": 3}
    assert raised["C1"]["incidents"].split(",") == ["C1-1", "C1-30", "C1-90"]


def test_a_pilot_past_its_limits(tmp_path):
    """Limits of 500 customers and 100 million: P1 at them (allowed), P2 one customer
    over, P3 a yuan over, P4 live a day past its end (raised the day after it), P5
    exited and still in business, P6 extended with a later end."""
    reg = Register()
    for p in ("P1", "P2", "P3", "P4", "P5", "P6"):
        reg.add("pilot", 0, pilot_id=p, ends_on=on(10 if p in ("P4", "P6") else 40))
    reg.add("pilot", 2, pilot_id="P5", status="EXITED")
    reg.add("pilot", 8, pilot_id="P6", status="EXTENDED", ends_on=on(40))
    for p, customers, volume in (("P1", 500, "100000000"), ("P2", 501, "1"),
                                 ("P3", 1, "100000000.01"), ("P4", 1, "1"), ("P5", 3, "1"),
                                 ("P6", 1, "1")):
        reg.add("pilot_activity", 3, pilot_id=p, customers=str(customers), volume=volume)
    reg.add("pilot_activity", 12, pilot_id="P1", customers="500", volume="100000000")
    raised = reg.raised(tmp_path, "pilot_limits")
    assert {k: v["day"] for k, v in raised.items()} == {"P2": 3, "P3": 3, "P4": 11, "P5": 3}
    assert raised["P5"]["business_while_not_live"] is True


def test_filings_that_contradict_themselves_are_refused_and_the_others_kept(tmp_path):
    rows = {"tech_application": [record("tech_application")],
            "tech_assessment": [record("tech_assessment", 1),
                                record("tech_assessment", 2, next_review="2025-12-31"),
                                record("tech_assessment", 3, inherent_risk="LOW")],
            "pilot": [record("pilot", 1), record("pilot", 2, pilot_id="PL2", ends_on=None),
                      record("pilot", 3, pilot_id="PL3", status="APPLIED", ends_on=None,
                             max_customers=None, max_volume=None)]}
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, [write_csv(tmp_path, f"{k}.csv", v)
                                       for k, v in rows.items()])
    finally:
        store.close()
    by = {r.summary.report_type: r for r in results}
    assert by["tech_assessment"].summary.accepted == 1 and by["pilot"].summary.accepted == 2
    failed = {(f, c) for r in results for _, f, c in
              r.feedback.select("report_id", "field", "code").rows()}
    assert failed == {("next_review", "E010"), ("residual_risk", "E010"), ("ends_on", "E010")}
