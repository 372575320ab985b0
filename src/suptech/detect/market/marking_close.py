"""MARKING_THE_CLOSE: trading at the end of the day to set the closing price.

Regulatory basis: EU MAR Annex I A(a) and Annex II 1(c) (buying or selling at the close
to mislead investors acting on closing prices); SSE/SZSE rules on abnormal trading in
the closing call auction (large orders that move the closing price).

Signal: in the last `minutes` minutes of continuous trading an account takes liquidity
at least `min_aggressive` times on one side, and then sends an order on the same side
into the closing call auction (14:57-15:00 in Shanghai and Shenzhen: the venue's
calendar, `suptech.model.calendar`). A call trades at one moment, its uncross at the
close: a share that traded earlier within the call's hours ran no call that day, and
is not judged by this rule (a market that trades continuously to the close, whatever
its calendar says).

Known false positives: index funds and other rebalancers, which trade large in the
closing call but do not chase the price before it; a trader finishing an order late.
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import MINUTE, Detector, Params, one_account_hits, register
from suptech.detect.market.common import aggressive_orders


@dataclass(frozen=True)
class MarkingParams(Params):
    minutes: float = 10
    min_aggressive: int = 2


@register
class MarkingTheClose(Detector):
    id = "marking_the_close"
    typology = "MARKING_THE_CLOSE"
    version = "2"
    Params = MarkingParams
    case = ("account_id", "isin", "day")

    at_close = True

    def reach(self):
        # The last minutes of continuous trading, and a closing call (15 minutes at most).
        return int((self.params.minutes + 15) * MINUTE)

    def episodes(self, m):
        p = self.params
        ag = aggressive_orders(m)
        # Only shares close with a call auction; futures trade on to 15:00.
        equities = m.instruments.filter(m.instruments.asset_class == "EQUITY").select("isin")
        ag = m.timed(ag.semi_join(equities, "isin"), "ts")
        late = ag.filter((ag.tod >= ag.close_call - int(p.minutes * MINUTE))
                         & (ag.tod < ag.close_call))
        late = late.group_by(["account_id", "isin", "side", "day"]).aggregate(
            n=late.order_id.nunique(), first=late.ts.min(), lots=late.lots.sum(),
            evidence=late.order_id.collect())
        late = late.filter(late.n >= p.min_aggressive)
        o = m.timed(m.orders, "ts_event", prefix="_")
        call = o.filter(o._tod >= o._close_call).select(
            "account_id", "isin", "side", "day", call_ts=o.ts_event, call_order=o.order_id,
            call_lots=o.lots)
        j = late.join(call, ["account_id", "isin", "side", "day"])
        # A call auction trades at one moment, its uncross at the close. A share that
        # traded earlier within the call's hours ran no call that day (its venue keeps
        # other hours than the calendar says): its late orders were no call orders.
        t = m.timed(m.trades.semi_join(equities, "isin"), "ts_event")
        t, tmic = m.venue(t)
        continuous = t.filter((t.tod >= t.close_call)
                              & (t.ts_event < m.clock.close(t.day, tmic)))
        j = j.anti_join(continuous.select("isin", "day").distinct(), ["isin", "day"])
        j, mic = m.venue(j)
        # Done at the close: the call's orders are all in, and so are the day's.
        return j.mutate(done=m.clock.close(j.day, mic))

    def cases(self, j):
        p = self.params
        g = j.group_by(list(self.case)).aggregate(
            window_start=j.first.min(), window_end=j.call_ts.max(), n=j.n.max(),
            evidence=j.evidence.collect().flatten().concat(j.call_order.collect()))
        return one_account_hits(g, 0.5 + 0.1 * g.n, self.case)


