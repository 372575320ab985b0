"""E001: a required field is missing or empty.

Some fields are required only with others: a LIMIT order needs a price, an ENTITY
party needs its LEI. A CANC report withdraws a report and carries only the envelope.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.model.findings import Code

#: (report type, field) -> (condition under which it is required, why)
CONDITIONAL = {
    ("order_event", "price"): (pl.col("order_type") == "LIMIT", "LIMIT orders"),
    ("party", "lei"): (pl.col("party_type") == "ENTITY", "ENTITY parties"),
}


@register
class Required(Check):
    codes = (Code.E001,)

    def failures(self, batch):
        for f in batch.rt.all_fields:
            cond = CONDITIONAL.get((batch.rt.name, f.name))
            if f.required:
                yield Failure(Code.E001, f.name, batch.applies(f.name) & batch.missing(f.name),
                              message("required field is missing or empty"))
            elif cond is not None:
                when, who = cond
                yield Failure(Code.E001, f.name,
                              batch.applies(f.name) & when & batch.missing(f.name),
                              message(f"{f.name} is required for {who}"))
