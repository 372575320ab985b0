"""RAMPING: bursts of aggressive orders that walk the price in one direction.

Regulatory basis: EU MAR Annex I A(b) and Annex II 1(f) (orders that move the price,
"ramping"); Securities Law of the PRC art. 55(1)(1) and the SSE/SZSE rules on abnormal
trading (拉抬打压: repeatedly pushing the price with large aggressive orders).

Signal: an account sends at least `burst_orders` orders to take liquidity (IOC or
market orders of at least `min_lots` lots) on one side within `burst_seconds` of
trading time, in at least `min_bursts` separate bursts in a day, and does not trade the
other side that day.

Known false positives: an execution algorithm catching up on a deadline; momentum
traders. Institutions slicing an order trade far less often than in bursts of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, one_account_hits, register
from suptech.model.calendar import DAY


@dataclass(frozen=True)
class RampingParams(Params):
    burst_orders: int = 3
    burst_seconds: float = 20
    min_bursts: int = 2
    min_lots: float = 10
    max_other_side: int = 0


@register
class Ramping(Detector):
    id = "ramping"
    typology = "RAMPING"
    version = "1"
    Params = RampingParams
    case = ("account_id", "isin", "side", "day")
    at_close = True

    def reach(self):
        return DAY  # the whole day: the other side must not trade all day

    def episodes(self, m):
        p = self.params
        o = m.orders
        # Orders sent to take liquidity, whether or not there was any to take.
        ag = o.filter(((o.time_in_force == "IOC") | (o.order_type == "MARKET"))
                      & (o.lots >= p.min_lots)).select(
            "order_id", "account_id", "isin", "side", "day", ts=o.ts_event, tt=o.tt)
        w = ibis.range_window(preceding=int(p.burst_seconds * SECOND), following=0,
                              group_by=[ag.account_id, ag.isin, ag.side], order_by=ag.tt)
        ag = ag.mutate(recent=ag.order_id.count().over(w))
        ends = ag.filter(ag.recent >= p.burst_orders)
        # Separate bursts: burst-completing orders more than a burst length apart.
        gap = ibis.window(group_by=[ends.account_id, ends.isin, ends.side], order_by=ends.tt)
        ends = ends.mutate(new_burst=(ends.tt - ends.tt.lag().over(gap)).fill_null(
            10 ** 15) > int(p.burst_seconds * SECOND))
        per = ends.group_by(["account_id", "isin", "side", "day"]).aggregate(
            bursts=ends.new_burst.sum(), window_start=ends.ts.min(),
            window_end=ends.ts.max(), evidence=ends.order_id.collect())
        per = per.filter(per.bursts >= p.min_bursts)
        x = m.executions
        other = x.group_by(["account_id", "isin", "day", "side"]).aggregate(n_other=x.count())
        j = per.join(other, [per.account_id == other.account_id, per.isin == other.isin,
                             per.day == other.day, per.side != other.side], how="left")
        j = j.filter(j.n_other.fill_null(0) <= p.max_other_side)
        j, mic = m.venue(j)
        return j.mutate(done=m.clock.close(j.day, mic))

    def cases(self, e):
        # One episode a case: the day's bursts of one account on one side.
        return one_account_hits(e, 0.4 + 0.15 * e.bursts, self.case)
