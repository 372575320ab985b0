"""What validation asks the report database (`suptech.ingest.validate.Lookup`): a part of
`suptech.store.database.Store`, which has the connection and the views."""

from __future__ import annotations

import ibis
import polars as pl
import pyarrow as pa

from suptech.model.reports import report_type
from suptech.store.schema import KEY

#: Values asked of `existing` from which it counts the reports first (`held`).
WHOLE = 100_000
#: An instrument's sizes as validation reads them (`instrument_sizes`).
SIZES = {"isin": pl.String, "tick_size": pl.Decimal(38, 9), "lot_size": pl.Int64}
#: `report_states`' answer: whether each key found is live (not cancelled).
REPORT_STATES = {"submitter": pl.String, "report_id": pl.String, "live": pl.Boolean}


class Lookups:
    """The lookups of `Store` (`con`, `engine`, `view`, `versions`, `_latest`)."""

    def _is_empty(self, type_name: str) -> bool:
        # Versions are never deleted: a table seen with rows keeps them (asked per check
        # of every file, which counting each time made cost as much as the check).
        if type_name in self._has_rows:
            return False
        if self.con.table(type_name).count().to_pyarrow().as_py() == 0:
            return True
        self._has_rows.add(type_name)
        return False

    def existing(self, type_name: str, field: str, values: pl.Series) -> pl.Series:
        """`Lookup.existing`: those of `values` held, as often as asked."""
        values = values.drop_nulls().cast(pl.String).rename(field)
        if values.is_empty() or self._is_empty(type_name):
            return pl.Series(field, [], dtype=pl.String)
        # Where a file asks more values than there are reports (a day's orders name the
        # accounts), every value held is read and the values looked up in it: making
        # ten million values unique cost several times that.
        held = self.held(type_name, field, most=len(values) - 1) \
            if len(values) >= WHOLE else None
        if held is None:
            # The values held by a live report (`view`: only the few amended ones are
            # ranked version by version), as asked: a semi-join keeps each asked value
            # once whatever the reports, and repeats cost it less than making the
            # values unique first. Counted first: usually each one is found.
            wanted = ibis.memtable(pa.table({"_v": values.to_arrow()}))
            live = self.view(type_name)
            found = wanted.semi_join(live, wanted._v == live[field])
            if found.count().to_pyarrow().as_py() == len(values):
                return values
            held = pl.from_arrow(found.to_pyarrow()).to_series().cast(pl.String)
        return values.filter(values.is_in(held.implode()))

    def held(self, type_name: str, field: str, most: int | None = None) -> pl.Series | None:
        """Every value of `field` a live report holds, each once; None, unread, where
        the type holds more than `most` reports."""
        if self._is_empty(type_name):
            return pl.Series(field, [], dtype=pl.String)
        if most is not None and self.engine.count(report_type(type_name).name) > most:
            return None
        live = self.view(type_name)
        return pl.from_arrow(live.select(field).distinct().to_pyarrow()).to_series() \
            .cast(pl.String)

    def instrument_sizes(self, isins: pl.Series) -> pl.DataFrame:
        empty = pl.DataFrame(schema=SIZES)
        isins = isins.drop_nulls().unique()
        if isins.is_empty() or self._is_empty("instrument"):
            return empty
        wanted = ibis.memtable(pa.table({"_v": isins.to_arrow()}))
        inst = self.view("instrument")
        # An ISIN listed on several venues keeps one tick and lot size per ISIN: the
        # latest reported.
        per_isin = inst.mutate(_n=ibis.row_number().over(
            group_by="isin", order_by=[ibis.desc(inst.ts_received), ibis.desc(inst.row)]))
        per_isin = per_isin.filter(per_isin._n == 0)
        hits = per_isin.inner_join(wanted, per_isin.isin == wanted._v) \
            .select("isin", "tick_size", "lot_size")
        return pl.from_arrow(hits.to_pyarrow()).cast(empty.schema)

    def report_states(self, type_name: str, keys: pl.LazyFrame) -> pl.DataFrame:
        """For keys already in the database: whether the report is live (not cancelled).

        `keys` (submitter, report_id) may repeat; each key found is answered once. They
        are lazy because a large file has many and an empty store needs none of them.
        """
        empty = pl.DataFrame(schema=REPORT_STATES)
        if self._is_empty(type_name):
            return empty
        keys = keys.unique().collect()
        if keys.is_empty():
            return empty
        wanted = ibis.memtable(keys.rename({"submitter": "_s", "report_id": "_r"}).to_arrow())
        t = self.versions(type_name)
        mine = t.inner_join(wanted, [t.submitter == wanted._s, t.report_id == wanted._r])
        latest = self._latest(mine.select(*KEY, "action", "ts_received", "row"))
        states = latest.select(*KEY, live=latest.action != "CANC")
        return pl.from_arrow(states.to_pyarrow()).cast(empty.schema)
