"""Scans: run the detectors over the days that have new data, keep the new alerts.

A scan with no range looks at the local trading days of the reports received since the
previous scan (plus the day before each, which some detectors need as context). An
alert's id is derived from its detector, accounts, instrument and start, so a case
found again by a later scan is not alerted twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl

from suptech.detect.base import Detector
from suptech.model.calendar import DAY, DEFAULT
from suptech.detect.run import run


@dataclass
class ScanResult:
    scan_id: str
    range_start: int | None
    range_end: int | None
    found: int  # alerts found in the range, old and new
    new: pl.DataFrame  # alerts not raised before
    #: Alerts stored before (by the stream, as a case grew) that this scan found fuller.
    completed: pl.DataFrame | None = None


def _new_days(store, since: int) -> tuple[int, int] | None:
    """[start, end) in ns covering every local day with order, trade or payment reports
    received after `since`, starting a day early for context (and so covering a
    venue whose day starts a few hours from Shanghai's)."""
    days: set[int] = set()
    for name in ("order_event", "trade", "payment"):
        t = store.versions(name)
        fresh = t.filter(t.ts_received > since)
        day = ((fresh.ts_event + DEFAULT.offset_ns) // DAY).name("day")
        days |= set(fresh.select(day).distinct().to_pyarrow()["day"].to_pylist())
    if not days:
        return None
    return (min(days) - 1) * DAY - DEFAULT.offset_ns, (max(days) + 1) * DAY - DEFAULT.offset_ns


def scan(store, detectors: list[Detector] | None = None, start_ns: int | None = None,
         end_ns: int | None = None) -> ScanResult:
    started = time.time_ns()
    scan_id = f"SCAN-{started}"
    watermark = store.watermark()
    if start_ns is None and end_ns is None:
        previous = store.scans()
        since = int(previous["watermark"].max()) if previous.height else -1
        days = _new_days(store, since)
        if days is None:  # nothing new since the last scan
            result = ScanResult(scan_id, None, None, 0, run(store, [], 0, 0).head(0))
            _record(store, result, started, watermark, detectors)
            return result
        start_ns, end_ns = days
    found = run(store, detectors, start_ns, end_ns).with_columns(
        pl.lit(scan_id).alias("scan_id"))
    # A case the stream stored while it was still growing, or whose later evidence a
    # scan over a wider range sees: the fuller version is stored too, under the same id.
    stored = store.news(found)
    known = store.alert_ids(stored["alert_id"])
    new = stored.filter(~pl.col("alert_id").is_in(known.implode()))
    completed = stored.filter(pl.col("alert_id").is_in(known.implode()))
    result = ScanResult(scan_id, start_ns, end_ns, found.height, new, completed)
    _record(store, result, started, watermark, detectors)
    return result


def _record(store, result: ScanResult, started: int, watermark: int,
            detectors: list[Detector] | None) -> None:
    names = ",".join(d.id for d in detectors) if detectors else "all"
    store.record_scan({
        "scan_id": result.scan_id, "ts_started": started,
        "range_start": result.range_start, "range_end": result.range_end,
        "watermark": watermark, "detectors": names, "new_alerts": result.new.height,
    }, pl.concat([result.new, result.completed]) if result.completed is not None
        else result.new)
