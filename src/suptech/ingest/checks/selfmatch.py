"""W001: a trade whose buyer and seller are the same account (a self-match).

Allowed by the specification and accepted, but a possible wash trade, so the
institution is told at once.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.model.findings import Code


@register
class SelfMatch(Check):
    codes = (Code.W001,)

    def failures(self, batch):
        if batch.rt.name != "trade":
            return
        yield Failure(Code.W001, "sell_account_id",
                      batch.applies("sell_account_id")
                      & (pl.col("buy_account_id") == pl.col("sell_account_id")),
                      message("self-match: buy and sell account are both {}",
                              pl.col("buy_account_id")))
