"""CROSS_MARKET_MANIPULATION: a derivative position, then the underlying pushed its way.

Regulatory basis: EU MAR art. 12(1)(a) and art. 2(3) (manipulation of a financial
instrument through a related one); Futures and Derivatives Law of the PRC art. 12 and
CSRC rules on cross-market manipulation of futures and their underlying securities.

Signal: an account trades a future (or other derivative) on one side, then within
`window_minutes` (of trading time) takes liquidity in its underlying at least
`min_aggressive` times on the same side with orders of at least `min_push_size` times
the underlying's usual resting order then (`common.usual_order_size`; moving it in the
position's favour), then, within as long of its last push, trades the derivative on
the other side. Each derivative trade may open such an episode; an
account's episodes in one underlying and day are one case. The alert names the
underlying: that is the manipulated instrument.

Known false positives: hedgers and arbitrageurs, who trade the underlying against
their derivative position (the opposite side, which this rule does not flag), and
investors who hold both for their own reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, one_account_hits, register
from suptech.detect.market.common import aggressive_orders, sized


@dataclass(frozen=True)
class CrossMarketParams(Params):
    window_minutes: float = 60
    min_aggressive: int = 3
    min_push_size: float = 7


@register
class CrossMarket(Detector):
    id = "cross_market"
    typology = "CROSS_MARKET_MANIPULATION"
    version = "3"
    Params = CrossMarketParams
    case = ("account_id", "isin", "day")

    def reach(self):
        # The derivative trade, the pushes within a window, the trade back within
        # another, in trading time.
        return 2 * int(self.params.window_minutes * MINUTE)

    def episodes(self, m):
        """One row per derivative trade followed by pushes in its underlying and a trade
        back: done when the trade back has happened and the pushes' window is over."""
        p = self.params
        win = int(p.window_minutes * MINUTE)
        x = m.derivative_executions
        d = x.select(
            "account_id", "underlying_isin", "day", d_side=x.side, d_ts=x.ts_event,
            d_tt=x.tt, d_trade=x.trade_id)
        closed = d.select("account_id", "underlying_isin", c_side=d.d_side, c_ts=d.d_ts,
                          c_tt=d.d_tt, c_trade=d.d_trade)
        ag = aggressive_orders(m)
        # Only the underlying's orders of accounts that traded a derivative on it: few.
        ag = ag.semi_join(d.select("account_id", isin=d.underlying_isin).distinct(),
                          ["account_id", "isin"])
        ag = sized(m, ag, "ts", "order_lots")
        ag = ag.filter(ag.size >= p.min_push_size)
        # Windows run on trading time: the lunch break does not separate two orders.
        u = d.join(ag, [d.account_id == ag.account_id, d.underlying_isin == ag.isin,
                        d.d_side == ag.side, ag.tt > d.d_tt, ag.tt <= d.d_tt + win])
        pushes = u.group_by(["account_id", "underlying_isin", "day", "d_side", "d_ts",
                             "d_tt", "d_trade"]).aggregate(
            n=u.order_id.nunique(), last_push=u.tt.max(), pushed=u.order_id.collect())
        pushes = pushes.filter(pushes.n >= p.min_aggressive)
        k = pushes.join(closed, [pushes.account_id == closed.account_id,
                                 pushes.underlying_isin == closed.underlying_isin,
                                 pushes.d_side != closed.c_side,
                                 closed.c_tt > pushes.last_push,
                                 closed.c_tt <= pushes.last_push + win])
        # The alert names the underlying: that is the manipulated instrument.
        k = k.mutate(isin=k.underlying_isin)
        k, mic = m.venue(k)
        # Done when the pushes' window (from the derivative trade) and the trade back's
        # (from the last push) are over.
        return k.mutate(done=ibis.greatest(
            m.clock.window_end(k.d_tt + win, k.day, mic),
            m.clock.window_end(k.last_push + win, k.day, mic)))

    def cases(self, k):
        g = k.group_by(list(self.case)).aggregate(
            window_start=k.d_ts.min(), window_end=k.c_ts.max(), n=k.n.max(),
            evidence=k.pushed.collect().flatten().concat(k.c_trade.collect())
            .concat(k.d_trade.collect()))
        return one_account_hits(g, 0.5 + 0.05 * g.n, self.case)
