"""What the supervisor sees of the new-technology risk register and the innovation pilots
on a day: each application with its cover, its reassessment and its serious incidents,
summed per institution and per technology; the incidents month by month; each pilot
with its limits, its latest activity, complaints and incidents; the public list.

The measures are the register's indicators' own levels (`suptech.risk.levels`): what
the page shows is what raises the alerts.
"""

from __future__ import annotations

import json

import polars as pl

from suptech.model.calendar import date_of
from suptech.risk.data import in_force, risk_data
from suptech.risk.levels import day_range, indicators, levels
from suptech.risk.register import applications

REGISTER = ("tech_coverage", "tech_review", "tech_incidents")
#: The public list's columns: what a pilot was admitted to do, not how it is doing.
PUBLIC = ["pilot_id", "name", "institution_lei", "technology", "business", "status",
          "max_customers", "max_volume", "currency", "ends_on", "conditions"]


def _facts(found: pl.DataFrame, indicator: str, **keys: str) -> pl.DataFrame:
    """subject and the named values of an indicator's explanations (`keys`: column ->
    key in the explanation)."""
    rows = found.filter(pl.col("indicator") == indicator)
    parsed = [json.loads(w) for w in rows["why"]]
    return pl.DataFrame({"subject": rows["subject"],
                         **{col: [p.get(k) for p in parsed] for col, k in keys.items()}},
                        schema_overrides={col: pl.Float64 for col in keys
                                          if col not in ("residual_risk",)})


def _frame(t) -> pl.DataFrame:
    return pl.from_arrow(t.to_pyarrow())


def register_view(store, day: int) -> dict[str, pl.DataFrame]:
    """`applications` (one row each, live on `day`), `institutions` and `technologies`
    (their sums), `incidents` (per month and technology, the year before `day`)."""
    chosen = [i for i in indicators() if i.id in REGISTER]
    found = levels(store, day, day, chosen)
    r = risk_data(store, *day_range(day, day))
    try:
        days = r.days("tech_application")
        apps = applications(r, days)
        apps = _frame(apps.filter(apps.day == day).select(
            "application_id", "institution_lei", "technology", "business", "customers",
            "currency", "live_from"))
        inc = r.reports("tech_incident")
        inc = inc.filter((inc.since > day - 366) & (inc.since <= day))
        incidents = _frame(inc.select("application_id", "since", "severity"))
        tech = _frame(r.reports("tech_application").select("application_id", "technology")
                      .distinct())
    finally:
        r.release()
    cover = _facts(found, "tech_coverage", exposure="exposure", covered="covered",
                   coverage="coverage")
    review = _facts(found, "tech_review", days_overdue="days_overdue",
                    residual_risk="residual_risk")
    serious = _facts(found, "tech_incidents", serious="serious")
    grace = next(i for i in chosen if i.id == "tech_review").rules.grace_days
    t = apps.rename({"application_id": "subject"}).join(cover, on="subject", how="left") \
        .join(review, on="subject", how="left").join(serious, on="subject", how="left") \
        .with_columns(pl.col("serious").fill_null(0),
                      overdue=pl.col("days_overdue").fill_null(0) > grace) \
        .rename({"subject": "application_id"}).sort("application_id")

    def summed(by: str) -> pl.DataFrame:
        return t.group_by(by).agg(
            applications=pl.len(), customers=pl.col("customers").sum(),
            exposure=pl.col("exposure").sum(), covered=pl.col("covered").sum(),
            overdue=pl.col("overdue").sum(), serious=pl.col("serious").sum()) \
            .with_columns(coverage=pl.col("covered") / pl.col("exposure")).sort(by)

    monthly = incidents.join(tech, on="application_id", how="left").with_columns(
        month=pl.from_epoch(pl.col("since"), "d").dt.strftime("%Y-%m")) \
        .group_by(["month", "technology"]).agg(incidents=pl.len(),
                                               serious=pl.col("severity").is_in(
                                                   ["HIGH", "CRITICAL"]).sum()) \
        .sort(["month", "technology"])
    return {"applications": t, "institutions": summed("institution_lei"),
            "technologies": summed("technology"), "incidents": monthly}


def pilots_view(store, day: int) -> pl.DataFrame:
    """Every pilot as it stands on `day`: its admission, its latest activity and share of
    its limits, whether it is in breach, its complaints and incidents so far."""
    chosen = [i for i in indicators() if i.id == "pilot_limits"]
    found = levels(store, day, day, chosen)
    r = risk_data(store, *day_range(day, day))
    try:
        days = r.days("pilot")
        days = days.filter(days.day == day)
        p = _frame(in_force(r.reports("pilot"), ["pilot_id"], days).select(*PUBLIC))
        a = _frame(in_force(r.reports("pilot_activity"), ["pilot_id"], days).select(
            "pilot_id", "customers", "volume"))
        counts = []
        for kind in ("complaint", "tech_incident"):
            t = r.reports(kind)
            t = t.filter(t.pilot_id.notnull() & (t.since <= day))
            counts.append(_frame(t.group_by("pilot_id").aggregate(n=t.count()))
                          .rename({"n": f"{kind}s"}))
    finally:
        r.release()
    level = found.select(pilot_id="subject", level="level",
                         breach=pl.col("level") > 1)
    out = p.join(a, on="pilot_id", how="left").join(level, on="pilot_id", how="left")
    for c in counts:
        out = out.join(c, on="pilot_id", how="left")
    return out.with_columns(pl.col("complaints", "tech_incidents").fill_null(0),
                            pl.col("breach").fill_null(False)).sort("pilot_id")


def public_pilots(store, day: int) -> pl.DataFrame:
    """The pilots live on `day` (live or extended, not past their end), as admitted:
    the list the supervisor publishes."""
    every = pilots_view(store, day)
    date = date_of(day)
    return every.filter(pl.col("status").is_in(["LIVE", "EXTENDED"])
                        & (pl.col("ends_on") >= date)).select(PUBLIC)
