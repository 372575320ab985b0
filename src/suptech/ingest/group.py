"""Several submissions validated together and committed at once (group commit).

A broker reporting each order as it happens sends one report per submission, a
thousand a second across institutions. Validated and committed one by one, each pays
the whole fixed cost of a file: every check's pass over the columns, the store's
lookups, a version file, an fsync and a transaction. Submissions of one report type
that arrive together are instead validated as one file, their rows in order of
arrival (each submission's rows after the last's, so that the lifecycle rules apply
across them as they would one after another), and committed in one transaction: one
version file, while each submission keeps its own record, batch id and feedback, and
is answered only once the whole is durable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from suptech.ingest.checks.owner import OWNER
from suptech.ingest.pipeline import FileResult, _with_file, retention_start
from suptech.ingest.raw import ROW, RawFile
from suptech.ingest.validate import FEEDBACK_SCHEMA, validate
from suptech.model.findings import FileSummary
from suptech.model.reports import ReportType
from suptech.store.database import Store, Submission
from suptech.store.schema import report_schema, storage_schema


@dataclass
class Part:
    """One submission of a group: who sent it, and its rows (`raw`: decoded alone, or
    None where the group's bytes are decoded together)."""

    label: str
    sha: str
    owner: str | None
    rows: int
    raw: RawFile | None = None


def groupable(raw: RawFile) -> bool:
    """Whether a submission can join a group: a problem of a whole file (an ISO 20022
    group header) belongs to no row of a group, so such a file goes alone."""
    return all(p.row is not None for p in raw.problems)


def rows_of(raw: RawFile) -> int:
    """A decoded file's rows: its records, decoded or not."""
    return max([raw.frame[ROW].max() or 0, *(p.row or 0 for p in raw.problems)])


def concat_raw(parts: list[RawFile], sizes: list[int] | None = None) -> RawFile:
    """Decoded files as one, each file's rows numbered on from where the last one's
    ended (`sizes`: each file's rows, if not `rows_of` it)."""
    sizes = sizes or [rows_of(p) for p in parts]
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    # One chunk: polars' string kernels have failed (panicked) on the many small
    # chunks that concatenating hundreds of small files leaves.
    frame = pl.concat([p.frame for p in parts], how="diagonal_relaxed").rechunk()
    shift = np.repeat(np.asarray(starts, dtype=np.int64), [p.frame.height for p in parts])
    frame = frame.with_columns(pl.col(ROW) + pl.Series(shift, dtype=pl.Int64))
    problems = [replace(q, row=q.row + start if q.row else None)
                for part, start in zip(parts, starts) for q in part.problems]
    return RawFile(frame, problems, [c for c in frame.columns if c != ROW])


def commit_parts(store: Store, rt: ReportType, parts: list[Part], lookup=None,
                 merged: RawFile | None = None) -> list[FileResult]:
    """Validate `parts` together and commit them in one transaction; each part's result.

    `merged`: the parts' rows decoded together, in order (else each part's `raw`).
    `lookup`: what validation asks instead of the store (a `CachedLookup`), told of
    what is committed. Raises where the commit fails: then nothing of any part is kept.
    """
    sizes = [p.rows for p in parts]
    starts = np.cumsum([1, *sizes[:-1]])  # each part's first row
    raw = merged if merged is not None else concat_raw([p.raw for p in parts], sizes)
    owner: str | pl.DataFrame | None = None
    if any(p.owner is not None for p in parts):
        senders = np.repeat(np.arange(len(parts)), sizes)
        owner = pl.DataFrame({ROW: np.arange(1, len(senders) + 1, dtype=np.int64),
                              OWNER: pl.Series([p.owner for p in parts],
                                               dtype=pl.String).gather(senders)})
    start_ns, start_label = retention_start()
    result = validate(raw, rt, lookup or store, now_ns=time.time_ns(),
                      retention_start_ns=start_ns, retention_start_label=start_label,
                      owner=owner, firsts=starts.tolist())
    ts = time.time_ns()
    # Apart by a nanosecond each: two institutions' identical bytes are two submissions.
    batch_ids = [f"{ts + i}-{p.sha[:16]}" for i, p in enumerate(parts)]

    def own_rows(frame: pl.DataFrame, column: str) -> tuple[pl.DataFrame, np.ndarray]:
        """`frame` with `column` numbered within each part, and each row's part."""
        which = np.searchsorted(starts, frame[column].to_numpy(), side="right") - 1
        return frame.with_columns(pl.col(column) - pl.Series(starts[which] - 1)), which

    accepted, part = own_rows(result.accepted.collect(), ROW)
    schema = report_schema(rt)
    versions = accepted.rename({ROW: "row"}).with_columns(
        pl.Series("ts_received", ts + part, dtype=pl.Int64),
        pl.Series("batch_id", batch_ids, dtype=pl.String).gather(part),
    ).select(schema.names).cast(storage_schema(schema))
    feedback, of = own_rows(result.feedback, "row")
    feedback = feedback.with_columns(pl.Series("part", of, dtype=pl.Int64))
    summaries = _summaries(rt.name, parts, batch_ids, np.bincount(part, minlength=len(parts)),
                           feedback)
    submissions = [Submission(b, p.sha, rt.name, p.label, ts + i, s.rows, s.accepted,
                              s.rejected, s.warnings, p.owner)
                   for i, (b, p, s) in enumerate(zip(batch_ids, parts, summaries))]
    stored = feedback.select(pl.Series("batch_id", batch_ids, dtype=pl.String).gather(of),
                             *FEEDBACK_SCHEMA)
    store.commit(submissions, versions, stored.to_arrow())
    if lookup is not None:
        lookup.committed(rt.name, versions if versions.height else None, len(parts))
    own = feedback.partition_by("part", as_dict=True, include_key=False) \
        if feedback.height else {}
    none = _with_file(feedback.head(0).drop("part"), "")
    return [FileResult(s, _with_file(own[(i,)], p.label) if (i,) in own else none)
            for i, (p, s) in enumerate(zip(parts, summaries))]


def _summaries(type_name: str, parts: list[Part], batch_ids: list[str], accepted: np.ndarray,
               feedback: pl.DataFrame) -> list[FileSummary]:
    """Each part's summary, from the group's feedback (`part`: whose row it is) at once:
    a summary made of each part's own rows cost more than validating them."""
    counts: dict[int, dict[str, int]] = {}
    for i, code, n in feedback.group_by("part", "code").len().sort("part", "code").iter_rows():
        counts.setdefault(i, {})[code] = n
    warned = dict(feedback.filter(pl.col("code").str.starts_with("W"))
                  .group_by("part").agg(pl.col("row").n_unique()).iter_rows())
    return [FileSummary(p.label, type_name, p.rows, int(accepted[i]), p.rows - int(accepted[i]),
                        warned.get(i, 0), counts.get(i, {}), batch_id=batch_ids[i])
            for i, p in enumerate(parts)]
