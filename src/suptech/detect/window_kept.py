"""What the market detectors' window (`suptech.detect.window`) keeps across advances:
the tables `market_data` derives from the events, made from the new rows only; tables
several detectors read, kept or made once an advance rather than computed again inside
each detector's query; and the bounds its compiled queries take."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import polars as pl
import pyarrow as pa

from suptech.detect.base import MINUTE, Detector
from suptech.detect.market.common import (
    AGGRESSIVE, USUAL, USUAL_MINUTES, aggressive_orders_of, minute_medians, usual_of)
from suptech.detect.market.data import derivatives

#: Below every timestamp: the lower bound of a first advance.
NEVER = -(2 ** 62)
#: The shared tables the window keeps itself, as rows arrive.
KEPT = (AGGRESSIVE, USUAL)
#: The tables `market_data` derives from each event type's rows (one row of theirs
#: from one of its), kept derived as the rows arrive, and the time column of each; in
#: order, for one may be made from the new rows of one before it (`FROM_DERIVED`).
DERIVED = {"order_event": {"orders": "ts_event", "ends": "ts_end"},
           "trade": {"trades": "ts_event", "executions": "ts_event",
                     "derivative_executions": "ts_event"}}
#: Those made from another's new rows, as `market_data` makes them from that table.
FROM_DERIVED = {"derivative_executions": ("executions", derivatives)}
#: How long before the reports that arrived an order that took liquidity in them is
#: first looked for (ns): most were entered moments before.
RECENT = 10 * MINUTE


@ibis.udf.scalar.builtin
def getvariable(name: str) -> dt.int64:
    """DuckDB's variable `name` (SET VARIABLE): a bound that changes on every advance
    in a query compiled once."""


def bound(name: str) -> ir.IntegerValue:
    return getvariable(name).name(name)


class KeptTables:
    """The window's kept tables (a part of `Window`, which has the connection, the
    derived tables and the compiled queries)."""

    def _flush(self) -> None:
        """The rows added since the last advance, derived (`add`)."""
        for type_name in DERIVED:  # orders before the trades that fill them
            if type_name in self.pending:
                self._derive_rows(type_name, pl.concat(self.pending.pop(type_name)))

    def _derive_rows(self, type_name: str, rows: pl.DataFrame) -> None:
        # Derived as `market_data` derives them, by queries compiled once per type.
        self.raw.register(f"_new_{type_name}", rows.to_arrow())
        self.arriving = type_name
        sources = {source for source, _ in FROM_DERIVED.values()}
        try:
            for name in DERIVED[type_name]:
                key = f"derive {type_name} {name}"
                if name in FROM_DERIVED:
                    source, how = FROM_DERIVED[name]
                    build = lambda: how(  # noqa: E731
                        self.con.table(f"_new_d_{source}"), self.con.table("instrument"))
                else:
                    build = lambda: getattr(self._derive(), name)  # noqa: E731
                if f"d_{name}" not in self.tables:
                    # The table typed as Ibis types its first rows: DuckDB casts what is
                    # inserted later to them.
                    self.raw.register("_rows", self._query(key, build))
                    self.raw.execute(f'CREATE TABLE "d_{name}" AS SELECT * FROM _rows')
                    if name in sources:  # and its new rows, for those made from them
                        self.raw.execute(f'CREATE TABLE "_new_d_{name}" AS SELECT * FROM _rows')
                    self.raw.unregister("_rows")
                    self.tables.add(f"d_{name}")
                elif name in sources:
                    self.raw.execute(f'DELETE FROM "_new_d_{name}"')
                    self.raw.execute(f'INSERT INTO "_new_d_{name}" ' + self._query_sql(key, build))
                    self.raw.execute(f'INSERT INTO "d_{name}" SELECT * FROM "_new_d_{name}"')
                else:  # inserted where it is computed
                    self.raw.execute(f'INSERT INTO "d_{name}" ' + self._query_sql(key, build))
        finally:
            self.raw.unregister(f"_new_{type_name}")
            self.arriving = None
        self._arrived(type_name, rows)

    def _arrived(self, type_name: str, rows: pl.DataFrame) -> None:
        """Orders whose aggressive row may have changed: those entered, and those that
        took liquidity (the resting side's order may be hours old, and did not)."""
        first = int(rows["ts_event"].min())
        self.dirty_from = first if self.dirty_from is None else min(self.dirty_from, first)
        if type_name == "order_event":
            self.dirty.append(rows.filter(pl.col("event_type") == "NEW")["order_id"])
            first = int(rows["ts_event"].min()) // MINUTE
            self.usual_from = first if self.usual_from is None else min(self.usual_from, first)
        else:
            side = pl.col("aggressor_side")
            self.dirty.append(rows.select(pl.when(side == "BUY").then("buy_order_id")
                                          .when(side == "SELL").then("sell_order_id")
                                          .alias("order_id"))["order_id"])

    def _keep_aggressive(self) -> None:
        """Aggressive orders (`suptech.detect.market.common.aggressive_orders`), kept as
        a table: made again for each order whose NEW event or a trade has arrived since
        the last advance, over all its executions kept. Two detectors read them over an
        hour or two; computing them there each advance cost most of the advance."""
        if not self.dirty or not {"d_orders", "d_executions"} <= self.tables:
            return
        ids = pl.concat(self.dirty).drop_nulls().unique().cast(pl.String)
        recent = self.dirty_from - RECENT
        self.dirty, self.dirty_from = [], None
        self.raw.register("_dirty", pa.table({"order_id": ids.to_arrow()}))
        try:
            # An order trades after it is entered: its executions are read from its
            # entry on (the earliest of these orders' entries). Most were entered
            # moments ago: look among the recent orders first, then, if some are not
            # there, among all.
            entered = "SELECT count(DISTINCT order_id), min(tt) FROM d_orders WHERE " \
                      "order_id IN (SELECT order_id FROM _dirty)"
            found, since = self.raw.execute(entered + " AND ts_event >= ?",
                                            [recent]).fetchone()
            if found < len(ids):
                since = self.raw.execute(entered).fetchone()[1]
            if since is None:
                return
            self.raw.execute(f"SET VARIABLE lo_aggressive = {int(since)}")
            build = lambda: aggressive_orders_of(  # noqa: E731
                self.data(bound("lo_aggressive")), only=self.con.table("_dirty"))
            if "d_aggressive" in self.tables:
                # Their rows were made after they were entered.
                self.raw.execute('DELETE FROM d_aggressive WHERE tt >= ? AND order_id IN '
                                 '(SELECT order_id FROM _dirty)', [int(since)])
                self.raw.execute("INSERT INTO d_aggressive "
                                 + self._query_sql("derive aggressive", build))
            else:
                self.raw.register("_rows", self._query("derive aggressive", build))
                self.raw.execute("CREATE TABLE d_aggressive AS SELECT * FROM _rows")
                self.raw.unregister("_rows")
                self.tables.add("d_aggressive")
        finally:
            self.raw.unregister("_dirty")

    def _keep_usual(self) -> None:
        """The instruments' usual order sizes (`common.usual_order_size`), kept as two
        tables: each minute's median (`d_bars`), made again for the minutes orders have
        arrived in since the last advance, and the usual size over it and the minutes
        before (`d_usual`), made again from the first of them on. Three detectors size
        orders by it over half an hour or more; computing it there each advance cost
        most of their time."""
        if self.usual_from is None or "d_orders" not in self.tables:
            return
        first, self.usual_from = self.usual_from, None
        self.raw.execute(f"SET VARIABLE usual_from = {first}")

        def bars():
            o = self.con.table("d_orders")
            return minute_medians(o.filter(o.ts_event >= bound("usual_from") * MINUTE))

        def usual():
            b = self.con.table("d_bars")
            u = usual_of(b.filter(b.minute >= bound("usual_from") - USUAL_MINUTES))
            return u.filter(u.minute >= bound("usual_from"))

        for name, build in (("d_bars", bars), ("d_usual", usual)):
            if name in self.tables:
                self.raw.execute(f"DELETE FROM {name} WHERE minute >= ?", [first])
                self.raw.execute(f"INSERT INTO {name} " + self._query_sql(name, build))
            else:
                self.raw.register("_rows", self._query(name, build))
                self.raw.execute(f"CREATE TABLE {name} AS SELECT * FROM _rows")
                self.raw.unregister("_rows")
                self.tables.add(name)

    def _find_common(self) -> None:
        """The shared tables (`MarketData.shared`) that several detectors of the same
        reach build (spoofing's and layering's ladder): computed once an advance, into
        a table of their own, which those detectors read (found by building each
        detector's episodes once)."""
        self.common = {}
        users: dict[tuple, list[Detector]] = {}
        built: dict[tuple, ir.Table] = {}
        for d in self.detectors:
            m = self.data(bound(f"lo_{d.id}"))
            d.episodes(m)
            for key, expr in m.__dict__.get("_shared", {}).items():
                if key not in KEPT:
                    users.setdefault((key, d.reach()), []).append(d)
                    built.setdefault((key, d.reach()), expr)
        for (key, reach), ds in users.items():
            if len(ds) > 1 and key not in self.common:
                name = f"shared_{len(self.common)}"
                expr = built[(key, reach)]
                self.con.create_table(name, schema=expr.schema(), overwrite=True)
                self.common[key] = (name, ds, expr)

    def _make_common(self, running: list[Detector]) -> None:
        """The shared tables made once an advance, for the detectors running now."""
        for name, ds, expr in self.common.values():
            if any(d in running for d in ds):
                # Its readers' reaches are the same: the bounds of the first are theirs.
                self.raw.execute(f'DELETE FROM "{name}"')
                self.raw.execute(f'INSERT INTO "{name}" '
                                 + self._query_sql(f"shared {name}", lambda: expr))
