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
        targets: dict[tuple[str, str], list] = {}
        for ref in batch.rt.references:
            if batch.has_column(ref.field):
                targets.setdefault((ref.target, ref.target_field), []).append(ref)
        for (target, target_field), refs in targets.items():
            # One lookup for the fields that name one target (a trade's buy and sell
            # order ids): the target's reports are read once, not once per field. As
            # they come: lookups take repeats (sorting a large batch's values to make
            # them unique cost more than looking the repeats up).
            asked = pl.concat([batch.frame.select(pl.col(r.field).filter(batch.applies(r.field)))
                               .to_series().drop_nulls().cast(pl.String).rename(target_field)
                               for r in refs])
            known = batch.lookup.existing(target, target_field, asked)
            if known.len() == asked.len():
                continue  # each value found (the usual case): no row can fail
            for ref in refs:
                col = pl.col(ref.field)
                yield Failure(Code.E009, ref.field,
                              batch.applies(ref.field) & col.is_not_null() & ~isin(col, known),
                              message(f"{target} {target_field} {{}} not found", col))
