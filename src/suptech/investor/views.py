"""What the dashboard shows of investor protection in one jurisdiction: each institution's
sales and how many broke the suitability rule, and its complaints against their clock;
one complaint with its steps. The rule and the clock are `suitability` and `complaints`:
what the pages count is what raises the alerts."""

from __future__ import annotations

import datetime as dt
import statistics

import ibis
import polars as pl

from suptech.investor.complaints import clock
from suptech.investor.data import investor_data
from suptech.investor.suitability import CATEGORIES, LEVELS, needs_recording, rank, unsuitable
from suptech.model.calendar import DAY, DEFAULT, day_of
from suptech.server.scope import parties_of, reports_in

def _frame(t) -> pl.DataFrame:
    return pl.from_arrow(t.to_pyarrow())


def complaints(store, jurisdiction: str, on: dt.date) -> pl.DataFrame:
    """The jurisdiction's complaints with their clock on `on`: complaint_id, institution,
    received, state, deadline, extensions, decided, overdue, late."""
    c = _frame(reports_in(store, "complaint", jurisdiction).select(
        "complaint_id", "member_lei", "ts_event", "category"))
    e = _frame(reports_in(store, "complaint_event", jurisdiction).select(
        "complaint_id", "ts_event", "event"))
    steps: dict[str, list] = {}
    for cid, ts, kind in e.iter_rows():
        steps.setdefault(cid, []).append((DEFAULT.local_date(ts), kind))
    rows = []
    for cid, member, ts, category in c.iter_rows():
        k = clock(DEFAULT.local_date(ts), steps.get(cid, []), on)
        rows.append({"complaint_id": cid, "institution": member, "category": category,
                     "received": k.received, "state": k.state, "deadline": k.deadline,
                     "extensions": k.extensions, "decided": k.decided,
                     "overdue": k.overdue(on), "late": k.late})
    return pl.DataFrame(rows, schema={
        "complaint_id": pl.String, "institution": pl.String, "category": pl.String,
        "received": pl.Date, "state": pl.String, "deadline": pl.Date, "extensions": pl.Int64,
        "decided": pl.Date, "overdue": pl.Boolean, "late": pl.Boolean}).sort(
        ["overdue", "received"], descending=[True, True])


def institutions(store, jurisdiction: str, on: dt.date) -> pl.DataFrame:
    """Per institution: sales, those above the investor's level, those unsuitable (the
    rule's), high-risk ones unrecorded; complaints, open, overdue, decided late, and the
    median days from receipt to decision."""
    d = investor_data(store, materialize=False)
    s = d.sales.filter(d.sales.party_id.isin(parties_of(store, jurisdiction).party_id))
    s = s.filter(s.level.notnull())
    s = s.mutate(bad=unsuitable(s.level, s.category, s.lowest, s.initiated, s.warning_ref,
                                s.confirmation_ref).notnull(),
                 unrecorded=needs_recording(s.level, s.category) & s.recording_id.isnull())
    sales = _frame(s.group_by("member_lei").aggregate(
        sales=s.count(), unsuitable=s.bad.sum(), unrecorded=s.unrecorded.sum()))
    sales = sales.rename({"member_lei": "institution"})
    c = complaints(store, jurisdiction, on)
    took = c.filter(pl.col("decided").is_not_null()).with_columns(
        days=(pl.col("decided") - pl.col("received")).dt.total_days())
    per = c.group_by("institution").agg(
        complaints=pl.len(), open=(pl.col("state") == "OPEN").sum(),
        overdue=pl.col("overdue").sum(), late=pl.col("late").sum())
    median = {i: float(statistics.median(g["days"].to_list()))
              for (i,), g in took.group_by(["institution"])}
    out = sales.join(per, on="institution", how="full", coalesce=True).fill_null(0)
    return out.with_columns(
        rate=pl.col("unsuitable") / pl.col("sales").clip(lower_bound=1),
        median_days=pl.col("institution").replace_strict(median, default=None,
                                                         return_dtype=pl.Float64)) \
        .sort("institution")


