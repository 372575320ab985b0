"""Streaming market monitoring: detectors fed each committed batch as it lands.

`Monitor.on_commit` takes the rows of one committed submission and returns the alerts
they complete, in the alerts table's format (plus `regions`: the regions of the alert's
accounts' owners, the subjects it is published on). The consumer runs it in a process
of its own (`suptech.stream.monitor.process`).
"""

from __future__ import annotations

import time

import polars as pl

from suptech.model.calendar import DAY, DEFAULT
from suptech.detect.run import default_case
from suptech.model import alert
from suptech.store.schema import alert_schema
# Importing the modules registers the streaming detectors.
from suptech.stream.monitor import layering, marking_close, ramping, spoofing, wash_trade  # noqa: F401
from suptech.stream.monitor.base import LATENESS, REGISTRY, Case, Reference, StreamDetector

REFERENCE_TYPES = ("instrument", "party", "account")
#: The columns the streaming detectors read, of each report type they read: all that
#: goes to their process (a third of what is stored, and of the cost of sending it).
COLUMNS = {
    "order_event": ("action", "ts_event", "order_id", "event_type", "isin", "account_id",
                    "side", "order_type", "price", "quantity", "time_in_force"),
    "trade": ("action", "ts_event", "trade_id", "isin", "buy_account_id", "sell_account_id",
              "buy_order_id", "sell_order_id", "aggressor_side"),
}
DETECTED = tuple(COLUMNS)


def with_time_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """`day`, `tod` (time of day) and `tt` as `suptech.detect.market.data` computes
    them, in event-time order."""
    tod = pl.col("tod")
    offset = DEFAULT.offset_ns
    (lunch_start, lunch_end), = DEFAULT.breaks
    return rows.with_columns(
        day=(pl.col("ts_event") + offset) // DAY,
        tod=(pl.col("ts_event") + offset) % DAY,
    ).with_columns(
        tt=pl.col("ts_event") - pl.when(tod >= lunch_end).then(lunch_end - lunch_start)
        .when(tod >= lunch_start).then(tod - lunch_start).otherwise(0),
    ).sort("ts_event", maintain_order=True)


class Monitor:
    def __init__(self, ref: Reference, detectors: list[str] | None = None,
                 run_id: str | None = None, lateness: int = LATENESS):
        """`ref`: the register as read from the store (`Reference.load`); `lateness`: ns of
        event time a report may arrive behind a later one (LATENESS)."""
        self.ref = ref
        shared: dict = {}
        self.detectors: list[StreamDetector] = [
            REGISTRY[d](self.ref, shared=shared, lateness=lateness)
            for d in (detectors or REGISTRY)]
        self.raised: set[tuple] = set()
        self.batch = 0
        self.watermark = 0
        self.run_id = run_id or f"STREAM-{time.time_ns()}"

    def update_reference(self, ref: Reference) -> None:
        """The register as read again after reference data was committed."""
        self.ref.__dict__.update(ref.__dict__)  # the detectors hold this object

    def on_commit(self, type_name: str, rows: pl.DataFrame) -> pl.DataFrame:
        """The new alerts that a committed batch of `type_name` reports completes."""
        if type_name not in DETECTED or rows.is_empty():
            return self.alerts([])
        self.batch += 1
        rows = rows.select(COLUMNS[type_name]).filter(pl.col("action") == "NEW")
        found: list[tuple[StreamDetector, Case]] = []
        if type_name == "order_event":
            lots = pl.col("isin").replace_strict(self.ref.lot_size, default=None,
                                                 return_dtype=pl.Float64)
            rows = with_time_columns(rows.with_columns(
                lots=pl.col("quantity").cast(pl.Float64) / lots).filter(
                pl.col("lots").is_not_null()))
            for d in self.detectors:
                found += [(d, c) for c in d.orders(rows, self.batch)]
        else:
            rows = with_time_columns(rows.filter(pl.col("isin").is_in(list(self.ref.lot_size))))
            for d in self.detectors:
                found += [(d, c) for c in d.trades(rows, self.batch)]
        if rows.height:
            self.watermark = max(self.watermark, int(rows["ts_event"].max()))
        for d in self.detectors:
            found += [(d, c) for c in d.tick(self.watermark, self.batch)]
        return self.alerts(found)

    def alerts(self, found: list[tuple[StreamDetector, Case]]) -> pl.DataFrame:
        """One alert per detector, accounts, instrument and day: the first time it is found."""
        rows = []
        for d, c in found:
            key = (d.id, c.key or (c.accounts, c.isin, c.day))
            if key in self.raised:
                continue
            self.raised.add(key)
            accounts = ";".join(c.accounts)
            rows.append({
                "alert_id": alert.alert_id(d.id, default_case(accounts, c.isin, c.window_start)),
                "detector": d.id, "typology": d.typology, "score": round(c.score, 4),
                "account_ids": accounts, "isin": c.isin, "window_start": c.window_start,
                "window_end": c.window_end, "evidence": ";".join(sorted(set(c.evidence))),
                "detector_version": d.batch.version, "parameters": d.params.as_json(),
                "explanation": None, "scan_id": self.run_id,
                "regions": sorted({self.ref.region[a] for a in c.accounts
                                   if a in self.ref.region}),
            })
        schema = alert_schema() | {"regions": pl.List(pl.String)}
        return pl.DataFrame(rows, schema=schema)

