"""Market detectors in real time: each detector's own definition, run over recent events.

The stream hands over each committed batch of order events and trades. They are kept
in an in-memory DuckDB, with the register (instruments, parties, accounts, insider
lists, announcements), as tables of the names and columns the report database has;
`suptech.detect.market.data.market_data` reads them as it reads the store. On each
`advance`, every detector's `episodes` expression runs over the events of its `reach`,
starting from the rows that can begin an episode not yet taken (`MarketData.anchored`
and `due`: in a scan, every row), and the episodes done since the last advance are
kept (in DuckDB too). Their cases are
then gathered again by the detector's `cases`, over all the episodes kept for them,
and become alerts by `suptech.detect.run.alerts_of`: the scan's way. So a scan of the
same data raises the same alerts, with the same ids, windows, scores and evidence
(tests/test_window.py).

Tables several detectors read are kept, not computed again inside each one's query
(`suptech.detect.window_kept`): the tables derived from the reports (made from the new
rows, at the next advance), aggressive orders, each instrument's usual order size, and
a shared table that detectors of one reach build (spoofing's and layering's ladder),
made once an advance.

Event time: the watermark is the latest event seen of the type that lags (the stream
commits a fetch's orders before its trades); an episode is taken once it is done by
the watermark less `lateness` (reports of one type arrive at most that late), or by the
latest event when the stream is drained (`advance(drained=True)`: nothing more is on
its way, as at the close). A case grows as its episodes come; each growth is an
alert of the same id, fuller than the last (the store keeps the fullest).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import polars as pl
import pyarrow as pa

import suptech.detect.market  # noqa: F401  (registers the built-in detectors)
from suptech.detect.base import MINUTE, REGISTRY, SECOND, Detector
from suptech.detect.market.common import AGGRESSIVE, USUAL, USUAL_REACH
from suptech.detect.market.data import ORDER_EVENT, Clock, MarketData, cancels_of, market_data
from suptech.detect.run import alerts_of
from suptech.detect.window_kept import DERIVED, NEVER, KeptTables, bound
from suptech.model.calendar import DAY, DEFAULT, longest_break
from suptech.model.reports import REPORT_TYPES
from suptech.store.database import within
from suptech.store.schema import alert_schema, report_schema

#: The register the market detectors read, and its columns.
REGISTER = {
    "instrument": ("isin", "asset_class", "lot_size", "tick_size", "underlying_isin", "mic"),
    "party": ("party_id", "group_id", "region"),
    "account": ("account_id", "owner_party_id", "member_lei", "account_type"),
    "announcement": ("announcement_id", "isin", "ts_event", "price_sensitive", "category"),
    "insider": ("isin", "party_id", "valid_from", "valid_to"),
}
#: The events, and their columns.
EVENTS = {
    "order_event": ORDER_EVENT,
    "trade": ("trade_id", "ts_event", "isin", "price", "quantity", "buy_account_id",
              "sell_account_id", "buy_order_id", "sell_order_id", "aggressor_side"),
}
#: What a stream sends: the columns the detectors read, of each report type.
COLUMNS = REGISTER | EVENTS
#: How far (event time) a report may arrive behind a later one, by default: at least
#: what a publisher gathers into one message (`suptech replay`'s slice).
LATENESS = 5 * SECOND


def horizon(lateness: int, detectors: list[Detector] | None = None) -> int:
    """How far back from the latest event (ns) a window keeps events: the longest reach
    (of trading time, so with the longest break; at least what the usual order size
    reads) and the lateness."""
    reach = max([d.reach() for d in detectors or incremental()] + [USUAL_REACH])
    return reach + lateness + longest_break()


def incremental() -> list[Detector]:
    """The registered detectors written as episodes and cases: those that run here."""
    return [cls() for cls in REGISTRY.detectors.values() if cls().incremental]


@dataclass
class Window(KeptTables):
    """The recent events and the register, as tables `market_data` reads."""

    detectors: list[Detector] = field(default_factory=incremental)
    lateness: int = LATENESS
    run_id: str = field(default_factory=lambda: f"STREAM-{time.time_ns()}")

    def __post_init__(self):
        self.con = ibis.duckdb.connect()  # in memory
        self.raw = self.con.con
        self.raw.execute("SET threads = 1")  # the consumer has the other core
        # No automatic checkpoints: in memory, one compresses what was added, and cost
        # an add half a second every other slice of a full-scale day.
        self.raw.execute("SET checkpoint_threshold = '1TB'")
        self.watermark: int | None = None
        self.latest: dict[str, int] = {}  # per event type, the latest event seen
        self.cut: int | None = None  # episodes done up to here are taken
        self.clock = Clock([])
        self.region: dict[str, str] = {}
        self.kept: set[str] = set()  # detectors with an episode table
        self.tables: set[str] = set()  # derived tables made
        self.arriving: str | None = None  # the event type whose rows are being derived
        self.dirty: list[pl.Series] = []  # orders whose aggressive row may have changed
        self.usual_from: int | None = None  # the first minute orders arrived in since
        self.dirty_from: int | None = None  # the earliest report arrived since (ns)
        self.pending: dict[str, list[pl.DataFrame]] = {}  # added, not yet derived
        self.registered: set[str] = set()  # the register's tables made
        #: Shared tables several detectors read, made once an advance: key -> (table,
        #: the detectors that read it, its expression). Found at the first advance.
        self.common: dict[tuple, tuple[str, list[Detector], ir.Table]] | None = None
        for name, columns in EVENTS.items():  # no rows of a type, as the store types it
            schema = report_schema(REPORT_TYPES[name])
            self.con.create_table(f"_none_{name}",
                                  schema=ibis.schema({c: schema[c] for c in columns}))
        #: Per detector, its episodes' and its cases' queries, compiled once (Ibis takes
        #: a tenth to a half of a second to build and compile each) and run with the
        #: advance's bounds as variables.
        self.sql: dict[str, tuple] = {}  # key -> (SQL, Arrow schema of its result)

    # ---- what arrives ------------------------------------------------------------

    def view(self, name: str, start_ns: int | None = None,
             end_ns: int | None = None) -> ir.Table:
        """The store's view of a report type, as `market_data` reads it (`Store.view`):
        an event type's new rows (`_new_<type>`) while they are being derived."""
        if name not in EVENTS:
            t = self.con.table(name)
        else:
            t = self.con.table(f"_new_{name}" if name == self.arriving else f"_none_{name}")
        return t if start_ns is None and end_ns is None else within(t, start_ns, end_ns)

    def data(self, lo, reader: Detector | None = None) -> MarketData:
        """What the detectors read: the derived tables from `lo` (ns of trading time)
        on. The shared tables made once an advance are provided to the detectors that
        read them (`reader`)."""
        t = {name: self.con.table(f"d_{name}") for name in ("accounts", "parties")}
        for columns in DERIVED.values():
            for name, ts in columns.items():
                table = self.con.table(f"d_{name}")
                t[name] = table.filter((table.tt if "tt" in table.columns else table[ts]) >= lo)
        m = MarketData(t["orders"], t["trades"], t["executions"],
                       t["derivative_executions"], t["accounts"], t["parties"],
                       self.con.table("instrument"), self.con.table("announcement"),
                       self.con.table("insider"), cancels_of(t["ends"]), t["ends"],
                       self.clock, since=bound("since"), prev=bound("prev"),
                       cut=bound("cut"))
        m.materialize = False
        if "d_aggressive" in self.tables:
            ag = self.con.table("d_aggressive")
            m.provide(AGGRESSIVE, ag.filter(ag.tt >= lo))
        if "d_usual" in self.tables:
            m.provide(USUAL, self.con.table("d_usual"))
        for key, (name, readers, _) in (self.common or {}).items():
            if reader in readers:
                m.provide(key, self.con.table(name))
        return m

    def register(self, tables: dict[str, pl.DataFrame]) -> None:
        """The register as the store has it now (all of it, replacing what was)."""
        for name, frame in tables.items():
            self.raw.register("_in", frame.select(REGISTER[name]).to_arrow())
            self.raw.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _in')
            self.raw.unregister("_in")
            self.registered.add(name)
        mics = self.raw.execute("SELECT DISTINCT mic FROM instrument").fetchall() \
            if "instrument" in tables else []
        clock = Clock([m for (m,) in mics])
        if clock.by_mic != self.clock.by_mic:  # the queries hold the calendars' hours
            self.sql.clear()
            self.common = None
        self.clock = clock
        if self.ready_register():
            m = self._derive()
            for name in ("accounts", "parties"):
                self.raw.register("_rows", getattr(m, name).to_pyarrow())
                self.raw.execute(f'CREATE OR REPLACE TABLE "d_{name}" AS SELECT * FROM _rows')
                self.raw.unregister("_rows")
        if "party" in tables or "account" in tables:
            rows = self.raw.execute(
                "SELECT a.account_id, p.region FROM account a JOIN party p "
                "ON a.owner_party_id = p.party_id WHERE p.region IS NOT NULL").fetchall()
            self.region = dict(rows)

    def add(self, type_name: str, rows: pl.DataFrame) -> None:
        """New reports of an event type (only NEW ones: corrections are the scan's).
        They are derived at the next advance, with any others that came before it:
        each derivation is a few queries, whatever the rows."""
        if "action" in rows.columns:
            rows = rows.filter(pl.col("action") == "NEW")
        if rows.is_empty():
            return
        self.pending.setdefault(type_name, []).append(rows.select(EVENTS[type_name]))
        self.latest[type_name] = max(self.latest.get(type_name, NEVER),
                                     int(rows["ts_event"].max()))
        # Each type's reports arrive in event-time order, but a fetch commits its orders
        # before its trades: time has passed for both only up to the later of the two.
        if len(self.latest) == len(EVENTS):
            self.watermark = min(self.latest.values())

    # ---- what it finds -----------------------------------------------------------

    def _derive(self) -> MarketData:
        """`market_data` over the new rows of the type arriving (and the register)."""
        return market_data(self, materialize=False, clock=self.clock)

    def ready_register(self) -> bool:
        return set(REGISTER) <= self.registered

    def ready(self) -> bool:
        return self.ready_register() and all(
            f"d_{name}" in self.tables for d in DERIVED.values() for name in d)

    def advance(self, drained: bool = False) -> pl.DataFrame:
        """The alerts of the cases that grew: episodes done since the last advance."""
        if self.watermark is None or not self.ready_register():
            return self.empty()
        cut = max(self.latest.values()) if drained else self.watermark - self.lateness
        if self.cut is not None and cut <= self.cut:
            return self.empty()  # time has not passed: the rows wait for the next
        self._flush()
        if not self.ready():
            return self.empty()
        prev, self.cut = self.cut, cut
        self._keep_aggressive()
        self._keep_usual()
        self.raw.execute(f"SET VARIABLE prev = {NEVER if prev is None else prev}")
        self.raw.execute(f"SET VARIABLE cut = {cut}")
        results = []
        # The trading clock at `prev` (the earliest of the venues'): reaches count back
        # from it.
        since = NEVER if prev is None else min(
            c.trading_time(prev) for c in set(self.clock.by_mic.values()) or {DEFAULT})
        self.raw.execute(f"SET VARIABLE since = {since}")
        running = [d for d in self.detectors
                   if not d.at_close or self._close_between(prev, cut)]
        for d in self.detectors:
            lo = NEVER if prev is None else since - d.reach()
            self.raw.execute(f"SET VARIABLE lo_{d.id} = {lo}")
        if self.common is None:
            self._find_common()
        self._make_common(running)
        for d in running:
            hits = self._grow(d)
            if hits is not None:
                results.append((d, hits))
        self._forget(cut)
        return self.alerts(alerts_of(results))

    def _compiled(self, key: str, build) -> tuple[str, pa.Schema]:
        """`build()`'s expression as SQL, compiled once under `key` (until the register
        changes), and the Arrow schema Ibis gives its result."""
        if key not in self.sql:
            expr = build()
            schema = expr.schema().to_pyarrow() if hasattr(expr, "schema") else None
            self.sql[key] = (self.con.compile(expr), schema)
        return self.sql[key]

    def _query_sql(self, key: str, build) -> str:
        return self._compiled(key, build)[0]

    def _query(self, key: str, build) -> pa.Table:
        """The result of `build()`'s expression, typed as Ibis types it (DuckDB reads
        `0.5` as a decimal where Ibis means a double)."""
        sql, schema = self._compiled(key, build)
        return self.raw.execute(sql).fetch_arrow_table().cast(schema)

    def _grow(self, d: Detector) -> pl.DataFrame | None:
        def due(what):
            m = self.data(bound(f"lo_{d.id}"), d)
            return m.due(what(m))

        if type(d).anchors is not Detector.anchors and not self.raw.execute(self._query_sql(
                f"anchors {d.id}", lambda: due(d.anchors).count())).fetchone()[0]:
            return None  # none of its episodes is done since the last advance
        episodes = lambda: due(d.episodes)  # noqa: E731

        new = self._query(f"episodes {d.id}", episodes)
        if not new.num_rows:
            return None
        table, keys = f"episodes_{d.id}", f"keys_{d.id}"
        self.raw.register("_in", new)
        if d.id in self.kept:
            self.raw.execute(f'INSERT INTO "{table}" SELECT * FROM _in')
        else:
            self.raw.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _in')
            self.kept.add(d.id)
        case = ", ".join(f'"{c}"' for c in d.case)
        self.raw.execute(f'CREATE OR REPLACE TABLE "{keys}" AS SELECT DISTINCT {case} FROM _in')
        self.raw.unregister("_in")
        # The cases that grew, gathered again over every episode kept for them.
        found = self._query(f"cases {d.id}", lambda: d.cases(
            self.con.table(table).semi_join(self.con.table(keys), list(d.case))))
        return pl.from_arrow(found)

    def _close_between(self, prev: int | None, cut: int) -> bool:
        """Whether a trading day closed in (prev, cut] on any venue."""
        for c in set(self.clock.by_mic.values()) or {self.clock.uniform}:
            day = c.local_day(cut)
            for d in (day - 1, day):
                if (prev is None or c.close(d) > prev) and c.close(d) <= cut:
                    return True
        return False

    def horizon(self) -> int:
        return horizon(self.lateness, self.detectors)

    def _forget(self, cut: int) -> None:
        """Events no detector can read again, and episodes of cases long settled."""
        oldest = cut - self.horizon()
        for columns in DERIVED.values():
            for name, ts in columns.items():
                self.raw.execute(f'DELETE FROM "d_{name}" WHERE "{ts}" < ?', [oldest])
        if "d_aggressive" in self.tables:
            self.raw.execute("DELETE FROM d_aggressive WHERE ts < ?", [oldest])
        for name in ("d_bars", "d_usual"):
            if name in self.tables:
                self.raw.execute(f"DELETE FROM {name} WHERE minute < ?", [oldest // MINUTE])
        for d in self.detectors:
            if d.id in self.kept:
                self.raw.execute(f'DELETE FROM "episodes_{d.id}" WHERE done < ?',
                                 [cut - 2 * DAY])

    def alerts(self, alerts: pl.DataFrame) -> pl.DataFrame:
        """In the alerts table's format, with `regions`: the regions of the alert's
        accounts' owners (the subjects it is published on)."""
        regions = [sorted({self.region[a] for a in accounts.split(";") if a in self.region})
                   for accounts in alerts["account_ids"]]
        return alerts.with_columns(pl.lit(self.run_id).alias("scan_id"),
                                   pl.Series("regions", regions, pl.List(pl.String)))

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=alert_schema() | {"regions": pl.List(pl.String)})


def stored_events(store, horizon: int, until: int | None = None, chunk: int = 3600 * SECOND):
    """(report type, rows) of the store's events within `horizon` ns of the latest one
    (of those before `until`), an hour of event time at a time, orders before trades:
    what a restarted stream feeds its window again, so that it carries on where the
    last one stopped (the store holds every report the stream committed)."""
    views = {name: store.view(name).select(*EVENTS[name]) for name in EVENTS}
    if until is not None:
        views = {name: v.filter(v.ts_event < until) for name, v in views.items()}
    ends = [v.ts_event.max().to_pyarrow().as_py() for v in views.values()]
    if all(e is None for e in ends):
        return
    latest = max(e for e in ends if e is not None)
    # The reports as known now, computed once (the store's view is of every version).
    views = {name: v.filter(v.ts_event >= latest - horizon).cache() for name, v in views.items()}
    try:
        starts = [v.ts_event.min().to_pyarrow().as_py() for v in views.values()]
        first = min(s for s in starts if s is not None)
        for start in range(first, latest + 1, chunk):
            for name, v in views.items():
                part = v.filter((v.ts_event >= start) & (v.ts_event < start + chunk))
                rows = pl.from_arrow(part.order_by("ts_event").to_pyarrow())
                if rows.height:
                    yield name, rows
    finally:
        for v in views.values():
            v.release()
