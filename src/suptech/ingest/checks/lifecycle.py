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

from suptech.ingest.checks.base import Check, Failure, Stage, message, register
from suptech.ingest.readers import ROW
from suptech.model.findings import Code

KEY = ["submitter", "report_id"]


def lifecycle_failures(rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """rows: ROW, submitter, report_id, action; stored: submitter, report_id, live.

    Returns ROW, code and reason for every row that breaks the lifecycle.
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
            pl.when(pl.col("live").is_not_null())
            .then(pl.lit("report_id was already reported"))
            .otherwise(pl.lit("report_id is repeated in this file for action NEW"))
            .alias("reason")),
        v.filter(orphan).select(
            ROW, pl.lit(Code.E008.value).alias("code"),
            pl.when(cancelled.fill_null(False))
            .then(pl.format("{} of a report_id that is already cancelled", action))
            .otherwise(pl.format("{} of an unknown report_id", action))
            .alias("reason")),
    ])


@register
class Lifecycle(Check):
    codes = (Code.E007, Code.E008)
    stage = Stage.LIFECYCLE

    def failures(self, batch):
        rows = batch.frame.filter(batch.valid).select(ROW, *KEY, "action")
        if rows.is_empty():
            return
        stored = batch.lookup.report_states(batch.rt.name, rows.select(KEY).unique())
        failed = lifecycle_failures(rows, stored)
        if failed.is_empty():
            return
        batch.join_columns(
            failed.rename({"code": "lifecycle_code", "reason": "lifecycle_reason"}), on=ROW)
        code = pl.col("lifecycle_code")
        for c in self.codes:
            yield Failure(c, "report_id", code == c.value, pl.col("lifecycle_reason"))
