"""E003: a value outside its field's allowed set."""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, isin, message, register
from suptech.model.findings import Code
from suptech.model.reports import Kind


@register
class AllowedValues(Check):
    codes = (Code.E003,)

    def failures(self, batch):
        for f in batch.rt.all_fields:
            if f.kind is not Kind.ENUM or not batch.has_column(f.name):
                continue
            col = pl.col(f.name)
            yield Failure(Code.E003, f.name,
                          batch.applies(f.name) & col.is_not_null() & ~isin(col, f.values),
                          message(f"{{}} is not one of {', '.join(f.values)}", col))
