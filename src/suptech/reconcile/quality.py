"""Each reporting institution's data quality by day, after the data quality indicators
ESMA publishes for national authorities on transaction and trade reporting: how much of
what it sent was refused, came late, paired with the other side's report and agreed
with it, what it left out or reported beyond the venue's own record, how often it
corrected or cancelled. Written once: the page, the report card and the CLI read it.

One row per institution, day and indicator: `numerator` of `denominator` (the value is
their ratio). Days are local: the day received for rejections (a submission's), the
event's day for the rest (of a day's reports, how many were corrected, came late...)."""

from __future__ import annotations

import ibis
import polars as pl

from suptech.i18n import N_
from suptech.model.calendar import DEFAULT
from suptech.model.reports import REPORT_TYPES
from suptech.reconcile.rules import Rules

#: Each indicator: what it counts of what, and whether more is better.
INDICATORS = {
    "rejected": (N_("records rejected, of those sent"), False),
    "late": (N_("reports received after their deadline, of those due"), False),
    "late_corrections": (N_("corrections and cancellations after the deadline, of all"), False),
    "paired": (N_("executions paired with the other side's report, of those owed"), True),
    "matched": (N_("paired executions that agree field by field"), True),
    "under_reported": (N_("the venue's executions the member did not report"), False),
    "over_reported": (N_("fills the venue has no trade for, of those reported"), False),
    "corrections": (N_("reports corrected, of the day's reports"), False),
    "cancellations": (N_("reports cancelled, of the day's reports"), False),
}
COLUMNS = {"institution": pl.String, "day": pl.Int64, "indicator": pl.String,
           "numerator": pl.Int64, "denominator": pl.Int64}


def _day(ts) -> ibis.Value:
    return DEFAULT.local_day(ts).cast("int64")


def indicators(store, found, rules: Rules, start_ns: int | None = None,
               end_ns: int | None = None) -> pl.DataFrame:
    """The indicators (COLUMNS) of every institution over [start, end), from the store
    and `found` (`run.reconcile` over the same range)."""
    parts = [_rejections(store, start_ns, end_ns), _pairing(found.pairing),
             _versions(store, rules, found.breaks, start_ns, end_ns)]
    out = pl.concat([p.select(list(COLUMNS)).cast(COLUMNS) for p in parts])
    return out.filter(pl.col("denominator") > 0).with_columns(
        value=pl.col("numerator") / pl.col("denominator")).sort(
        ["institution", "indicator", "day"])


def _rejections(store, start_ns, end_ns) -> pl.DataFrame:
    subs = pl.from_arrow(store.submissions()).join(store.institutions(), on="batch_id",
                                                   how="left")
    if start_ns is not None:
        subs = subs.filter(pl.col("ts_received") >= start_ns)
    if end_ns is not None:
        subs = subs.filter(pl.col("ts_received") < end_ns)
    return subs.filter(pl.col("institution").is_not_null()).group_by(
        "institution", day=DEFAULT.local_day(pl.col("ts_received"))).agg(
        numerator=pl.col("rejected").sum(), denominator=pl.col("rows").sum()).with_columns(
        indicator=pl.lit("rejected"))


def _pairing(pairing: pl.DataFrame) -> pl.DataFrame:
    member = pairing.filter(pl.col("role") == "MEMBER")
    return pl.concat([
        pairing.group_by("institution", "day").agg(
            numerator=pl.col("paired").sum(), denominator=pl.col("owed").sum())
        .with_columns(indicator=pl.lit("paired")),
        pairing.group_by("institution", "day").agg(
            numerator=pl.col("matched").sum(), denominator=pl.col("paired").sum())
        .with_columns(indicator=pl.lit("matched")),
        # Every execution has a side reported: what the member owes and did not report,
        # the venue did; what it reported and is not paired, the venue did not.
        member.select("institution", "day", numerator=pl.col("owed") - pl.col("reported"),
                      denominator="owed", indicator=pl.lit("under_reported")),
        member.select("institution", "day", numerator=pl.col("reported") - pl.col("paired"),
                      denominator="reported", indicator=pl.lit("over_reported"))],
        how="diagonal")


def _versions(store, rules: Rules, breaks: pl.DataFrame, start_ns, end_ns) -> pl.DataFrame:
    """Each submitter's reports of a day corrected and cancelled, its late reports and
    late corrections of those due (by the event's day)."""
    counted, due = [], []
    for rt in REPORT_TYPES:
        v = store.versions(rt)
        if start_ns is not None:
            v = v.filter(v.ts_event >= start_ns)
        if end_ns is not None:
            v = v.filter(v.ts_event < end_ns)
        counted.append(v.group_by(institution=v.submitter, day=_day(v.ts_event)).aggregate(
            received=(v.action == "NEW").sum(), corr=(v.action == "CORR").sum(),
            canc=(v.action == "CANC").sum()))
        if rules.timed(rt):
            due.append(v.group_by(institution=v.submitter, day=_day(v.ts_event)).aggregate(
                new=(v.action == "NEW").sum(), amended=(v.action != "NEW").sum()))
    got = pl.from_arrow(ibis.union(*counted).to_pyarrow()).group_by("institution", "day").sum()
    frames = [got.select("institution", "day", numerator=pl.col(k), denominator="received",
                         indicator=pl.lit(name))
              for k, name in (("corr", "corrections"), ("canc", "cancellations"))]
    if due:
        owed = pl.from_arrow(ibis.union(*due).to_pyarrow()).group_by("institution", "day").sum()
        late = breaks.filter(pl.col("kind").is_in(["LATE", "LATE_CORRECTION"])).with_columns(
            institution=pl.coalesce("member", "venue"),
            day=DEFAULT.local_day(pl.col("ts_event"))).group_by(
            "institution", "day").agg(late=(pl.col("kind") == "LATE").sum(),
                                      late_corr=(pl.col("kind") == "LATE_CORRECTION").sum())
        owed = owed.join(late, on=["institution", "day"], how="left").fill_null(0)
        frames += [owed.select("institution", "day", numerator="late", denominator="new",
                               indicator=pl.lit("late")),
                   owed.select("institution", "day", numerator="late_corr",
                               denominator="amended", indicator=pl.lit("late_corrections"))]
    return pl.concat([f.cast({"numerator": pl.Int64, "denominator": pl.Int64}) for f in frames],
                     how="diagonal")
