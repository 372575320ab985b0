"""The report database as the risk indicators see it: daily tables, built once a run.

Every table is an Ibis expression over the store's current view, so DuckDB and Spark
evaluate it alike. A run over some days reads their history too (the longest an
indicator looks back, `Rules.history_days`), and its indicators report on the days
asked for only (`RiskData.reported`). `day` is the local trading day of the
instrument's venue, as days since the epoch; `k` counts an instrument's own trading
days, so that "3 trading days" is a frame of 3 rows whatever the holidays and
suspensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import SharedTables
from suptech.detect.market.data import Clock, related
from suptech.model.calendar import DAY, DEFAULT
from suptech.risk.rules import rules

#: Order messages counted by the order-to-trade ratio: new, modified, cancelled.
MESSAGES = ("NEW", "MODIFY", "CANCEL")


@dataclass
class RiskData(SharedTables):
    #: The plans of `bars`, `messages` and `executions`, each kept in the engine when
    #: first read (an indicator of the register reads none of them).
    plans: dict[str, ir.Table]
    #: Index levels: index_id, day, level, and the index's return that day.
    indices: ir.Table
    clock: Clock
    #: The days reported on: [first_day, last_day]; None: every day read.
    first_day: int | None = None
    last_day: int | None = None
    store: object = None
    end_ns: int | None = None

    @property
    def bars(self) -> ir.Table:
        """One row per instrument and day it traded: open, high, low, close, the
        previous trading day's close, the return, volume (shares), value, trades, its
        board, venue, price limit, tick and free float (the latest share capital
        reported by then; null where none is)."""
        return self.shared(("bars",), lambda: self.plans["bars"])

    @property
    def messages(self) -> ir.Table:
        """Order messages (new, modified, cancelled: what the order rules count):
        order_id, event_type, ts_event, day, isin, account_id, member_lei, quantity."""
        return self.shared(("messages",), lambda: self.plans["messages"])

    @property
    def executions(self) -> ir.Table:
        """One row per trade and side: trade_id, day, isin, account_id, side, quantity,
        value, member_lei (the account's member) and group_key (related accounts)."""
        return self.shared(("executions",), lambda: self.plans["executions"])

    def reported(self, t: ir.Table) -> ir.Table:
        """The rows of `t` (which has `day`) on the days the run reports on."""
        if self.first_day is not None:
            t = t.filter(t.day >= self.first_day)
        if self.last_day is not None:
            t = t.filter(t.day <= self.last_day)
        return t

    def reports(self, type_name: str) -> ir.Table:
        """Every report of a type up to the end of the range, with `since`: the local day
        it was made. All of their history: what a report states holds until the next
        report on it (`in_force`), however long ago it was made."""
        t = self.store.view(type_name, end_ns=self.end_ns)
        return t.mutate(since=self.clock.day(t.ts_event))

    def days(self, *type_names: str) -> ir.Table:
        """Calendar days, `day`: those of the range and the one before it (what a breach
        that begins on the first day is told from); with no range, from the first report
        of these types to the last of them or of the trades, whichever is later (an
        insurance may end, a review fall due, after the last filing)."""
        first, last = self.first_day, self.last_day
        if first is None or last is None:
            def known(values):
                return [v for v in values if v is not None]

            spans = [self.reports(n).since for n in type_names]
            lows = known(s.min().to_pyarrow().as_py() for s in spans)
            highs = known([s.max().to_pyarrow().as_py() for s in spans]
                          + [self.reports("trade").since.max().to_pyarrow().as_py()])
            first = min(lows, default=None) if first is None else first
            last = max(highs, default=None) if last is None else last
        if first is None or last is None:
            return ibis.memtable({"day": []}, schema={"day": "int64"})
        return ibis.memtable({"day": list(range(first - 1, last + 1))},
                             schema={"day": "int64"})

    def day_start(self, day: ir.IntegerValue) -> ir.IntegerValue:
        return day * DAY - self.clock._pick(None, lambda c: c.offset_ns)

    def day_close(self, day: ir.IntegerValue) -> ir.IntegerValue:
        return self.clock.close(day)


def in_force(t: ir.Table, key: list[str], days: ir.Table) -> ir.Table:
    """Reports (from `RiskData.reports`) as they stand on each of `days`: per `key`, the
    last report made by that day (the day's last, of several), dropped on the day the
    next one is made."""
    t = t.mutate(_n=ibis.row_number().over(group_by=[*key, "since"],
                                           order_by=ibis.desc(t.ts_event)))
    t = t.filter(t._n == 0)
    t = t.mutate(until=t.since.lead().over(group_by=key, order_by="since"))
    j = t.join(days, (t.since <= days.day) & (t.until.isnull() | (t.until > days.day)))
    return j.drop("_n", "until")


def risk_data(store, start_ns: int | None = None, end_ns: int | None = None,
              materialize: bool = True, history: int | None = None) -> RiskData:
    """`history`: trading days read before the range (default: the shipped rules')."""
    inst = store.view("instrument").select("isin", "mic", "board", "tick_size",
                                           "price_limit_pct", "lot_size")
    clock = Clock(inst.select("mic").distinct().to_pyarrow()["mic"].to_pylist())
    # A day's indicators read its history: calendar days enough for the trading days
    # the longest look back needs, over weekends and the longest holiday (a week).
    days = (history or rules().history_days()) * 7 // 5 + 14
    read_from = None if start_ns is None else start_ns - days * DAY
    calendar = clock.uniform or DEFAULT
    first = None if start_ns is None else calendar.local_day(start_ns)
    last = None if end_ns is None else calendar.local_day(end_ns - 1)

    trades = store.view("trade", start_ns=read_from, end_ns=end_ns)
    trades = trades.mutate(day=clock.day(trades.ts_event),
                           px=trades.price.cast("float64"))
    daily = trades.group_by(["isin", "day"]).aggregate(
        open=trades.px.argmin(trades.ts_event), close=trades.px.argmax(trades.ts_event),
        high=trades.px.max(), low=trades.px.min(), volume=trades.quantity.sum(),
        value=(trades.px * trades.quantity).sum(), trades=trades.count())
    by_isin = ibis.window(group_by="isin", order_by="day")
    daily = daily.mutate(k=ibis.row_number().over(by_isin),
                         prev_close=daily.close.lag().over(by_isin))
    daily = daily.mutate(ret=daily.close / daily.prev_close - 1)
    bars = daily.join(inst.select("isin", "mic", "board", "price_limit_pct", "lot_size",
                                  tick=inst.tick_size.cast("float64")), "isin")
    bars = _with_float(store, clock, bars)

    levels = store.view("index_level", start_ns=read_from, end_ns=end_ns)
    levels = levels.mutate(day=clock.day(levels.ts_event))
    # The day's last level is its close.
    levels = levels.group_by(["index_id", "day"]).aggregate(
        level=levels.level.cast("float64").argmax(levels.ts_event))
    by_index = ibis.window(group_by="index_id", order_by="day")
    indices = levels.mutate(index_ret=levels.level / levels.level.lag().over(by_index) - 1)

    events = store.view("order_event", start_ns=read_from, end_ns=end_ns)
    events = events.filter(events.event_type.isin(list(MESSAGES)))
    messages = events.select("order_id", "event_type", "ts_event", "isin", "account_id",
                             "member_lei", "quantity").mutate(day=clock.day(events.ts_event))

    accounts = related(store)[1].select("account_id", "member_lei", "group_key")
    sides = []
    for side, acct in (("BUY", trades.buy_account_id), ("SELL", trades.sell_account_id)):
        sides.append(trades.select("trade_id", "day", "isin", "quantity", account_id=acct,
                                   side=ibis.literal(side),
                                   value=trades.px * trades.quantity))
    executions = sides[0].union(sides[1]).join(accounts, "account_id", how="left")

    r = RiskData({"bars": bars, "messages": messages, "executions": executions}, indices,
                 clock, first, last, store, end_ns)
    r.materialize = materialize
    return r


def _with_float(store, clock: Clock, bars: ir.Table) -> ir.Table:
    """`bars` with each day's free float: the latest share capital reported by then."""
    cap = store.view("share_capital").select("isin", "ts_event", "float_shares")
    cap = cap.mutate(since=clock.day(cap.ts_event))
    joined = bars.left_join(cap, (bars.isin == cap.isin) & (cap.since <= bars.day))
    latest = ibis.window(group_by=[joined.isin, joined.day],
                         order_by=ibis.desc(joined.since))
    joined = joined.mutate(_n=ibis.row_number().over(latest)).filter(lambda t: t._n == 0)
    return joined.select(*bars.columns, float_shares=joined.float_shares.cast("float64"))
