"""Ingest report files into the store: read, validate, commit, report back.

Files of one run are taken in the order of their report types' ranks (reference data
first), so references between files of one run resolve whatever order they were named
in. Each file is one atomic commit. A file whose bytes were ingested before is not
stored again; its original feedback is returned.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import duckdb
import polars as pl
import pyarrow as pa

from suptech.ingest.raw import short
from suptech.ingest.readers import (
    ROW, RawFile, UnusableFile, detect_report_type, read_bytes, read_file)
from suptech.ingest.validate import FEEDBACK_SCHEMA, validate
from suptech.model.findings import FEEDBACK_COLUMNS, FileSummary
from suptech.store.database import Store, Submission
from suptech.model.reports import ReportType
from suptech.store.schema import report_schema, storage_schema

logger = logging.getLogger(__name__)
DEFAULT_RETENTION_START = "2000-01-01T00:00:00+00:00"

#: Called as work on a file advances: (file, stage name, stages done, stages in all).
Progress = Callable[[Path, str, int, int], None]
STAGES = ("reading", "validating", "committing")


@dataclass
class FileResult:
    summary: FileSummary
    feedback: pl.DataFrame  # FEEDBACK_COLUMNS
    #: The versions stored, where asked for (`commit_raw(keep=True)`) and any were.
    versions: pl.DataFrame | None = None


def retention_start() -> tuple[int, str]:
    text = os.environ.get("SUPTECH_RETENTION_START", DEFAULT_RETENTION_START)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000, text


def _with_file(feedback: pl.DataFrame, label: str) -> pl.DataFrame:
    return feedback.select(pl.lit(label).alias("file"), *FEEDBACK_SCHEMA).select(FEEDBACK_COLUMNS)


def _summary(label: str, type_name: str, rows: int, accepted: int,
             feedback: pl.DataFrame, duplicate: bool = False,
             batch_id: str | None = None) -> FileSummary:
    counts = dict(feedback.group_by("code").len().sort("code").iter_rows())
    warnings = feedback.filter(pl.col("code").str.starts_with("W"))["row"].n_unique()
    return FileSummary(label, type_name, rows, accepted, rows - accepted, warnings, counts,
                       duplicate=duplicate, batch_id=batch_id)


def _unusable(label: str, type_name: str | None, error: UnusableFile) -> FileResult:
    feedback = pl.DataFrame(
        {"file": [label], "row": [None], "report_id": [None], "field": [None],
         "code": [error.code], "message": [str(error)]},
        schema={"file": pl.String, **FEEDBACK_SCHEMA})
    return FileResult(FileSummary(label, type_name, 0, 0, 0, 0, {error.code: 1},
                                  error=str(error)), feedback)


def ingest_file(store: Store, path: Path, type_name: str | None = None,
                progress: Progress | None = None, submitter: str | None = None,
                owner: str | None = None, data: bytes | None = None,
                decoded: RawFile | None = None, now_ns: int | None = None) -> FileResult:
    """Ingest one file (its bytes may be given, as the API receives them, and what
    `read_file` made of them: the server decodes outside its store's lock).

    `submitter`: the LEI ISO 20022 payments are reported under when a message names
    none. `owner`: the LEI of the institution sending the file over the API; its
    records must name it as submitter, and its submissions are its own (another
    institution sending the same bytes is not a duplicate of it). `now_ns`: when the
    platform received it, where a replay of an archive of submissions says (a
    simulation's, whose deadlines are measured against it); now otherwise.
    """
    label = str(path)
    note = progress or (lambda *_: None)
    rt = None
    try:
        rt = detect_report_type(path, type_name)
        note(path, STAGES[0], 0, len(STAGES))
        data = read_bytes(path) if data is None else data
        sha = hashlib.sha256(data).hexdigest()
        previous = store.find_submission(sha, rt.name, owner)
        if previous is not None:
            feedback = _with_file(store.feedback_of(previous.batch_id), label)
            return FileResult(_summary(label, rt.name, previous.rows, previous.accepted,
                                       feedback, duplicate=True,
                                       batch_id=previous.batch_id), feedback)
        raw = decoded if decoded is not None else read_file(path, data, submitter or owner, rt)
        del data
        note(path, STAGES[1], 1, len(STAGES))
        result = commit_raw(store, rt, raw, label, sha, owner,
                            on_commit=lambda: note(path, STAGES[2], 2, len(STAGES)),
                            now_ns=now_ns)
    # A file's commit is all or nothing (see Store.commit), so a failure at any stage
    # stores nothing of it, and the files after it are still taken. (A panic in
    # polars' Rust code is a BaseException.)
    except (Exception, pl.exceptions.PanicException) as e:  # noqa: BLE001
        return _unusable(label, rt.name if rt else None, _why(e, label))
    note(path, "done", len(STAGES), len(STAGES))
    return result


def _why(e: BaseException, label: str) -> UnusableFile:
    """What a user is told of a file that failed: the reader's own words, the store's
    trouble (a full disk), or a bug, logged in full and named in one line."""
    if isinstance(e, UnusableFile):
        return e
    kept = "not stored, nothing of this file was kept"
    if isinstance(e, (OSError, duckdb.Error)) or "No space left" in str(e):
        return UnusableFile(f"{kept}: {_store_failure(e)}")
    logger.error("ingest of %s failed", label, exc_info=e)
    return UnusableFile(f"{kept}: the platform failed on it ({type(e).__name__}); "
                        "please report it")


def _store_failure(e: BaseException) -> str:
    text = str(e)
    if "No space left" in text or getattr(e, "errno", None) == errno.ENOSPC:
        return "no space left on the data directory's disk"
    if isinstance(e, OSError):
        return f"{e.strerror or text} ({e.filename or 'data directory'})"
    return short(text.splitlines()[0] if text else type(e).__name__, 160)


def commit_raw(store: Store, rt: ReportType, raw: RawFile, label: str, sha: str,
               owner: str | pl.DataFrame | None = None, log: pl.DataFrame | None = None,
               on_commit: Callable[[], None] = lambda: None, lookup=None,
               keep: bool = False, now_ns: int | None = None) -> FileResult:
    """Validate decoded reports and commit them as one submission.

    `owner`: the sending institution's LEI, or per row (ROW, `__owner`) when the rows
    come from several senders' messages (streaming). `log`: the stream messages the
    submission holds (STREAM_LOG's columns but batch_id), committed with it. `lookup`:
    what validation asks instead of the store (the stream's `CachedLookup`). `keep`:
    return the versions stored (a stream's small batches, which its detectors read),
    rather than only stream them to disk.
    """
    ready = prepare(store, rt, raw, label, sha, owner, log, lookup, keep, now_ns=now_ns)
    on_commit()
    ready.commit(store)
    return ready.result


@dataclass
class Ready:
    """A validated file, to be committed by `commit`; `result` once it is."""

    submission: Submission
    versions: pl.LazyFrame | pl.DataFrame
    feedback: pa.Table
    log: pa.Table | None
    result: FileResult

    def commit(self, store: Store) -> None:
        store.commit(self.submission, self.versions, self.feedback, self.log)


def prepare(store: Store, rt: ReportType, raw: RawFile, label: str, sha: str,
            owner: str | pl.DataFrame | None = None, log: pl.DataFrame | None = None,
            lookup=None, keep: bool = False, firsts: list[int] | None = None,
            now_ns: int | None = None) -> Ready:
    """`commit_raw` up to the commit: validation, and what the commit will store.
    `firsts`: the first row of each message the rows came in (a stream's). `now_ns`:
    the time of receipt a replay gives (`ingest_file`)."""
    start_ns, start_label = retention_start()
    result = validate(raw, rt, lookup or store, now_ns=now_ns or time.time_ns(),
                      retention_start_ns=start_ns, retention_start_label=start_label,
                      owner=owner, firsts=firsts)
    ts_received = now_ns or time.time_ns()
    batch_id = f"{ts_received}-{sha[:16]}"
    schema = report_schema(rt)
    versions = result.accepted.rename({ROW: "row"}).with_columns(
        pl.lit(ts_received, dtype=pl.Int64).alias("ts_received"),
        pl.lit(batch_id).alias("batch_id"),
    ).select(schema.names).cast(storage_schema(schema))
    if keep:
        versions = versions.collect()
    feedback = result.feedback
    summary = _summary(label, rt.name, result.rows, result.accepted_rows, feedback,
                       batch_id=batch_id)
    return Ready(
        Submission(batch_id, sha, rt.name, label, ts_received, summary.rows, summary.accepted,
                   summary.rejected, summary.warnings, owner if isinstance(owner, str) else None),
        versions,
        feedback.select(pl.lit(batch_id).alias("batch_id"), *FEEDBACK_SCHEMA).to_arrow(),
        None if log is None else log.with_columns(pl.lit(batch_id).alias("batch_id")).to_arrow(),
        FileResult(summary, _with_file(feedback, label),
                   versions if keep and summary.accepted else None))


def load_order(paths: Sequence[Path], type_name: str | None) -> list[Path]:
    """Reference data before the events that use it; unknown types keep their place."""
    def rank(path: Path) -> int:
        try:
            return detect_report_type(path, type_name).rank
        except UnusableFile:
            return 0
    return sorted(paths, key=rank)


def ingest_files(store: Store, paths: Sequence[Path], type_name: str | None = None,
                 progress: Progress | None = None, submitter: str | None = None,
                 now_ns: int | None = None) -> list[FileResult]:
    results = []
    for p in load_order(paths, type_name):
        results.append(ingest_file(store, p, type_name, progress, submitter, now_ns=now_ns))
        store.compact()  # thousands of small files, as from a venue's every message
    return results
