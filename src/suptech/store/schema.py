"""Table schemas of the report database, derived from the report types.

One table per report type holds every version ever accepted: the fields of the
specification, plus `ts_received` (when the platform learned it, int64 ns UTC like
`ts_event`: Spark's timestamps stop at microseconds), the `batch_id` of the file it came
in, and its `row` in that file, which orders versions received together.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import polars as pl

from suptech.model import alert
from suptech.model.reports import DECIMAL_PRECISION, DECIMAL_SCALE, Kind, ReportType

IBIS_TYPES: dict[Kind, dt.DataType] = {
    Kind.TIMESTAMP: dt.int64,
    Kind.DECIMAL: dt.Decimal(DECIMAL_PRECISION, DECIMAL_SCALE),
    Kind.INTEGER: dt.int64,
    Kind.DATE: dt.date,
    Kind.BOOLEAN: dt.boolean,
}

META = {"ts_received": dt.int64, "batch_id": dt.string, "row": dt.int64}

#: A version's identity within its report type.
KEY = ("submitter", "report_id")

SUBMISSIONS = ibis.schema({
    "batch_id": dt.string, "sha256": dt.string, "report_type": dt.string, "file": dt.string,
    "ts_received": dt.int64, "rows": dt.int64, "accepted": dt.int64, "rejected": dt.int64,
    "warnings": dt.int64, "owner": dt.string,
})

_ALERT_TYPES = {str: (dt.string, pl.String), int: (dt.int64, pl.Int64),
                float: (dt.float64, pl.Float64)}

#: Alerts raised by detectors (`suptech.model.alert`); one row per alert id.
ALERTS = ibis.schema({name: _ALERT_TYPES[t][0] for name, t in alert.TYPES.items()})


def alert_schema(names=None) -> dict[str, pl.DataType]:
    """The polars schema of alert frames (all the fields, or `names`)."""
    return {name: _ALERT_TYPES[alert.TYPES[name]][1] for name in (names or alert.TYPES)}

#: One row per scan: what range it looked at and how much data it had seen.
SCANS = ibis.schema({
    "scan_id": dt.string, "ts_started": dt.int64, "range_start": dt.int64,
    "range_end": dt.int64, "watermark": dt.int64, "detectors": dt.string,
    "new_alerts": dt.int64,
})

#: Reconciliation's results (`suptech.reconcile`), kept per run: each run's breaks and
#: data-quality indicators of the days it covered; a day's latest run is its answer.
RECONCILIATIONS = ibis.schema({"run_ns": dt.int64, "first_day": dt.int64,
                               "last_day": dt.int64, "breaks": dt.int64,
                               "watermark": dt.int64})  # the latest receipt it saw


def _reconciled() -> tuple[ibis.Schema, ibis.Schema]:
    from suptech.reconcile.breaks import COLUMNS
    from suptech.reconcile.quality import COLUMNS as QUALITY_COLUMNS

    types = {pl.String: dt.string, pl.Int64: dt.int64}
    breaks = ibis.schema({**COLUMNS, "day": dt.int64, "run_ns": dt.int64})
    quality = ibis.schema({**{k: types[v] for k, v in QUALITY_COLUMNS.items()},
                           "run_ns": dt.int64})
    return breaks, quality


BREAKS, QUALITY = _reconciled()

#: Which stream messages each submission holds (streaming ingest commits many at once),
#: and their rows in it: a redelivered message is recognised by its sequence number.
STREAM_LOG = ibis.schema({
    "stream": dt.string, "seq": dt.int64, "batch_id": dt.string, "first_row": dt.int64,
    "last_row": dt.int64,
})

FEEDBACK = ibis.schema({
    "batch_id": dt.string, "row": dt.int64, "report_id": dt.string, "field": dt.string,
    "code": dt.string, "message": dt.string,
})


def report_schema(rt: ReportType) -> ibis.Schema:
    fields = {f.name: IBIS_TYPES.get(f.kind, dt.string) for f in rt.all_fields}
    return ibis.schema({**fields, **META})


def timestamp_columns(rt: ReportType) -> list[str]:
    return [f.name for f in rt.all_fields if f.kind is Kind.TIMESTAMP] + ["ts_received"]


def storage_schema(schema: ibis.Schema) -> pl.Schema:
    """The polars types a table's rows have when written to the store's Parquet files."""
    frame = pl.from_arrow(schema.to_pyarrow().empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.schema
