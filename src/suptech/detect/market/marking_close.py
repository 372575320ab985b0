"""MARKING_THE_CLOSE: trading at the end of the day to set the closing price.

Regulatory basis: EU MAR Annex I A(a) and Annex II 1(c) (buying or selling at the close
to mislead investors acting on closing prices; Delegated Regulation 2016/522 Annex II
1(b): orders near the reference time, a significant share of the volume, that move the
price); SSE/SZSE rules on abnormal trading in the closing call auction (large orders that
move the closing price); SEC and FINRA "marking the close" cases (orders at successively
higher prices in the last minutes).

Two forms, by how the day closed (the venue's calendar, `suptech.model.calendar`):

- **With a closing call** (14:57-15:00 in Shanghai and Shenzhen): in the last `minutes`
  minutes of continuous trading an account takes liquidity at least `min_aggressive`
  times on one side, then sends an order on the same side into the call.
- **Trading on to the close** (no call in the calendar, or a share that traded within
  the call's hours, so ran none): the marker must move the last prices itself. In the
  last `last_minutes` before the close an account takes liquidity on one side, and
  sends orders on that side only, and

  - its orders moved the price at least `min_move` times the instrument's usual move
    over `last_minutes` that day (the mean absolute change over such spans before them,
    and at least a tick): the further of how far its orders walked the book, added up
    (each from its first fill, the touch it met, to its last), and how far its prints
    went beyond where it started (its highest buying against its first order's first
    fill). A sweep walks; orders that each print beyond the one before ratchet, whatever
    the crowd does between them; a fund working an order at the touch within a limit
    does neither further than its limit; bid-ask bounce does neither;
  - its orders are at least `min_share` of the lots taken on that side in those minutes
    (a significant share of the volume at the reference time, Delegated Regulation
    2016/522 Annex II 1(b));
  - it took at least `min_size` times the instrument's usual order (`common.sized`).

Known false positives: index funds and other rebalancers, which trade large at the
close; with a call they do not chase the price before it, without one they work their
order at the touch within a limit, which moves the price little for its size. A
trader finishing an order late in a thin book.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, one_account_hits, register
from suptech.detect.market.common import aggressive_orders, sized, with_bar_edges
from suptech.model.calendar import DAY


@dataclass(frozen=True)
class MarkingParams(Params):
    minutes: float = 10
    last_minutes: float = 5
    min_aggressive: int = 2
    min_move: float = 1.5
    min_share: float = 0.5
    min_size: float = 10


@register
class MarkingTheClose(Detector):
    id = "marking_the_close"
    typology = "MARKING_THE_CLOSE"
    version = "4"
    Params = MarkingParams
    case = ("account_id", "isin", "day")

    at_close = True

    def reach(self):
        return DAY  # the instrument's usual move is measured over its whole day

    def episodes(self, m):
        equities = m.instruments.filter(m.instruments.asset_class == "EQUITY").select("isin")
        t = m.timed(m.trades.semi_join(equities, "isin"), "ts_event")
        t, tmic = m.venue(t)
        # A call auction trades at one moment, its uncross at the close. A share that
        # traded earlier within the call's hours ran no call that day (its venue keeps
        # other hours than the calendar says); a calendar without a call has none.
        on_to_close = t.filter((t.close_call >= DAY) | (
            (t.tod >= t.close_call) & (t.ts_event < m.clock.close(t.day, tmic))))
        on_to_close = on_to_close.select("isin", "day").distinct()
        ag = aggressive_orders(m).semi_join(equities, "isin")
        call = self._call(m, ag.anti_join(on_to_close, ["isin", "day"]))
        cont = self._continuous(m, ag.semi_join(on_to_close, ["isin", "day"]),
                                m.trades.semi_join(on_to_close, ["isin", "day"]))
        j = call.union(cont)
        j, mic = m.venue(j)
        # Done at the close: the call's orders are all in, and so are the day's.
        return j.mutate(done=m.clock.close(j.day, mic))

    def _call(self, m, ag):
        """Aggressive orders in the last minutes, then an order on their side into the call."""
        p = self.params
        ag = m.timed(ag, "ts")
        late = ag.filter((ag.tod >= ag.close_call - int(p.minutes * MINUTE))
                         & (ag.tod < ag.close_call))
        late = late.group_by(["account_id", "isin", "side", "day"]).aggregate(
            n=late.order_id.nunique(), first=late.ts.min(), evidence=late.order_id.collect())
        late = late.filter(late.n >= p.min_aggressive)
        o = m.timed(m.orders, "ts_event", prefix="_")
        call = o.filter(o._tod >= o._close_call).select(
            "account_id", "isin", "side", "day", call_ts=o.ts_event, call_order=o.order_id)
        j = late.join(call, ["account_id", "isin", "side", "day"])
        return j.group_by(["account_id", "isin", "day"]).aggregate(
            window_start=j.first.min(), window_end=j.call_ts.max(),
            evidence=j.evidence.collect().flatten().concat(j.call_order.collect()),
            strength=(0.1 * j.n.max()).cast("float64"))

    def _continuous(self, m, ag, trades):
        """Accounts whose own orders moved the last minutes' prices (module docstring)."""
        p = self.params
        span = int(p.last_minutes * MINUTE)
        ag, mic = m.venue(ag)
        ag = ag.mutate(start=m.clock.close(ag.day, mic) - span)
        ag = ag.drop("_mic") if mic is not None else ag
        late = ag.filter(ag.ts >= ag.start)
        # The instrument's usual move over such a span, before the last one.
        t, tmic = m.venue(trades)
        t = t.filter(t.ts_event < m.clock.close(t.day, tmic) - span)
        # A span's change: from its first moment's price to its last's.
        t = with_bar_edges(t.mutate(bar=(t.tt // span).cast("int64")), ["isin", "day", "bar"])
        price = t.price.cast("float64")
        bars = t.group_by(["isin", "day", "bar"]).aggregate(
            change=(price.mean(where=t.ts_event == t.last_ts)
                    - price.mean(where=t.ts_event == t.first_ts)).abs())
        usual = bars.group_by(["isin", "day"]).aggregate(change=bars.change.mean())
        # A price that only bounces between two prices moves a tick, not nothing.
        usual = usual.join(m.instruments.select("isin", "tick_size"), "isin")
        usual = usual.select("isin", "day", usual_move=ibis.greatest(
            usual.change.cast("float64"), usual.tick_size.cast("float64")))
        total = late.group_by(["isin", "day", "side"]).aggregate(total=late.lots.sum())
        # How far its orders moved the price (module docstring): a buy's fills rise
        # through the book, so an order's first fill is its low and its last its high.
        # Where its first orders share a moment, the furthest from its top counts: the
        # same for every engine and every order of the rows.
        own = ibis.window(group_by=[late.account_id, late.isin, late.day, late.side])
        late = late.mutate(opening=late.ts == late.ts.min().over(own))
        acc = late.group_by(["account_id", "isin", "day", "side"]).aggregate(
            walked=(late.high - late.low).sum(), top=late.high.max(), bottom=late.low.min(),
            first_low=late.low.min(where=late.opening),
            first_high=late.high.max(where=late.opening),
            lots=late.lots.sum(),
            first=late.ts.min(), end=late.ts.max(), evidence=late.order_id.collect())
        # One side only in the orders it sends (those it takes with among them): a
        # market maker or an HFT quoting or trading both sides is not marking.
        days = trades.select("isin", "day").distinct()
        x, xmic = m.venue(m.orders.semi_join(days, ["isin", "day"]))
        x = x.filter(x.ts_event >= m.clock.close(x.day, xmic) - span)
        sides = x.group_by(["account_id", "isin", "day"]).aggregate(sides=x.side.nunique())
        acc = acc.join(sides.filter(sides.sides == 1), ["account_id", "isin", "day"])
        acc = acc.join(total, ["isin", "day", "side"]).join(usual, ["isin", "day"])
        acc = sized(m, acc, "first", "lots")
        extent = ibis.ifelse(acc.side == "BUY", acc.top - acc.first_low,
                             acc.first_high - acc.bottom)
        acc = acc.mutate(moved=ibis.greatest(acc.walked, extent).cast("float64"))
        acc = acc.mutate(ratio=(acc.moved / acc.usual_move.nullif(0)).cast("float64"),
                         share=(acc.lots / acc.total.nullif(0)).cast("float64"))
        acc = acc.filter((acc.ratio >= p.min_move) & (acc.share >= p.min_share)
                         & (acc.size >= p.min_size))
        return acc.select(
            "account_id", "isin", "day", window_start=acc.first, window_end=acc.end,
            evidence=acc.evidence,
            strength=(0.1 * (acc.ratio / p.min_move).ln() + 0.2 * acc.share).cast("float64"))

    def cases(self, j):
        g = j.group_by(list(self.case)).aggregate(
            window_start=j.window_start.min(), window_end=j.window_end.max(),
            evidence=j.evidence.collect().flatten(), strength=j.strength.max())
        return one_account_hits(g, 0.5 + g.strength, self.case)
