"""E006: an event timestamp in the future or before the platform's retention start."""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.model.findings import Code


@register
class EventTime(Check):
    codes = (Code.E006,)

    def failures(self, batch):
        ts = pl.col("ts_event")
        yield Failure(Code.E006, "ts_event", ts > batch.now_ns,
                      message("ts_event is in the future"))
        yield Failure(Code.E006, "ts_event", ts < batch.retention_start_ns,
                      message("ts_event is before the retention start "
                              f"({batch.retention_start_label})"))
