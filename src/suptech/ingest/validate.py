"""Validate one decoded file: every registered check, whole columns at a time.

The result is the accepted rows, typed for the store, and one feedback row per failed
rule. Nothing here writes anything; the store is only asked questions through a
`Lookup` (does this instrument exist, is this report live).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import polars as pl

# Importing the package registers the built-in checks.
import suptech.ingest.checks  # noqa: F401
from suptech.ingest.checks.base import REGISTRY, Stage
from suptech.ingest.parse import typed_frame, unparsable_name
from suptech.ingest.raw import ROW, RawFile, UnusableFile
from suptech.model.findings import Code
from suptech.model.reports import ENVELOPE, ReportType

ENVELOPE_NAMES = frozenset(f.name for f in ENVELOPE)
VALID = "__valid"
FEEDBACK_SCHEMA = {"row": pl.Int64, "report_id": pl.String, "field": pl.String,
                   "code": pl.String, "message": pl.String}


class Lookup(Protocol):
    """What checks may ask of the database (current view, committed data only)."""

    def existing(self, report_type: str, field: str, values: pl.Series) -> pl.Series:
        """Those of `values` that a live report of the type holds in `field`, each at
        most as often as asked (so as many as asked means every one was found)."""

    def instrument_sizes(self, isins: pl.Series) -> pl.DataFrame: ...

    def report_states(self, report_type: str, keys: pl.LazyFrame) -> pl.DataFrame: ...


@dataclass
class Batch:
    """One file under validation, as the checks see it."""

    rt: ReportType
    frame: pl.DataFrame
    raw_types: dict[str, pl.DataType]
    lookup: Lookup
    now_ns: int
    retention_start_ns: int
    retention_start_label: str
    valid: pl.Series
    #: The LEI of the institution sending the file over the API, or per row (ROW,
    #: `__owner`) for rows from several senders' stream messages; None from the CLI.
    owner: str | pl.DataFrame | None = None
    #: Where the rows are several submissions' validated together (a group commit, a
    #: stream's messages): the first row of each, in order. A rule between two rows
    #: (a report id repeated) then says whether they came in one submission.
    firsts: list[int] | None = None

    def part_of(self, rows: pl.Series) -> pl.Series:
        """The submission each of `rows` came in, where `firsts` says."""
        return pl.Series(self.firsts).search_sorted(rows, side="right").cast(pl.Int64)

    def has_column(self, name: str) -> bool:
        return name in self.raw_types

    def raw_is_text(self, name: str) -> bool:
        return self.raw_types.get(name) == pl.String

    def missing(self, name: str) -> pl.Expr:
        return pl.col(name).is_null() & ~pl.col(unparsable_name(name))

    def applies(self, name: str) -> pl.Expr:
        """Where a field's rules apply: a CANC carries only the envelope."""
        if name in ENVELOPE_NAMES:
            return pl.lit(True)
        return pl.col("action").ne_missing("CANC")

    def join_columns(self, extra: pl.DataFrame, on: str) -> None:
        """Add looked-up columns for later masks, keeping the rows in file order.

        `extra` has one row per value of `on`. Only the key column takes part in the
        join: joining the whole frame would copy every column.
        """
        found = self.frame.select(on).join(extra, on=on, how="left", maintain_order="left")
        self.frame = self.frame.with_columns(found.drop(on))


@dataclass
class Validated:
    rows: int
    accepted_rows: int
    #: ROW and the typed fields of the accepted rows; lazy, so that the store can stream
    #: it to disk without another copy of the file in memory.
    accepted: pl.LazyFrame
    feedback: pl.DataFrame  # FEEDBACK_SCHEMA


def check_columns(raw: RawFile, rt: ReportType) -> None:
    """A file without a column every row needs is unusable as a whole."""
    if raw.frame.height == 0:
        return
    present = set(raw.frame.columns)
    envelope_missing = [f.name for f in ENVELOPE if f.name not in present]
    body_missing = [f.name for f in rt.fields if f.required and f.name not in present]
    only_cancels = "action" in present and bool(
        raw.frame["action"].cast(pl.String).eq_missing("CANC").all())
    missing = envelope_missing + ([] if only_cancels else body_missing)
    if missing:
        raise UnusableFile(
            f"missing required column(s) for {rt.name}: {', '.join(missing)}", "E001")


def validate(raw: RawFile, rt: ReportType, lookup: Lookup, *, now_ns: int,
             retention_start_ns: int, retention_start_label: str = "",
             owner: str | pl.DataFrame | None = None,
             firsts: list[int] | None = None) -> Validated:
    check_columns(raw, rt)
    frame = typed_frame(raw.frame, rt, ROW)
    batch = Batch(rt, frame, {k: v for k, v in raw.frame.schema.items()}, lookup, now_ns,
                  retention_start_ns, retention_start_label,
                  pl.repeat(True, frame.height, dtype=pl.Boolean, eager=True), owner, firsts)
    problems = raw.problems
    parts = [pl.DataFrame(
        {"row": [p.row for p in problems], "report_id": [p.report_id for p in problems],
         "field": [p.field for p in problems], "code": [p.code for p in problems],
         "message": [p.message for p in problems]}, schema=FEEDBACK_SCHEMA)]
    report_id = pl.col("raw__report_id").cast(pl.String) if batch.has_column("report_id") \
        else pl.lit(None, dtype=pl.String)
    # A field that failed one stage is not judged again by later ones: an ISIN with a
    # wrong check digit is not also "not found".
    failed_fields: dict[str, pl.Series] = {}
    for stage in Stage:
        failures = [f for check in REGISTRY.for_stage(stage) for f in check.failures(batch)]
        if not failures or batch.frame.height == 0:
            continue
        masks = batch.frame.select(
            [f.mask.fill_null(False).alias(f"m{i}") for i, f in enumerate(failures)])
        rejected = pl.repeat(False, batch.frame.height, dtype=pl.Boolean, eager=True)
        failed_now: dict[str, pl.Series] = {}
        for i, f in enumerate(failures):
            mask = masks[f"m{i}"]
            if f.field in failed_fields:
                mask = mask & ~failed_fields[f.field]
            if not mask.any():
                continue
            failed_now[f.field] = failed_now[f.field] | mask if f.field in failed_now else mask
            parts.append(batch.frame.filter(mask).select(
                pl.col(ROW).alias("row"), report_id.alias("report_id"),
                pl.lit(f.field).alias("field"), pl.lit(f.code.value).alias("code"),
                f.message.cast(pl.String).alias("message")))
            if f.code.is_error:
                rejected = rejected | mask
        batch.valid = batch.valid & ~rejected
        for name, mask in failed_now.items():
            failed_fields[name] = failed_fields[name] | mask if name in failed_fields else mask
    feedback = pl.concat(parts).sort(["row", "code", "field"], maintain_order=True)
    # A CANC keeps only its envelope, whatever else its row held.
    cancels = batch.frame.height > 0 and bool(batch.frame["action"].eq("CANC").any())
    body = [pl.when(pl.col("action") != "CANC").then(pl.col(f.name)).alias(f.name)
            if cancels else pl.col(f.name) for f in rt.fields]
    accepted = batch.frame.with_columns(batch.valid.alias(VALID)).lazy() \
        .filter(pl.col(VALID)).select(ROW, *(f.name for f in ENVELOPE), *body)
    undecoded = len({p.row for p in problems if p.row is not None})
    return Validated(frame.height + undecoded, int(batch.valid.sum()), accepted,
                     feedback)

