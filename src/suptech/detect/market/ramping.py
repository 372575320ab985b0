"""RAMPING: bursts of aggressive orders that walk the price in one direction.

Regulatory basis: EU MAR Annex I A(b) and Annex II 1(f) (orders that move the price,
"ramping"); Securities Law of the PRC art. 55(1)(1) and the SSE/SZSE rules on abnormal
trading (拉抬打压: repeatedly pushing the price with large aggressive orders).

Signal: an account sends at least `burst_orders` orders that take liquidity on one side
within `burst_seconds` of trading time, in at least `min_bursts` separate bursts in a
day; each asks for at least `min_size` times the instrument's median taking order that
day (a ramp is large for its market, whatever the market's sizes); and between its first
burst and its last its orders on the other side, traded or not, hold at most
`max_other_share` of the lots of its orders on the ramp's side (a ramper neither trades
nor quotes against its own push; a market maker quotes both sides). What the account
does the rest of the day does not matter: abusers use accounts that otherwise trade as
anyone does.

Known false positives: an execution algorithm catching up on a deadline; momentum
traders. Institutions slicing an order trade far less often than in bursts of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, one_account_hits, register
from suptech.detect.market.common import aggressive_orders
from suptech.model.calendar import DAY


@dataclass(frozen=True)
class RampingParams(Params):
    burst_orders: int = 3
    burst_seconds: float = 15
    min_bursts: int = 2
    min_size: float = 1.5
    max_other_share: float = 0.2


@register
class Ramping(Detector):
    id = "ramping"
    typology = "RAMPING"
    version = "2"
    Params = RampingParams
    case = ("account_id", "isin", "side", "day")
    at_close = True

    def reach(self):
        return DAY  # the whole day: the instrument's usual order size is the day's

    def episodes(self, m):
        p = self.params
        ag = aggressive_orders(m)
        usual = ag.group_by(["isin", "day"]).aggregate(usual=ag.order_lots.median())
        ag = ag.join(usual, ["isin", "day"])
        ag = ag.filter(ag.order_lots >= p.min_size * ag.usual).select(
            "order_id", "account_id", "isin", "side", "day", "ts", "tt", "lots")
        w = ibis.range_window(preceding=int(p.burst_seconds * SECOND), following=0,
                              group_by=[ag.account_id, ag.isin, ag.side], order_by=ag.tt)
        ag = ag.mutate(recent=ag.order_id.count().over(w))
        ends = ag.filter(ag.recent >= p.burst_orders)
        # Separate bursts: burst-completing orders more than a burst length apart.
        gap = ibis.window(group_by=[ends.account_id, ends.isin, ends.side], order_by=ends.tt)
        ends = ends.mutate(new_burst=(ends.tt - ends.tt.lag().over(gap)).fill_null(
            10 ** 15) > int(p.burst_seconds * SECOND))
        per = ends.group_by(["account_id", "isin", "side", "day"]).aggregate(
            bursts=ends.new_burst.sum(), first=ends.ts.min(), window_end=ends.ts.max())
        per = per.filter(per.bursts >= p.min_bursts)
        # The ramp runs from its first burst's first order to its last burst.
        per = per.mutate(window_start=per.first - int(p.burst_seconds * SECOND))
        # Its orders in that span, either side (quoting both sides is no ramp).
        o = m.orders.select("account_id", "isin", "day", "side", "order_id", "ts_event",
                            "lots")
        o = per.select("account_id", "isin", "day", "window_start", "window_end",
                       ramp_side="side").join(o, ["account_id", "isin", "day"])
        o = o.filter((o.ts_event >= o.window_start) & (o.ts_event <= o.window_end))
        during = o.group_by(["account_id", "isin", "day", "ramp_side"]).aggregate(
            same=(o.side == o.ramp_side).ifelse(o.lots, 0).sum(),
            other=(o.side != o.ramp_side).ifelse(o.lots, 0).sum(),
            evidence=(o.side == o.ramp_side).ifelse(o.order_id, ibis.null()).collect())
        j = per.join(during, [per.account_id == during.account_id, per.isin == during.isin,
                              per.day == during.day, per.side == during.ramp_side])
        j = j.filter(j.other <= p.max_other_share * j.same)
        j, mic = m.venue(j)
        return j.mutate(done=m.clock.close(j.day, mic))

    def cases(self, e):
        # One episode a case: the day's bursts of one account on one side.
        return one_account_hits(e, 0.4 + 0.15 * e.bursts, self.case)
