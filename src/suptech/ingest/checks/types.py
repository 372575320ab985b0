"""E002: a value is present but cannot be read as its field's type."""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.ingest.parse import raw_name, unparsable_name
from suptech.model.findings import Code
from suptech.model.reports import Kind

EXPECTED = {
    Kind.TIMESTAMP: "an ISO 8601 timestamp with UTC offset (e.g. 2026-03-02T09:30:00.123+08:00)",
    Kind.DATE: "a date YYYY-MM-DD",
    Kind.DECIMAL: "a decimal number",
    Kind.INTEGER: "an integer",
    Kind.BOOLEAN: "true or false",
}


@register
class Unparsable(Check):
    codes = (Code.E002,)

    def failures(self, batch):
        for f in batch.rt.all_fields:
            if not batch.has_column(f.name):
                continue
            expected = EXPECTED.get(f.kind, "text")
            yield Failure(Code.E002, f.name,
                          batch.applies(f.name) & pl.col(unparsable_name(f.name)),
                          message(f"cannot read {{}} as {expected}", pl.col(raw_name(f.name))))
