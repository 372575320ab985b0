"""COMPLAINT_OVERDUE: a complaint still undecided past its deadline (`complaints.clock`:
15 working days, 30 or 60 after extensions noticed in time), as of the end of the run
(today, for a run without an end). One case a complaint; it names the complainant's
accounts at the institution and the complaint and its events as evidence."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import polars as pl

from suptech.detect.base import HIT_SCHEMA, Detector, Params, register
from suptech.investor.complaints import clock
from suptech.model.calendar import DAY, DEFAULT, day_of

@dataclass(frozen=True)
class OverdueParams(Params):
    working_days: bool = True


@register
class ComplaintOverdue(Detector):
    id = "complaint_overdue"
    typology = "COMPLAINT_OVERDUE"
    domain = "investor"
    calibrated = False
    Params = OverdueParams

    def hits(self, d) -> ir.Table:
        on = DEFAULT.local_date(d.end_ns - 1) if d.end_ns is not None else dt.date.today()
        complaints = pl.from_arrow(d.store.view("complaint", end_ns=d.end_ns).select(
            "complaint_id", "report_id", "ts_event", "party_id", "member_lei").to_pyarrow())
        events = pl.from_arrow(d.store.view("complaint_event", end_ns=d.end_ns).select(
            "complaint_id", "report_id", "ts_event", "event").to_pyarrow())
        accounts = pl.from_arrow(d.store.view("account").select(
            "account_id", "owner_party_id", "member_lei").to_pyarrow())
        steps = {}
        for cid, rid, ts, kind in events.iter_rows():
            steps.setdefault(cid, []).append((DEFAULT.local_date(ts), kind, rid))
        rows = []
        for cid, rid, ts, party, member in complaints.iter_rows():
            mine = steps.get(cid, [])
            c = clock(DEFAULT.local_date(ts), [(day, kind) for day, kind, _ in mine], on,
                      self.params.working_days)
            if not c.overdue(on):
                continue
            owned = accounts.filter((pl.col("owner_party_id") == party)
                                    & (pl.col("member_lei") == member))["account_id"]
            late = (on - c.deadline).days
            due = DEFAULT.day_start(day_of(c.deadline) + 1)
            rows.append({
                "account_ids": owned.to_list(), "isin": None, "window_start": due,
                "window_end": DEFAULT.day_start(day_of(on)) + DAY - 1,
                "score": min(1.0, 0.6 + 0.01 * late),
                "evidence": [rid] + [r for _, _, r in mine], "case": cid,
                "explanation": json.dumps({  # the subject first, as `why` puts it
                    "subject": cid, "institution": member, "received": str(c.received),
                    "deadline": str(c.deadline), "extensions": c.extensions,
                    "days_late": late, "as_of": str(on)})})
        schema = {**HIT_SCHEMA, "case": "string", "explanation": "string"}
        if not rows:
            return ibis.memtable(pl.DataFrame(schema={
                "account_ids": pl.List(pl.String), "isin": pl.String,
                "window_start": pl.Int64, "window_end": pl.Int64, "score": pl.Float64,
                "evidence": pl.List(pl.String), "case": pl.String,
                "explanation": pl.String}))
        return ibis.memtable(pl.DataFrame(rows, schema_overrides={
            "account_ids": pl.List(pl.String), "isin": pl.String,
            "evidence": pl.List(pl.String)})).cast(schema)
