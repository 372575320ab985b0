"""E009: a reference to a record that is not in the database.

References are resolved after earlier files of the same ingest run are committed
(reference data is loaded first, see `ReportType.rank`), so an order may name an
instrument that arrives in the same batch.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, isin, Stage, message, register
from suptech.model.findings import Code


@register
class References(Check):
    codes = (Code.E009,)
    stage = Stage.REFERENCE

    def failures(self, batch):
        for ref in batch.rt.references:
            if not batch.has_column(ref.field):
                continue
            col = pl.col(ref.field)
            # As they come: lookups take repeats (sorting a large batch's values to
            # make them unique cost more than looking the repeats up).
            values = batch.frame.select(col.filter(batch.applies(ref.field))) \
                .to_series().drop_nulls()
            known = batch.lookup.existing(ref.target, ref.target_field, values)
            if known.len() == values.len():
                continue  # each value found (the usual case): no row can fail
            yield Failure(Code.E009, ref.field,
                          batch.applies(ref.field) & col.is_not_null() & ~isin(col, known),
                          message(f"{ref.target} {ref.target_field} {{}} not found", col))
