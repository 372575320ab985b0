"""Building blocks several market detectors share: cancelled orders, what the same
account did on the other side while they rested, and aggressive orders."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import MINUTE
from suptech.detect.market.data import MarketData


#: An order's size is measured against the instrument's resting orders of the minutes
#: before it (`usual_order_size`): causal, so a stream judges it as a scan does.
USUAL_MINUTES = 30
#: How far before an order its usual size reads (`sized`): what a stream's window keeps
#: of each instrument's usual size, whatever its detectors' reach.
USUAL_REACH = (USUAL_MINUTES + 1) * MINUTE


def resting(o: ir.Table) -> ir.Table:
    """Limit orders meant to rest: not IOC (the venue cancels an IOC's unfilled rest)."""
    return o.filter(rests(o))


def rests(o: ir.Table) -> ir.BooleanValue:
    """Whether an order is meant to rest (`resting`)."""
    return (o.order_type == "LIMIT") & (o.time_in_force != "IOC")


def usual_order_size(m: MarketData) -> ir.Table:
    """Per instrument and minute (`minute`: ns // MINUTE of the clock), `usual`: the
    median lots of its resting orders over that minute and the `USUAL_MINUTES` before,
    as the median of each minute's median (a burst of orders in one minute weighs as
    one minute). A stream's window keeps it as orders arrive, by the same two steps."""
    return m.shared(USUAL, lambda: usual_of(minute_medians(m.orders)))


#: The shared table of `usual_order_size` (`MarketData.shared`).
USUAL = ("usual_order_size",)


def minute_medians(orders: ir.Table) -> ir.Table:
    """Per instrument and minute with an order of any kind (so that every order finds
    its minute), `med`: the median lots of the resting ones (null where there is none)."""
    o = orders.mutate(minute=(orders.ts_event // MINUTE).cast("int64"),
                      rest_lots=ibis.ifelse(rests(orders), orders.lots, ibis.null()))
    return o.group_by(["isin", "minute"]).aggregate(med=o.rest_lots.median())


def usual_of(bars: ir.Table) -> ir.Table:
    """`usual_order_size` from `minute_medians`: a minute's usual is the median of the
    medians of it and the `USUAL_MINUTES` before."""
    w = ibis.window(range=(-USUAL_MINUTES, 0), group_by=bars.isin, order_by=bars.minute)
    return bars.select("isin", "minute", usual=bars.med.median().over(w))


def sized(m: MarketData, t: ir.Table, ts: str, lots: str) -> ir.Table:
    """`t` with `size`: its column `lots` in multiples of the instrument's usual
    resting order at the moment `ts` (`usual_order_size`)."""
    t = t.mutate(minute=(t[ts] // MINUTE).cast("int64")).join(
        usual_order_size(m), ["isin", "minute"])
    return t.mutate(size=(t[lots] / t.usual).cast("float64"))


def quick_cancels(m: MarketData, min_size: float, max_life_ns: int,
                  lead: int | None = None) -> ir.Table:
    """Resting orders at least `min_size` times the instrument's usual order size then
    (`size`), cancelled within `max_life_ns` of entry; with `lead`, only those entered
    at most `lead` before a stream's last advance (`MarketData.anchored`).

    The unfilled rest of an IOC or market order is cancelled by the venue, not withdrawn
    by the trader: those do not count.
    """
    o, cancels = resting(m.orders), m.cancels
    if lead is not None:  # an order is cancelled after it is entered
        o, cancels = m.anchored(o, "tt", lead), m.anchored(cancels, "tt_cancel", lead)
    # Quick cancels first: they are few beside every resting order of the day.
    c = o.join(cancels.drop("tt_cancel"), "order_id")
    c = c.filter((c.ts_cancel - c.ts_event) <= max_life_ns)
    c = sized(m, c, "ts_event", "lots")
    return c.filter(c.size >= min_size).select(
        "order_id", "account_id", "isin", "side", "price", "lots", "size", "day", "tt",
        ts_new=c.ts_event, ts_cancel=c.ts_cancel)


def bucketed(t: ir.Table, ts: str, width_ns: int, offsets: range) -> ir.Table:
    """`t` with a `bucket` column, one row per offset: joining on buckets first keeps a
    join "within `width_ns` of each other" from pairing every order of a busy account
    with every other (market makers have thousands a day). The other side of the join
    has one row each, in its own bucket: give the offsets to the smaller side."""
    base = (t[ts] // width_ns).cast("int64")
    parts = [t.mutate(bucket=base + k) for k in offsets]
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part)
    return out


def with_bar_edges(t: ir.Table, keys: list[str]) -> ir.Table:
    """`t` (trades, grouped in bars by `keys`) with `first_ts` and `last_ts`: the first
    and last moments of each row's bar. What is read at those moments is aggregated over
    every trade there (a mean, a least id), so that no tie between fills that share a
    moment is broken at random and a stream and a scan read the same."""
    edges = t.group_by(keys).aggregate(first_ts=t.ts_event.min(), last_ts=t.ts_event.max())
    return t.join(edges, keys)


def other_side_while_resting(m: MarketData, cancelled: ir.Table, max_life_ns: int,
                             lead: int | None = None) -> ir.Table:
    """Per cancelled order, the same account's orders on the other side of the same
    instrument while it rested (entered at most `max_life_ns` before it, or while it
    rested, and not ended before it was entered): `other_lots` in all and their ids.
    `lead`: the cancelled orders were entered at most that before a stream's last
    advance (`MarketData.anchored`)."""
    # Only the orders of accounts with a cancelled order in the instrument: few.
    who = cancelled.select("account_id", "isin").distinct()
    o = m.orders if lead is None else m.anchored(m.orders, "tt", lead + max_life_ns)
    o = o.semi_join(who, ["account_id", "isin"])
    o = o.select("order_id", "account_id", "isin", "side", o_lots=o.lots, o_new=o.ts_event,
                 bucket=(o.ts_event // max_life_ns).cast("int64"))
    # An order ends after it is entered: its ends are read from then on.
    ends = m.ends if lead is None else m.anchored(m.ends, "tt_end", lead + max_life_ns)
    ends = ends.semi_join(o, "order_id")
    ends = ends.group_by("order_id").aggregate(o_end=ends.ts_end.min())
    o = o.left_join(ends, "order_id").drop("order_id_right")
    # Entered within max_life of ts_new, either way: in the order's bucket or the one
    # either side.
    c = bucketed(cancelled, "ts_new", max_life_ns, range(-1, 2))
    j = c.join(o, [c.account_id == o.account_id, c.isin == o.isin, c.bucket == o.bucket,
                   c.side != o.side, o.o_new >= c.ts_new - max_life_ns,
                   o.o_new <= c.ts_cancel, o.o_end.isnull() | (o.o_end >= c.ts_new)])
    return j.group_by(j.order_id).aggregate(other_lots=j.o_lots.sum(),
                                            others=j.order_id_right.collect())


def traded_other_side_while_resting(m: MarketData, cancelled: ir.Table,
                                    max_life_ns: int, lead: int | None = None) -> ir.Table:
    """Cancelled orders during whose life the same account traded on the other side
    (taking liquidity or resting: the genuine order may be either), one row a trade.
    `lead` as in `other_side_while_resting`."""
    # An execution within max_life after ts_new is in the order's bucket or the next.
    c = bucketed(cancelled, "ts_new", max_life_ns, range(0, 2))
    x = m.executions if lead is None else m.anchored(m.executions, "tt", lead)
    x = x.mutate(bucket=(x.ts_event // max_life_ns).cast("int64"))
    j = c.join(
        x, [c.account_id == x.account_id, c.isin == x.isin, c.bucket == x.bucket,
            c.side != x.side, x.ts_event >= c.ts_new, x.ts_event <= c.ts_cancel])
    # Each order meets an execution in one bucket only: no pair is counted twice.
    return j.select(order_id=c.order_id, trade_id=x.trade_id, ts_trade=x.ts_event)


#: The shared table of aggressive orders (`MarketData.shared`), one row per `order_id`: a
#: stream's window keeps it as reports arrive (`suptech.detect.window`).
AGGRESSIVE = ("aggressive_orders",)


def aggressive_orders(m: MarketData) -> ir.Table:
    """Orders that took liquidity: their first execution, traded size (`lots`), size
    asked for (`order_lots`: an IOC order may fill in part), price span, and the
    account's member and type (null for an account not in the register)."""
    return m.shared(AGGRESSIVE, lambda: aggressive_orders_of(m))


def aggressive_orders_of(m: MarketData, only: ir.Table | None = None) -> ir.Table:
    """`aggressive_orders`, computed; `only`: of the orders whose `order_id` it lists."""
    x = m.executions.filter(m.executions.aggressive)
    orders = m.orders
    if only is not None:
        x, orders = x.semi_join(only, "order_id"), orders.semi_join(only, "order_id")
    size = orders.select("order_id", order_lots=orders.lots)
    # The register of these orders' accounts only: a market has hundreds of thousands.
    a = m.accounts.semi_join(x, "account_id")
    a = a.select(_account=a.account_id, member_lei=a.member_lei, account_type=a.account_type)
    ag = x.group_by(["order_id", "account_id", "isin", "side", "day"]).aggregate(
        ts=x.ts_event.min(), tt=x.tt.min(), lots=(x.quantity / x.lot_size).sum(),
        vwap=(x.price * x.quantity).sum() / x.quantity.sum(),
        prices=x.price.nunique(), low=x.price.min(), high=x.price.max(),
        trades=x.trade_id.collect()).join(size, "order_id")
    return ag.left_join(a, ag.account_id == a._account).drop("_account")
