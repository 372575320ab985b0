"""`reconcile`: a range's reports paired, matched and checked for time, as one break
list and each institution's counts (what the data-quality indicators read)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import polars as pl

from suptech.model.calendar import DEFAULT
from suptech.model.reports import REPORT_TYPES
from suptech.reconcile.breaks import COLUMNS, pair_breaks
from suptech.reconcile.pairing import matched, member_fills, pair, venue_sides
from suptech.reconcile.routes import route_breaks
from suptech.reconcile.rules import Rules, rules as rules_in_force
from suptech.reconcile.timeliness import late


@dataclass
class Reconciliation:
    #: `breaks.COLUMNS`: one row per break.
    breaks: pl.DataFrame
    #: institution, role (VENUE, MEMBER), day (local, days since the epoch), owed,
    #: reported, paired, matched: the executions naming it either side reported, those
    #: it reported, those paired with the other side's report, and those that agree.
    pairing: pl.DataFrame


def reconcile(store, start_ns: int | None = None, end_ns: int | None = None,
              rules: Rules | None = None) -> Reconciliation:
    r = rules or rules_in_force()
    venue = venue_sides(store, start_ns, end_ns)
    p, duplicates = pair(venue, member_fills(store, start_ns, end_ns))
    # Read twice (breaks, counts): computed once, kept for the run by the engine.
    p = matched(p, r.match).cache()
    try:
        a = store.view("account").select("account_id", "member_lei")
        venues = venue.group_by("mic").aggregate(venue=venue.submitter.min())
        parts = [pair_breaks(p, duplicates, a, venues), route_breaks(store, start_ns, end_ns)]
        parts += [t for rt in REPORT_TYPES
                  if (t := late(store, r, rt, start_ns, end_ns)) is not None]
        out = parts[0]
        for t in parts[1:]:
            out = out.union(t)
        breaks = pl.from_arrow(out.to_pyarrow()).cast(
            {c: (pl.Int64 if t == "int64" else pl.String) for c, t in COLUMNS.items()})
        counts = _counts(p, a, venues)
    finally:
        p.release()
    return Reconciliation(breaks.sort(["code", "ts_event", "trade_id", "order_id"],
                                      nulls_last=True), counts)


def _counts(p, accounts, venues) -> pl.DataFrame:
    """Per institution and role, the executions it was owed a report of (those either
    side reported that name it: a member's by its fills or its accounts, a venue's by its
    market), those it reported, paired and matched."""
    ok = p.paired & ~(p.bad_price | p.bad_quantity | p.bad_ts_event | p.bad_account_id
                      | p.bad_isin)
    p = p.mutate(ok=ok)
    p = p.left_join(accounts, p.v_account_id == accounts.account_id)
    p = p.left_join(venues, ibis.coalesce(p.v_mic, p.m_mic) == venues.mic)
    ts = ibis.coalesce(p.v_ts_event, p.m_ts_event)
    p = p.mutate(day=DEFAULT.local_day(ts).cast("int64"))
    sides = []
    for role, who, present in (("VENUE", ibis.coalesce(p.v_submitter, p.venue),
                                p.v_report_id.notnull()),
                               ("MEMBER", ibis.coalesce(p.m_submitter, p.member_lei),
                                p.m_report_id.notnull())):
        t = p.mutate(institution=who, present=present)
        sides.append(t.group_by(["institution", "day"]).aggregate(
            role=ibis.literal(role), owed=t.count(), reported=t.present.sum(),
            paired=t.paired.sum(), matched=t.ok.sum()))
    return pl.from_arrow(sides[0].union(sides[1]).to_pyarrow()).sort(
        ["role", "institution", "day"])


def record(store, start_ns: int | None = None, end_ns: int | None = None,
           rules: Rules | None = None) -> tuple[Reconciliation, pl.DataFrame]:
    """`reconcile` over the range, with each institution's data-quality indicators
    (`quality.indicators`), kept in the store as the answer for the days it covered (the
    range's, else those its reports fall on). Returns both."""
    import time

    from suptech.reconcile.quality import indicators

    r = rules or rules_in_force()
    seen = store.watermark()  # before reading: what comes in meanwhile is new next time
    found = reconcile(store, start_ns, end_ns, r)
    quality = indicators(store, found, r, start_ns, end_ns)
    breaks = found.breaks.with_columns(
        day=DEFAULT.local_day(pl.col("ts_event")))
    # The days it answers for: the range's, and any its rows fall on besides (a
    # rejection is dated by the day the file came in).
    days = pl.concat([breaks["day"], quality["day"], found.pairing["day"]]).drop_nulls()
    ends = [x for x in (days.min(), days.max()) if x is not None]
    if start_ns is not None:
        ends.append(DEFAULT.local_day(start_ns))
    if end_ns is not None:
        ends.append(DEFAULT.local_day(end_ns - 1))
    if not ends:  # nothing stored, nothing to say
        return found, quality
    first, last = min(ends), max(ends)
    run = time.time_ns()
    store.record_reconciliation(
        {"run_ns": run, "first_day": int(first), "last_day": int(last),
         "breaks": found.breaks.height, "watermark": seen},
        breaks.with_columns(run_ns=pl.lit(run)), quality.with_columns(run_ns=pl.lit(run)))
    return found, quality


def new_days(store, rules: Rules | None = None) -> list[tuple[int, int]]:
    """The local days (as [first, last] runs of days) that the reports received since
    the last reconciliation (after the latest receipt it saw) fall on: those of the
    types it pairs or times. What
    `suptech reconcile --new` reconciles again, so that new reports pair against what
    the store already holds."""
    r = rules or rules_in_force()
    runs = store.con.table("reconciliations")
    since = runs.watermark.max().execute()
    types = {"order_event", "trade"} | {rt for rt in REPORT_TYPES if r.timed(rt)}
    days = set()
    for rt in sorted(types):
        v = store.versions(rt)
        if since is not None:
            v = v.filter(v.ts_received > int(since))
        got = v.select(day=DEFAULT.local_day(v.ts_event).cast("int64")).distinct()
        days |= set(pl.from_arrow(got.to_pyarrow())["day"].to_list())
    spans: list[tuple[int, int]] = []
    for d in sorted(days):
        if spans and d == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], d)
        else:
            spans.append((d, d))
    return spans
