"""E007 and E008: the NEW / CORR / CANC life of a report_id.

A report (submitter, report_id) is created by one NEW, replaced by any number of
CORRs and withdrawn by one CANC; a report_id is never reused. Within a file rows apply
in order, on top of what the database already holds. Only rows that passed every other
rule take part: a rejected NEW creates nothing.

Vectorised: per report, the row where it becomes live (0 when it already is in the
database) and the first CANC after that decide every row at once.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, Stage, register
from suptech.ingest.raw import ROW
from suptech.model.findings import Code

KEY = ["submitter", "report_id"]


REPEATED = "report_id is repeated in this file for action NEW"
REPORTED = "report_id was already reported"


def lifecycle_failures(rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """rows: ROW, submitter, report_id, action; stored: submitter, report_id, live.

    Returns ROW, code and reason for every row that breaks the lifecycle, and for a NEW
    repeated in the file, the row of its first NEW (`first`).
    """
    action, row = pl.col("action"), pl.col(ROW)
    v = rows.join(stored, on=KEY, how="left")
    first_new = v.filter(action == "NEW").group_by(KEY).agg(pl.col(ROW).min().alias("first_new"))
    v = v.join(first_new, on=KEY, how="left").with_columns(
        pl.when(pl.col("live") == True).then(0)  # noqa: E712 (polars expression)
        .when(pl.col("live").is_null()).then(pl.col("first_new"))
        .alias("live_from")
    )
    kill = (v.filter((action == "CANC") & (row > pl.col("live_from")))
            .group_by(KEY).agg(pl.col(ROW).min().alias("killed_at")))
    v = v.join(kill, on=KEY, how="left")
    live_at_row = (pl.col("live_from").is_not_null() & (row > pl.col("live_from"))
                   & (pl.col("killed_at").is_null() | (row <= pl.col("killed_at"))))
    duplicate = (action == "NEW") & (pl.col("live").is_not_null() | (row != pl.col("first_new")))
    orphan = action.is_in(["CORR", "CANC"]) & ~live_at_row
    cancelled = (pl.col("live") == False) | (row > pl.col("killed_at"))  # noqa: E712
    return pl.concat([
        v.filter(duplicate).select(
            ROW, pl.lit(Code.E007.value).alias("code"),
            pl.when(pl.col("live").is_not_null()).then(pl.lit(REPORTED))
            .otherwise(pl.lit(REPEATED)).alias("reason"),
            pl.when(pl.col("live").is_null()).then(pl.col("first_new")).alias("first")),
        v.filter(orphan).select(
            ROW, pl.lit(Code.E008.value).alias("code"),
            pl.when(cancelled.fill_null(False))
            .then(pl.format("{} of a report_id that is already cancelled", action))
            .otherwise(pl.format("{} of an unknown report_id", action))
            .alias("reason"), pl.lit(None, dtype=pl.Int64).alias("first")),
    ])


def repeated_keys(frame: pl.DataFrame, among: pl.Series) -> pl.DataFrame:
    """ROW of every row in `among` whose (submitter, report_id) an earlier such row has,
    and the first such row (`first`).

    Hashing and sorting integers is far cheaper than grouping strings: only rows whose
    key hash repeats can repeat a key, and only those few are compared exactly.
    """
    key_hash = frame.select(pl.col("submitter").hash(1).xor(pl.col("report_id").hash(2))) \
        .to_series()
    ordered = key_hash.filter(among).sort()
    collisions = ordered.filter(ordered == ordered.shift(1))  # (diff() overflows u64)
    if collisions.is_empty():
        return frame.select(ROW, pl.col(ROW).alias("first")).head(0)
    candidates = frame.select(ROW, *KEY).filter(among & key_hash.is_in(collisions.implode()))
    return candidates.with_columns(pl.col(ROW).first().over(KEY).alias("first")) \
        .filter(~pl.struct(KEY).is_first_distinct()).select(ROW, "first")


def _new_only_failures(frame: pl.DataFrame, valid: pl.Series,
                       stored: pl.DataFrame) -> pl.DataFrame:
    """The common case, a file of new reports: only reused report_ids can fail.

    The same answer as `lifecycle_failures` gives, without its joins and group-bys,
    which were most of the cost of validating a large file.
    """
    known = frame.select(ROW, *KEY).filter(valid).join(stored.select(KEY), on=KEY, how="semi") \
        if not stored.is_empty() else frame.select(ROW).head(0)
    repeated = repeated_keys(frame, valid).join(known, on=ROW, how="anti")
    # A NEW of a key already stored is reported as such, even when also repeated.
    return pl.concat([
        known.select(ROW, pl.lit(Code.E007.value).alias("code"), pl.lit(REPORTED).alias("reason"),
                     pl.lit(None, dtype=pl.Int64).alias("first")),
        repeated.select(ROW, pl.lit(Code.E007.value).alias("code"),
                        pl.lit(REPEATED).alias("reason"), "first")])


@register
class Lifecycle(Check):
    codes = (Code.E007, Code.E008)
    stage = Stage.LIFECYCLE

    def failures(self, batch):
        frame, valid = batch.frame, batch.valid
        if not valid.any():
            return
        only_new = bool((frame["action"].eq("NEW") | ~valid).all())
        # The store is asked only when it holds reports of this type at all.
        keys = frame.lazy().select(KEY).filter(valid)
        stored = batch.lookup.report_states(batch.rt.name, keys)
        if only_new:
            failed = _new_only_failures(frame, valid, stored)
        else:
            failed = lifecycle_failures(frame.select(ROW, *KEY, "action").filter(valid), stored)
        if batch.firsts is not None and failed.height:
            # A report id first sent in an earlier submission of the group was, for this
            # one, already reported, not repeated in it.
            first = failed["first"]
            elsewhere = first.is_not_null() & (batch.part_of(failed[ROW]) !=
                                               batch.part_of(first.fill_null(0)))
            failed = failed.with_columns(pl.when(elsewhere).then(pl.lit(REPORTED))
                                         .otherwise("reason").alias("reason"))
        for c in self.codes:
            mine = failed.filter(pl.col("code") == c.value)
            if mine.is_empty():
                continue
            yield Failure(c, "report_id", pl.col(ROW).is_in(mine[ROW].implode()),
                          pl.col(ROW).replace_strict(mine[ROW], mine["reason"],
                                                     return_dtype=pl.String))
