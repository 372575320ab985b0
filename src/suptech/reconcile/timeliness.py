"""Timeliness: each report type's deadline (`rules.Rules.deadline`: so many trading days
after its event's local day, at a local time, per market where it differs), and the
versions received after it: a late report (its NEW), or a late correction or
cancellation (a CORR or CANC received after the event's deadline)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import polars as pl

from suptech.model.calendar import DAY, add_trading_days, calendar, date_of, day_of
from suptech.reconcile.breaks import row
from suptech.reconcile.rules import Rules


def due_ns(rules: Rules, report_type: str, mic: str | None, day: int) -> int | None:
    """When a report of an event on local `day` (days since the epoch) in `mic` is due,
    ns UTC; None where the type has no deadline."""
    d = rules.deadline(report_type, mic)
    if d is None:
        return None
    on = add_trading_days(mic, date_of(day), d.days)
    return calendar(mic).day_start(day_of(on)) + d.minutes * 60 * 1_000_000_000


def _dues(rules: Rules, report_type: str, mics: list[str | None], first: int,
          last: int) -> ir.Table:
    rows = [(mic, day, due_ns(rules, report_type, mic, day))
            for mic in mics for day in range(first, last + 1)]
    return ibis.memtable(pl.DataFrame(rows, schema={"d_mic": pl.String, "d_day": pl.Int64,
                                                    "due": pl.Int64}, orient="row"))


def late(store, rules: Rules, report_type: str, start_ns: int | None = None,
         end_ns: int | None = None) -> ir.Table | None:
    """The versions of `report_type` with events in [start, end) received after their
    deadline, as breaks (LATE, LATE_CORRECTION); None where the type has none."""
    if not rules.timed(report_type):
        return None
    v = store.versions(report_type)
    if start_ns is not None:
        v = v.filter(v.ts_event >= start_ns)
    if end_ns is not None:
        v = v.filter(v.ts_event < end_ns)
    mic = v.mic if "mic" in v.columns else ibis.null("string")
    v = v.mutate(_mic=mic)
    mics = [m for m in pl.from_arrow(v.select("_mic").distinct().to_pyarrow())["_mic"]]
    named = [(m, calendar(m).offset_ns) for m in mics if m is not None]
    offset = v._mic.cases(*named, else_=calendar(None).offset_ns) if named \
        else ibis.literal(calendar(None).offset_ns)
    v = v.mutate(_day=((v.ts_event + offset) // DAY).cast("int64"))
    span = v.aggregate(first=v._day.min(), last=v._day.max()).to_pyarrow().to_pylist()[0]
    if span["first"] is None:
        return None
    dues = _dues(rules, report_type, mics, span["first"], span["last"])
    v = v.join(dues, [ibis.coalesce(v._mic, "") == ibis.coalesce(dues.d_mic, ""),
                      v._day == dues.d_day])
    v = v.filter(v.due.notnull() & (v.ts_received > v.due))
    venue = report_type == "trade"
    ids = dict(mic=v._mic, ts_event=v.ts_event, report_type=report_type, due_ns=v.due,
               received_ns=v.ts_received,
               trade_id=v.trade_id if "trade_id" in v.columns else None,
               order_id=v.order_id if "order_id" in v.columns else None,
               **{("venue" if venue else "member"): v.submitter,
                  ("venue_report_id" if venue else "member_report_id"): v.report_id})
    return row(v.filter(v.action == "NEW"), "LATE", "ts_received", **ids).union(
        row(v.filter(v.action != "NEW"), "LATE_CORRECTION", "ts_received", **ids))
