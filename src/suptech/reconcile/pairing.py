"""Dual-sided trades, paired and matched: the venue's trade report has two sides, each
the execution of one member's order, and the member reports that execution as a FILL or
PARTIAL_FILL of the order. Pairing finds which reports describe the same execution;
matching compares what they say, field by field, within `rules.Match`'s tolerances.

- A fill that names its trade (`trade_id`) pairs with that trade's side (the venue, the
  trade and the side): what CAT and the trade repositories pair on.
- A fill that names none pairs by its place in the order's life: the order's k-th fill
  with the k-th of the order's trades not already paired, in time order (ties by
  quantity), as the book executed them.
- A second report of one execution, by the same side, is a duplicate; it is not paired.

Written in Ibis, so the pairing runs on DuckDB and on Spark alike; over a range of
event times, so that a day's new reports pair against what the store already holds."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.model.calendar import DEFAULT

FILLS = ("FILL", "PARTIAL_FILL")
#: What each side of a pair says, named alike on both (prefixed v_ and m_ once paired).
SIDE = ("report_id", "submitter", "mic", "isin", "trade_id", "side", "order_id", "account_id",
        "price", "quantity", "ts_event")


def venue_sides(store, start_ns: int | None = None, end_ns: int | None = None) -> ir.Table:
    """Each trade report's two sides: the buyer's order and account, and the seller's."""
    t = store.view("trade", start_ns=start_ns, end_ns=end_ns)

    def side(name: str) -> ir.Table:
        low = name.lower()
        return t.select("report_id", "submitter", "mic", "isin", "trade_id",
                        side=ibis.literal(name), order_id=t[f"{low}_order_id"],
                        account_id=t[f"{low}_account_id"], price=t.price.cast("float64"),
                        quantity=t.quantity, ts_event=t.ts_event)
    return side("BUY").union(side("SELL"))


def member_fills(store, start_ns: int | None = None, end_ns: int | None = None) -> ir.Table:
    """Each member's executions: its orders' FILL and PARTIAL_FILL events, with the
    execution's own price and quantity where the member reports them."""
    e = store.view("order_event", start_ns=start_ns, end_ns=end_ns)
    e = e.filter(e.event_type.isin(FILLS))
    return e.select("report_id", "submitter", "mic", "isin", "trade_id", "side", "order_id",
                    "account_id", price=e.fill_price.cast("float64"),
                    quantity=e.fill_quantity, ts_event=e.ts_event)


def _dated(t: ir.Table) -> ir.Table:
    return t.mutate(day=DEFAULT.local_day(t.ts_event).cast("int64"))


def _first(t: ir.Table, key: list[str], order: list[str]) -> ir.Table:
    """`t` with `_n`: 0 for the first report of each `key`, 1, 2... for its repeats."""
    return t.mutate(_n=ibis.row_number().over(group_by=key, order_by=order))


def _prefixed(t: ir.Table, p: str, extra: tuple[str, ...] = ("day",)) -> ir.Table:
    return t.select(**{f"{p}{c}": t[c] for c in SIDE + extra})


def pair(venue: ir.Table, member: ir.Table) -> tuple[ir.Table, ir.Table]:
    """(pairs, duplicates). pairs: one row per execution either side reported, v_* the
    venue's side (null: it reported none), m_* the member's fill (null: none); duplicates:
    the repeats, with `by` (VENUE or MEMBER) and the first report's id."""
    # A venue's trade ids are unique within its trading day (CAT's too), not for ever.
    venue, member = _dated(venue), _dated(member)
    key = ["mic", "day", "trade_id", "side"]
    v = _first(venue, key, ["ts_event", "report_id"])
    tid = member.filter(member.trade_id.notnull())
    m = _first(tid, key, ["ts_event", "report_id"])
    v1, m1 = v.filter(v._n == 0), m.filter(m._n == 0)
    duplicates = _duplicates(v, key, "VENUE").union(_duplicates(m, key, "MEMBER"))

    vp, mp = _prefixed(v1, "v_"), _prefixed(m1, "m_")
    on_trade = [vp[f"v_{k}"] == mp[f"m_{k}"] for k in key]
    both = vp.join(mp, on_trade)
    member_only = mp.anti_join(vp, on_trade)
    # The rest of the venue's sides pair with the fills that name no trade, in order.
    rest = vp.anti_join(mp, on_trade)
    seq = ["mic", "order_id", "side"]
    rest = rest.mutate(v_seq=ibis.row_number().over(
        group_by=[rest.v_mic, rest.v_order_id, rest.v_side],
        order_by=[rest.v_ts_event, rest.v_quantity, rest.v_trade_id]))
    plain = member.filter(member.trade_id.isnull())
    plain = plain.mutate(seq=ibis.row_number().over(
        group_by=seq, order_by=["ts_event", "quantity", "report_id"]))
    plain = _prefixed(plain, "m_", ("day", "seq"))
    by_order = rest.outer_join(plain, [rest[f"v_{k}"] == plain[f"m_{k}"] for k in seq]
                               + [rest.v_seq == plain.m_seq]).drop("v_seq", "m_seq")
    nothing = {f"v_{c}": ibis.null(vp[f"v_{c}"].type()) for c in SIDE}
    member_only = member_only.select(**nothing, **{f"m_{c}": member_only[f"m_{c}"]
                                                   for c in SIDE})
    columns = [f"v_{c}" for c in SIDE] + [f"m_{c}" for c in SIDE]
    return (both.select(*columns).union(member_only.select(*columns))
            .union(by_order.select(*columns)), duplicates)


def _duplicates(t: ir.Table, key: list[str], by: str) -> ir.Table:
    first = t.filter(t._n == 0).select(*key, first_report_id="report_id")
    again = t.filter(t._n > 0)
    again = again.join(first, key)
    return again.select(*SIDE, "first_report_id", by=ibis.literal(by))


def matched(pairs: ir.Table, tolerance) -> ir.Table:
    """`pairs` with a flag per field that disagrees beyond `tolerance` (`rules.Match`),
    only where both sides reported it: price, quantity, ts_event, account_id, isin."""
    p = pairs
    both = p.v_report_id.notnull() & p.m_report_id.notnull()

    def off(a, b, cond):
        return both & a.notnull() & b.notnull() & cond
    return p.mutate(
        paired=both,
        bad_price=off(p.v_price, p.m_price, (p.v_price - p.m_price).abs() > tolerance.price
                      + 1e-9),
        bad_quantity=off(p.v_quantity, p.m_quantity,
                         (p.v_quantity - p.m_quantity).abs() > tolerance.quantity),
        bad_ts_event=off(p.v_ts_event, p.m_ts_event, (p.v_ts_event - p.m_ts_event).abs()
                         > tolerance.time_ms * 1_000_000),
        bad_account_id=off(p.v_account_id, p.m_account_id,
                           p.v_account_id != p.m_account_id) & ibis.literal(tolerance.accounts),
        bad_isin=off(p.v_isin, p.m_isin, p.v_isin != p.m_isin))


#: The fields matching compares, in the order breaks list them.
FIELDS = ("price", "quantity", "ts_event", "account_id", "isin")