def complaint(store, jurisdiction: str, cid: str, on: dt.date) -> dict | None:
    """One complaint of the jurisdiction: its report, its steps, its clock and the sale ids
    of what its complainant bought at the institution; None where there is none (or it
    is another jurisdiction's)."""
    c = reports_in(store, "complaint", jurisdiction)
    row = _frame(c.filter(c.complaint_id == cid)).to_dicts()
    if not row:
        return None
    e = reports_in(store, "complaint_event", jurisdiction)
    steps = _frame(e.filter(e.complaint_id == cid).order_by("ts_event").select(
        "ts_event", "event", "extended_to", "notice_ref", "decision", "sale_id", "alert_id"))
    k = clock(DEFAULT.local_date(row[0]["ts_event"]), [(DEFAULT.local_date(t), ev) for t, ev in
                                         steps.select("ts_event", "event").iter_rows()], on)
    steps = steps.with_columns(day=pl.col("ts_event").map_elements(DEFAULT.local_date, return_dtype=pl.Date))
    s = store.view("product_sale")
    bought = s.filter((s.party_id == row[0]["party_id"]) & (s.member_lei == row[0]["member_lei"]))
    return {"complaint": row[0], "steps": steps.drop("ts_event").to_dicts(), "clock": k,
            "overdue": k.overdue(on), "sales": _frame(bought.select("sale_id"))["sale_id"].to_list()}


def profile(store, jurisdiction: str, party_id: str, on: dt.date) -> dict | None:
    """One investor of the jurisdiction, declared beside observed as of `on`: their
    assessments, the profile `mismatch` reads (None: no rated purchase), their purchases
    with the rule's verdict on each, and their complaints; None where the investor is
    not the jurisdiction's."""
    from suptech.investor.mismatch import MismatchParams
    from suptech.investor.profile import profiles

    if not _frame(parties_of(store, jurisdiction).filter(
            lambda p: p.party_id == party_id)).height:
        return None
    d = investor_data(store, end_ns=DEFAULT.day_start(day_of(on)) + DAY,
                      materialize=False)
    d.sales = d.sales.filter(d.sales.party_id == party_id)
    # The sales are the investor's alone; the market buys profiles reads are everyone's.
    found = profiles(d, MismatchParams().margin_level)
    found = _frame(found.filter(found.party_id == party_id).drop("evidence")).to_dicts()
    s = d.sales
    # The rule's verdict, or, above the category and allowed, the exception it rests on.
    verdict = ibis.coalesce(unsuitable(s.level, s.category, s.lowest, s.initiated,
                                       s.warning_ref, s.confirmation_ref),
                            ibis.ifelse(rank(s.level, LEVELS) > rank(s.category, CATEGORIES),
                                        "ALLOWED_EXCEPTION", None))
    sales = _frame(s.mutate(verdict=verdict, amount=s.amount.cast("float64"))
                   .order_by("ts_event").select("sale_id", "ts_event", "isin", "level",
                                                "amount", "category", "member_lei",
                                                "salesperson_id", "verdict"))
    a = store.view("investor_assessment")
    c = store.view("complaint")
    return {"party_id": party_id, "profile": found[0] if found else None,
            "sales": sales.with_columns(day=pl.col("ts_event").map_elements(
                DEFAULT.local_date, return_dtype=pl.Date)).drop("ts_event").to_dicts(),
            "assessments": _frame(a.filter(a.party_id == party_id).order_by(
                ["assessed_on", "ts_event"]).select(
                "category", "lowest_category", "assessed_on", "valid_until", "age_band"))
            .to_dicts(),
            "complaints": _frame(c.filter(c.party_id == party_id).select(
                "complaint_id", "member_lei", "category")).to_dicts()}


def evidence(store, alert: dict) -> dict[str, pl.DataFrame]:
    """What an investor-protection alert rests on, by the report ids it names: its sales
    and the assessments of their investors, or its complaint and the complaint's steps."""
    ids = [i for i in (alert.get("evidence") or "").split(";") if i]
    out = {}
    s = store.view("product_sale")
    sales = _frame(s.filter(s.report_id.isin(ids)).select(
        "ts_event", "sale_id", "party_id", "isin", "member_lei", "amount",
        "product_risk_level", "investor_initiated", "warning_ref", "confirmation_ref",
        "recording_id", "salesperson_id", "channel", "campaign_id"))
    if sales.height:
        a = store.view("investor_assessment")
        out["sales"] = sales
        out["assessments"] = _frame(a.filter(a.party_id.isin(
            sales["party_id"].unique().to_list())).order_by(["party_id", "assessed_on"]).select(
            "party_id", "category", "lowest_category", "assessed_on", "valid_until",
            "age_band"))
    c = store.view("complaint")
    complained = _frame(c.filter(c.report_id.isin(ids)).select(
        "ts_event", "complaint_id", "party_id", "member_lei", "category", "description"))
    if complained.height:
        e = store.view("complaint_event")
        out["complaints"] = complained
        out["steps"] = _frame(e.filter(e.complaint_id.isin(
            complained["complaint_id"].to_list())).order_by("ts_event").select(
            "ts_event", "complaint_id", "event", "extended_to", "notice_ref", "decision"))
    return out
