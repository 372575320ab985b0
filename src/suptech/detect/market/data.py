"""The report database as market detectors see it: a few derived tables, built once.

Every table here is an Ibis expression over the store's current view, restricted to the
scanned days, so each engine evaluates it where the data lives. Times are int64
nanoseconds UTC; `day` is the local trading day (by the venue's calendar) as a number
of days since the epoch, which keeps day arithmetic integer on every engine, and `tt`
the trading clock (`Clock.trading_time`).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import SharedTables
from suptech.model.calendar import DAY, DEFAULT, Calendar, calendars


class Clock:
    """The trading calendars of a scan's instruments as Ibis expressions: the local
    day, the time of day and the trading clock of a timestamp, by its venue's calendar
    (`suptech.model.calendar`). When every venue keeps the same hours, which is the
    usual case, the expressions are constants and no row needs its venue."""

    def __init__(self, mics: list[str | None]):
        known = calendars()
        self.by_mic = {m: known.get(m or "", DEFAULT) for m in mics}
        distinct = set(self.by_mic.values()) or {DEFAULT}
        self.uniform: Calendar | None = next(iter(distinct)) if len(distinct) == 1 else None

    def _pick(self, mic, value) -> ir.Value:
        """`value(calendar)` for the row's venue: a constant where every venue's is the
        same (`mic` may then be None)."""
        if not self.differ(value):
            return ibis.literal(value(next(iter(self.by_mic.values()), DEFAULT)))
        return ibis.cases(*((mic == m, value(c)) for m, c in self.by_mic.items() if m),
                          else_=value(DEFAULT))

    def differ(self, value) -> bool:
        """Whether the venues' calendars differ in `value(calendar)`: if not, no row
        needs its venue for it."""
        return len({value(c) for c in self.by_mic.values()}) > 1

    def differ_in_clock(self) -> bool:
        """Whether the venues' days or trading clocks differ (their hours of trading
        may differ at the close alone)."""
        return self.differ(lambda c: (c.offset_ns, c.breaks))

    def day(self, ts: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        return ((ts + self._pick(mic, lambda c: c.offset_ns)) // DAY).cast("int64")

    def time_of_day(self, ts: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        return (ts + self._pick(mic, lambda c: c.offset_ns)) % DAY

    def trading_time(self, ts: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        """A clock that stops over the breaks between sessions (the lunch break), for
        windows in trading time: an order at 11:29 and one at 13:01 are two minutes
        apart for a trader (`Calendar.trading_time`, of a column)."""
        tod = self.time_of_day(ts, mic)
        most = max((len(c.breaks) for c in self.by_mic.values()), default=1)
        paused = ibis.literal(0)
        for i in range(most):
            start = self._pick(mic, lambda c: c.breaks[i][0] if i < len(c.breaks) else DAY)
            length = self._pick(mic, lambda c: c.breaks[i][1] - c.breaks[i][0]
                                if i < len(c.breaks) else 0)
            paused = paused + (tod - start).clip(lower=0, upper=length)
        return ts - paused

    def close_call_start(self, mic=None) -> ir.IntegerValue:
        """When the closing call opens, ns since local midnight; a venue without one
        gets a day's length (no time of day reaches it)."""
        return self._pick(mic, lambda c: DAY if c.close_call_start is None
                          else c.close_call_start)

    def close(self, day: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        """When trading on local `day` ends (the closing call's end, or the last
        session's), ns UTC: what a condition over the whole day waits for."""
        return day * DAY + self._pick(mic, lambda c: c.close_tod - c.offset_ns)

    def window_end(self, tt: ir.IntegerValue, day: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        """When a window of trading time that ends at `tt`, opened on local `day`, is
        over (ns UTC): at that moment, or at the day's close if it falls after the
        close that day (no trade comes between the close and the next morning)."""
        return self.capped(self.from_trading_time(tt, mic), day, mic)

    def capped(self, end: ir.IntegerValue, day: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        """`end`, or local `day`'s close if `end` falls after it that day: nothing of
        that day happens after its close."""
        close = self.close(day, mic)
        return ibis.ifelse((end > close) & (self.day(end, mic) == day), close, end)

    def from_trading_time(self, tt: ir.IntegerValue, mic=None) -> ir.IntegerValue:
        """The moment (ns UTC) the trading clock shows `tt`: a window that ends `n`
        trading minutes after an event is over at this moment."""
        most = max((len(c.breaks) for c in self.by_mic.values()), default=1)
        out = tt
        for i in range(most):
            start = self._pick(mic, lambda c: c.breaks[i][0] if i < len(c.breaks) else DAY)
            length = self._pick(mic, lambda c: c.breaks[i][1] - c.breaks[i][0]
                                if i < len(c.breaks) else 0)
            tod = (out + self._pick(mic, lambda c: c.offset_ns)) % DAY
            out = out + ibis.ifelse(tod >= start, length, 0)
        return out

    @property
    def needs_mic(self) -> bool:
        return self.uniform is None


@dataclass
class MarketData(SharedTables):
    """Tables several detectors read; `shared` computes a derived one once per scan."""

    orders: ir.Table  # one row per order: its NEW event, with its size in lots
    trades: ir.Table
    executions: ir.Table  # one row per trade and side: account, side, aggressive or not
    derivative_executions: ir.Table  # those in derivatives, with their `underlying_isin`
    accounts: ir.Table  # account_id, owner, group_key, member_lei, account_type
    parties: ir.Table  # party_id, group_key
    instruments: ir.Table
    announcements: ir.Table
    insiders: ir.Table
    cancels: ir.Table  # order_id, ts_cancel, tt_cancel: orders withdrawn
    ends: ir.Table  # order_id, ts_end, tt_end, cancelled: an order's cancel, fill, expiry
    # or rejection
    clock: Clock
    #: Over a stream's window, the trading clock (`tt`) at its last advance: episodes
    #: done before it were taken then (`anchored`). None in a scan.
    since: ir.IntegerValue | None = None
    #: Over a stream's window, the last advance's and this one's ends (ns): it takes
    #: the episodes done in between (`due`).
    prev: ir.IntegerValue | None = None
    cut: ir.IntegerValue | None = None

    def due(self, t: ir.Table) -> ir.Table:
        """The rows of `t` (which has `done`) whose episodes a stream's window takes at
        this advance: done since the last one, up to this one's end. All, in a scan.
        A detector whose every episode is done when the row it starts from (an order, a
        trade) says starts from these: each is then worked on once, not again at every
        advance while it waits to be done."""
        if self.cut is None:
            return t
        return t.filter((t.done > self.prev) & (t.done <= self.cut))

    def anchored(self, t: ir.Table, tt: str, lead: int) -> ir.Table:
        """The rows of `t` that may anchor an episode not yet taken: in a scan, all of
        them; over a stream's window, those whose trading clock `tt` is at most `lead`
        ns before the last advance. A detector whose episodes are done at most `lead`
        ns of trading time after their anchor row (an order, a trade, a piece of news)
        starts from these: each advance then reads the context of what is new, not of
        the whole reach again, and finds the same episodes."""
        return t if self.since is None else t.filter(self.fresh(t[tt], lead))

    def fresh(self, tt: ir.IntegerValue, lead: int) -> ir.BooleanValue:
        """Whether a row at trading clock `tt` may anchor an episode not yet taken
        (`anchored`): always, in a scan."""
        return ibis.literal(True) if self.since is None else tt >= self.since - lead

    def venue(self, t: ir.Table) -> tuple[ir.Table, ir.Value | None]:
        """`t` (which has `isin`) and its venue's MIC where calendars differ (else None,
        and `t` as it is): what the clock's expressions take as `mic`."""
        if not self.clock.needs_mic:
            return t, None
        t = t.join(self.instruments.select("isin", _mic=self.instruments.mic), "isin")
        return t, t._mic

    def timed(self, t: ir.Table, ts: str, prefix: str = "") -> ir.Table:
        """`t` (which has `isin`) with the local time of day (`tod`), the trading clock
        (`tt`) and the closing call's start (`close_call`) of its column `ts`, by the
        calendar of the instrument's venue."""
        c = self.clock
        if c.needs_mic:
            t = t.join(self.instruments.select("isin", _mic=self.instruments.mic), "isin")
        mic = t._mic if c.needs_mic else None
        t = t.mutate(**{prefix + "tod": c.time_of_day(t[ts], mic),
                        prefix + "tt": c.trading_time(t[ts], mic),
                        prefix + "close_call": c.close_call_start(mic)})
        return t.drop("_mic") if c.needs_mic else t


def derivatives(executions: ir.Table, instruments: ir.Table) -> ir.Table:
    """`MarketData.derivative_executions`: few beside all, so a stream keeps them apart
    (made from the executions it keeps)."""
    underlying = instruments.filter(instruments.underlying_isin.notnull())
    return executions.join(underlying.select("isin", "underlying_isin"), "isin")


def cancels_of(ends: ir.Table) -> ir.Table:
    """`MarketData.cancels`: the ends that are cancellations."""
    c = ends.filter(ends.cancelled)
    return c.select("order_id", ts_cancel=c.ts_end, tt_cancel=c.tt_end)


#: The columns of an order event the market detectors read.
ORDER_EVENT = ("ts_event", "order_id", "event_type", "isin", "account_id", "side",
               "order_type", "price", "quantity", "time_in_force")


def related(store) -> tuple[ir.Table, ir.Table]:
    """Parties (party_id, group_key) and accounts (account_id, owner, member_lei,
    account_type, group_key). Parties are related when they share a household or
    control group; a party without one is related only to itself. Accounts are related
    through their owners."""
    party = store.view("party")
    parties = party.select("party_id", group_key=ibis.coalesce(
        party.group_id.concat(ibis.literal("#group")),
        party.party_id.concat(ibis.literal("#party"))))
    acct = store.view("account")
    accounts = acct.join(parties, acct.owner_party_id == parties.party_id, how="left").select(
        acct.account_id, owner=acct.owner_party_id, member_lei=acct.member_lei,
        account_type=acct.account_type,
        group_key=ibis.coalesce(parties.group_key,
                                acct.owner_party_id.concat(ibis.literal("#party"))))
    return parties, accounts


def market_data(store, start_ns: int | None = None, end_ns: int | None = None,
                materialize: bool = True, clock: Clock | None = None) -> MarketData:
    """`materialize` off: over a stream's window (`suptech.detect.window`), the shared
    tables stay expressions."""
    inst = store.view("instrument").select("isin", "asset_class", "lot_size", "tick_size",
                                           "underlying_isin", "mic")
    clock = clock or Clock(inst.select("mic").distinct().to_pyarrow()["mic"].to_pylist())

    def timed(t: ir.Table) -> ir.Table:
        """`day` and `tt` by the calendar of each row's venue."""
        needs = clock.differ_in_clock()
        if needs:
            t = t.join(inst.select("isin", _mic=inst.mic), "isin")
        mic = t._mic if needs else None
        t = t.mutate(day=clock.day(t.ts_event, mic), tt=clock.trading_time(t.ts_event, mic))
        return t.drop("_mic") if needs else t

    events = timed(store.view("order_event", start_ns=start_ns, end_ns=end_ns)
                   .select(*ORDER_EVENT))
    new = events.filter(events.event_type == "NEW").drop("event_type")
    orders = new.join(inst.select("isin", "lot_size"), "isin").mutate(
        lots=lambda t: t.quantity / t.lot_size).drop("lot_size")
    trades = timed(store.view("trade", start_ns=start_ns, end_ns=end_ns).select(
        "trade_id", "ts_event", "isin", "price", "quantity", "buy_account_id",
        "sell_account_id", "buy_order_id", "sell_order_id", "aggressor_side"))
    buys = trades.select(
        "trade_id", "ts_event", "tt", "day", "isin", "price", "quantity",
        account_id=trades.buy_account_id, order_id=trades.buy_order_id,
        other_account_id=trades.sell_account_id, side=ibis.literal("BUY"),
        aggressive=trades.aggressor_side == "BUY")
    sells = trades.select(
        "trade_id", "ts_event", "tt", "day", "isin", "price", "quantity",
        account_id=trades.sell_account_id, order_id=trades.sell_order_id,
        other_account_id=trades.buy_account_id, side=ibis.literal("SELL"),
        aggressive=trades.aggressor_side == "SELL")
    executions = buys.union(sells).join(inst.select("isin", "lot_size"), "isin")
    parties, accounts = related(store)
    ann = store.view("announcement").select("announcement_id", "isin", "ts_event",
                                            "price_sensitive", "category")
    ins = store.view("insider").select("isin", "party_id", "valid_from", "valid_to")
    ends = events.filter(events.event_type.isin(["CANCEL", "FILL", "EXPIRE", "REJECT"])
                         ).select("order_id", ts_end=events.ts_event, tt_end=events.tt,
                                  cancelled=events.event_type == "CANCEL")
    m = MarketData(orders, trades, executions, None, accounts, parties, inst, ann,
                   ins, None, ends, clock)
    m.materialize = materialize
    # The big tables every detector starts from, computed once for the scan.
    m.orders = m.shared(("orders",), lambda: orders)
    m.executions = m.shared(("executions",), lambda: executions)
    m.derivative_executions = derivatives(m.executions, inst)
    m.ends = m.shared(("ends",), lambda: ends)
    m.cancels = cancels_of(m.ends)
    return m
