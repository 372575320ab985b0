"""The bitemporal report database.

Every accepted version of every report is kept; nothing is updated or deleted. The
current view of a report type is, per (submitter, report_id), its latest version unless
that is a CANC; the view "as known at T" is the same over versions received by T. All
queries are Ibis expressions, so the same code runs on each engine in `engines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import polars as pl
import pyarrow as pa

from suptech.model.reports import REPORT_TYPES, report_type
from suptech.store.engines import Engine, connect
from suptech.store.lookups import Lookups
from suptech.store.schema import (
    ALERTS, BREAKS, FEEDBACK, KEY, QUALITY, RECONCILIATIONS, SCANS, STREAM_LOG, SUBMISSIONS,
    report_schema, timestamp_columns)

DEFAULT_DATA_DIR = "./suptech-data"


@dataclass(frozen=True)
class Submission:
    batch_id: str
    sha256: str
    report_type: str
    file: str
    ts_received: int
    rows: int
    accepted: int
    rejected: int
    warnings: int
    owner: str | None = None  # the LEI that sent it over the API; None from the CLI


def fullest(alerts: pl.DataFrame) -> pl.DataFrame:
    """Per alert id, the version with the most evidence, then the latest window's end.

    A case only grows as data arrives (evidence is added, never taken away), so the
    fullest version is the latest, on every engine, without an order of insertion."""
    if alerts.is_empty():
        return alerts
    size = pl.col("evidence").fill_null("").str.count_matches(";")
    return alerts.sort([size, "window_end", "score"], descending=True, nulls_last=True) \
        .unique("alert_id", keep="first", maintain_order=True)


class Store(Lookups):
    def __init__(self, engine: Engine):
        self.engine = engine
        self.con = engine.con
        self._has_rows: set[str] = set()
        self._grown: set[str] = set()  # types committed to since the last `compact`
        existing = set(self.con.list_tables())
        for name, schema in {"submissions": SUBMISSIONS, "feedback": FEEDBACK,
                             "alerts": ALERTS, "scans": SCANS, "stream_log": STREAM_LOG,
                             "reconciliations": RECONCILIATIONS, "breaks": BREAKS,
                             "quality": QUALITY}.items():
            if name not in existing:
                engine.create_table(name, schema)
        for name, rt in REPORT_TYPES.items():
            engine.create_versions(name, report_schema(rt), exists=name in existing)
        if engine.exclusive:  # the only writer: files of a killed commit may go
            for name in REPORT_TYPES:
                engine.remove_unlisted(name)

    def cursor(self) -> "Store":
        """The same database over a connection of its own, for another thread: a DuckDB
        connection serves one thread at a time, while the database takes concurrent
        transactions (the stream's consumer stores alerts beside its commits)."""
        other = object.__new__(Store)
        other.engine = self.engine.cursor()
        other.con = other.engine.con
        other._has_rows = set()
        other._grown = set()
        return other

    # ---- reading -------------------------------------------------------------------

    def versions(self, type_name: str) -> ir.Table:
        """Every committed version of a report type, corrections and cancels included."""
        return self._committed(self.con.table(report_type(type_name).name))

    def _committed(self, t: ir.Table) -> ir.Table:
        """`t`'s rows of committed files. Applied after a query's own filters, which the
        Parquet reader uses to skip files; this one it cannot. Where the engine's tables
        read committed files only, `t` itself."""
        if self.engine.lists_committed:
            return t
        return t.filter(t.batch_id.isin(self.con.table("submissions").batch_id))

    def _latest(self, t: ir.Table) -> ir.Table:
        rank = ibis.row_number().over(
            group_by=list(KEY), order_by=[ibis.desc(t.ts_received), ibis.desc(t.row)])
        return t.mutate(_version_rank=rank).filter(lambda x: x._version_rank == 0) \
            .drop("_version_rank")

    def view(self, type_name: str, as_of_ns: int | None = None, start_ns: int | None = None,
             end_ns: int | None = None) -> ir.Table:
        """The reports as known now, or as known at `as_of_ns` (ns since epoch, UTC); with
        `start_ns` or `end_ns`, those whose latest version's ts_event is in [start, end).

        A range reads only the versions that can matter, so that a day's scan costs the
        same however long the history: the versions in the range, and the corrections
        and cancellations outside it (few). A report whose latest version is in the
        range is found, with nothing later; one whose latest version is out of it is
        dropped by the range, if it is a CORR or a CANC (read), and if it is its NEW,
        the report has no other version (a report has one NEW, then amendments).
        Files of other days are skipped on their Parquet statistics. And a report with
        no CORR or CANC is its one NEW, its latest: the latest is picked among versions
        only for the few amended reports, not by a window over every version.
        """
        t = self.con.table(report_type(type_name).name)
        if as_of_ns is not None:
            t = t.filter(t.ts_received <= as_of_ns)
        ranged = start_ns is not None or end_ns is not None
        inside = self._committed(within(t, start_ns, end_ns) if ranged else t)
        amended = self._committed(t.filter(t.action != "NEW"))
        keys = amended.select(*KEY).distinct()
        plain = inside.anti_join(keys, [inside[k] == keys[k] for k in KEY])
        mine = inside.semi_join(keys, [inside[k] == keys[k] for k in KEY])
        if ranged:
            mine = mine.union(amended.filter(~within(amended, start_ns, end_ns, True)))
        latest = self._latest(mine)
        latest = latest.filter(latest.action != "CANC")
        return plain.union(within(latest, start_ns, end_ns) if ranged else latest)

    def query(self, type_name: str, as_of_ns: int | None = None) -> pa.Table:
        """The view as Arrow, timestamps typed, in a stable order."""
        expr = self.view(type_name, as_of_ns).order_by(list(KEY))
        if self._is_empty(type_name):  # no query (on Spark, half a second each)
            return to_user_table(expr.schema().to_pyarrow().empty_table(), type_name)
        return to_user_table(expr.to_pyarrow(), type_name)

    # ---- submissions -----------------------------------------------------------------

    def find_submission(self, sha256: str, type_name: str,
                        owner: str | None = None) -> Submission | None:
        s = self.con.table("submissions")
        same_owner = s.owner.isnull() if owner is None else s.owner == owner
        rows = s.filter([s.sha256 == sha256, s.report_type == type_name, same_owner]).to_pyarrow()
        return Submission(**rows.to_pylist()[0]) if rows.num_rows else None

    def find_submissions(self, shas: list[str]) -> list[Submission]:
        """The submissions of any of these bytes (any report type, any sender)."""
        found = self.engine.rows_in("submissions", "sha256", shas)
        return [Submission(**r) for r in found.select(SUBMISSIONS.names).to_pylist()]

    def feedback_of(self, batch_id: str) -> pl.DataFrame:
        f = self.con.table("feedback")
        rows = f.filter(f.batch_id == batch_id).drop("batch_id").to_pyarrow()
        frame = pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        return frame.sort(["row", "code", "field"], maintain_order=True)

    def submissions(self) -> pa.Table:
        return self.con.table("submissions").order_by("ts_received").to_pyarrow()

    def feedback_counts(self) -> pl.DataFrame:
        """Feedback rows per submission and code (batch_id, code, rows)."""
        f = self.con.table("feedback")
        return pl.from_arrow(f.group_by(["batch_id", "code"]).aggregate(rows=f.count())
                             .to_pyarrow())

    def institutions(self) -> pl.DataFrame:
        """The institution behind each submission: the LEI that sent it over the API, else
        the submitter most of its stored reports name (batch_id, institution)."""
        s = self.con.table("submissions")
        # One query for every report type (a query each cost most of the time on Spark).
        counted = ibis.union(*[
            t.group_by(["batch_id", "submitter"]).aggregate(n=t.count())
            for t in (self.versions(rt) for rt in REPORT_TYPES)])
        # The commonest submitter (Spark has no `mode`); the sender's LEI before it.
        named = s.filter(s.owner.notnull()).select(
            "batch_id", institution=s.owner, _api=ibis.literal(0), n=ibis.literal(0, "int64"))
        named = named.union(counted.select(
            "batch_id", institution=counted.submitter, _api=ibis.literal(1),
            n=counted.n.cast("int64")))
        first = ibis.row_number().over(group_by=named.batch_id,
                                       order_by=[named._api, ibis.desc(named.n),
                                                 named.institution])
        named = named.mutate(_k=first).filter(lambda x: x._k == 0)
        return pl.from_arrow(named.select("batch_id", "institution").to_pyarrow())

    def stream_log(self, stream: str, seqs: list[int]) -> pl.DataFrame:
        """The logged messages among `seqs` of a stream (seq, batch_id, first_row, last_row)."""
        t = self.con.table("stream_log")
        # A fetch's sequence numbers are close together: a range, then the exact ones.
        found = t.filter((t.stream == stream) & t.seq.between(min(seqs), max(seqs))) \
            .drop("stream")
        frame = pl.from_arrow(found.to_pyarrow())
        return frame.filter(pl.col("seq").is_in(seqs))

    def last_logged(self, stream: str) -> int:
        """The highest sequence number of a stream's messages logged (0: none)."""
        t = self.con.table("stream_log")
        value = t.filter(t.stream == stream).seq.max().to_pyarrow().as_py()
        return int(value or 0)

    def commit(self, submission: Submission | list[Submission],
               versions: pl.LazyFrame | pl.DataFrame, feedback: pa.Table,
               log: pa.Table | None = None) -> None:
        """One file, all or nothing: versions, feedback, then the submission record
        (and, for streamed messages, which ones it holds: `log`, STREAM_LOG's columns).
        Several submissions validated together (`suptech.ingest.group`) are committed as
        one: their versions in one file, named by the first, each row with its own
        batch id.

        Versions become visible only with the submission record (see `versions`), so a
        crash before that shows nothing of the file. `versions` has the columns of the
        report type's `report_schema`, in its order and types.
        """
        group = submission if isinstance(submission, list) else [submission]
        name, rows = group[0].report_type, sum(s.accepted for s in group)
        file = self.engine.write_versions(name, group[0].batch_id, versions) if rows else None
        with self.engine.transaction():
            if feedback.num_rows:
                self.engine.insert("feedback", feedback)
            if log is not None and log.num_rows:
                self.engine.insert("stream_log", log.select(STREAM_LOG.names).cast(STREAM_LOG.to_pyarrow()))
            self.engine.insert("submissions", pa.Table.from_pylist(
                [s.__dict__ for s in group], schema=SUBMISSIONS.to_pyarrow()))
            if file is not None:
                self.engine.list_versions(name, file, rows)
        if file is not None:
            self._grown.add(name)

    def compact(self) -> None:
        """Merge the small version files of the types committed to since the last call,
        where the engine does (`Engine.compact`). Called once a commit's answers are
        given: a merge of many files takes a while."""
        while self._grown:
            self.engine.compact(self._grown.pop())

    # ---- alerts ----------------------------------------------------------------------

    def alerts(self) -> pl.DataFrame:
        """One row per alert: of the versions stored under one id (the stream stores a
        case as it grows; a scan completes one the stream stored first), the fullest."""
        frame = pl.from_arrow(self.con.table("alerts").to_pyarrow())
        assert isinstance(frame, pl.DataFrame)
        return fullest(frame).sort(["typology", "window_start", "alert_id"])

    def news(self, alerts: pl.DataFrame) -> pl.DataFrame:
        """Those of `alerts` not stored yet, or fuller than the version stored: what a
        scan or the stream stores (a case found again as it was is not)."""
        if alerts.is_empty():
            return alerts
        t = self.con.table("alerts")
        stored = fullest(pl.from_arrow(t.filter(t.alert_id.isin(
            alerts["alert_id"].unique().to_list())).select(
            "alert_id", "evidence", "window_end", "score").to_pyarrow()))
        size = pl.col("evidence").fill_null("").str.count_matches(";")
        j = alerts.join(stored, on="alert_id", how="left", suffix="_stored")
        grown = pl.col("evidence_stored").is_null() | (
            size > pl.col("evidence_stored").fill_null("").str.count_matches(";")) | (
            pl.col("window_end") > pl.col("window_end_stored"))
        return j.filter(grown).select(alerts.columns)

    def alert_ids(self, ids: pl.Series) -> pl.Series:
        """Those of `ids` already recorded."""
        t = self.con.table("alerts")
        found = t.filter(t.alert_id.isin(ids.to_list())).alert_id.to_pyarrow()
        return pl.Series("alert_id", found.to_pylist(), dtype=pl.String)

    def scans(self) -> pl.DataFrame:
        frame = pl.from_arrow(self.con.table("scans").order_by("ts_started").to_pyarrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def record_scan(self, scan: dict | None, alerts: pl.DataFrame) -> None:
        """New alerts and the scan that found them, in one transaction where there is one.
        Streaming alerts have no scan: a scan records what data the batch scan has seen."""
        with self.engine.transaction():
            if alerts.height:
                self.engine.insert("alerts", alerts.select(ALERTS.names).to_arrow()
                                   .cast(ALERTS.to_pyarrow()))
            if scan is not None:
                self.engine.insert("scans", pa.Table.from_pylist([scan],
                                                                 schema=SCANS.to_pyarrow()))

    def record_reconciliation(self, run: dict, breaks: pl.DataFrame,
                              quality: pl.DataFrame) -> None:
        """A reconciliation's breaks and indicators (with `day` and `run_ns`) and the run
        (RECONCILIATIONS), in one transaction where there is one."""
        with self.engine.transaction():
            for name, schema, frame in (("breaks", BREAKS, breaks), ("quality", QUALITY, quality)):
                if frame.height:
                    self.engine.insert(name, frame.select(schema.names).to_arrow()
                                       .cast(schema.to_pyarrow()))
            self.engine.insert("reconciliations", pa.Table.from_pylist(
                [run], schema=RECONCILIATIONS.to_pyarrow()))

    def reconciled(self, name: str, first_day: int, last_day: int) -> pl.DataFrame:
        """The rows of `name` (breaks or quality) of the days in [first, last], each day's
        from the latest reconciliation that covered it."""
        runs = pl.from_arrow(self.con.table("reconciliations").to_pyarrow())
        latest = {}
        for r in runs.sort("run_ns").iter_rows(named=True):
            for d in range(max(r["first_day"], first_day), min(r["last_day"], last_day) + 1):
                latest[d] = r["run_ns"]
        if not latest:
            return pl.from_arrow(self.con.table(name).limit(0).to_pyarrow())
        t = self.con.table(name)
        t = t.filter(t.run_ns.isin(sorted(set(latest.values()))) & t.day.between(
            first_day, last_day))
        keep = pl.DataFrame({"day": list(latest), "run_ns": list(latest.values())},
                            schema={"day": pl.Int64, "run_ns": pl.Int64})
        return pl.from_arrow(t.to_pyarrow()).join(keep, on=["day", "run_ns"], how="semi")

    def submission_count(self) -> int:
        return self.engine.count("submissions")

    def watermark(self, *report_types: str) -> int:
        """The latest ts_received of any committed submission, or of those of
        `report_types` (0 for none)."""
        among = {"report_type": report_types} if report_types else {}
        return int(self.engine.largest("submissions", "ts_received", **among) or 0)

    def close(self) -> None:
        self.engine.close()


def within(t: ir.Table, start_ns: int | None, end_ns: int | None, test: bool = False):
    """`t`'s rows with ts_event in [start, end) (`test`: the condition itself)."""
    inside = ibis.literal(True)
    if start_ns is not None:
        inside &= t.ts_event >= start_ns
    if end_ns is not None:
        inside &= t.ts_event < end_ns
    return inside if test else t.filter(inside)


def to_user_table(table: pa.Table, type_name: str) -> pa.Table:
    """int64 nanoseconds become UTC timestamps for people and their tools."""
    rt = report_type(type_name)
    for name in timestamp_columns(rt):
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(
                i, name, table[name].cast(pa.timestamp("ns", tz="UTC")))
    return table


def open_store(data_dir: str | Path | None = None, engine: str = "duckdb") -> Store:
    """Open (creating if needed) the report database in `data_dir`."""
    return Store(connect(engine, Path(data_dir or DEFAULT_DATA_DIR)))
