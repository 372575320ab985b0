"""E010: a report sent over the API names a submitter other than the institution sending it.

An institution authenticated by its token may report only under its own LEI. Files
ingested from the command line have no such owner, and this check does not apply.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.ingest.raw import ROW
from suptech.model.findings import Code


#: The column of a per-row owner table that names each row's sender.
OWNER = "__owner"


@register
class SubmitterIsSender(Check):
    codes = (Code.E010,)

    def failures(self, batch):
        if batch.owner is None or not batch.has_column("submitter"):
            return
        if isinstance(batch.owner, str):
            sender = pl.lit(batch.owner)
        else:  # rows of several senders' messages: each row's own
            owner = batch.owner
            if owner[ROW].equals(pl.int_range(1, owner.height + 1, eager=True, dtype=pl.Int64)
                                 .alias(ROW)):
                # Every row of the batch in order (a stream's): each row's sender is
                # at its row number, picked out, not joined (a hash join per batch).
                batch.frame = batch.frame.with_columns(
                    owner[OWNER].gather(batch.frame[ROW] - 1))
            else:
                batch.join_columns(owner, on=ROW)
            sender = pl.col(OWNER)
        yield Failure(Code.E010, "submitter", pl.col("submitter").ne_missing(sender),
                      message("submitter {} is not the sending institution ({})",
                              pl.col("submitter"), sender))
