"""FRONT_RUNNING: a member trading for itself ahead of its own client's large order.

Regulatory basis: EU MAR art. 8 and recital 23 (use of knowledge of pending client
orders); Securities Law of the PRC art. 57 (a securities company's practitioners
misusing clients' information); CSRC rules on securities companies' proprietary
business and client-order handling.

Signal: a member's proprietary account takes liquidity on one side; within
`lead_minutes` one client account of the same member sends at least `min_client_orders`
aggressive orders on the same side, for at least `min_client_size` times the
instrument's usual resting order then (`common.usual_order_size`) in all (a large order
for that market, being worked, which the member knew was coming); the proprietary
account holds its position while the client's orders come in (what it takes the other
way until the last of them is less than it took: a market maker's inventory turns
over, a front runner rides the client's order); and within `unwind_minutes` of its
first trade it takes liquidity on the other side. Minutes are trading minutes (the
lunch break does not count).

Known false positives: a proprietary desk's market making or hedging that happens to
precede client flow; a client order the desk was asked to facilitate (risk trade).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, one_account_hits, register
from suptech.detect.market.common import aggressive_orders, sized


@dataclass(frozen=True)
class FrontRunningParams(Params):
    lead_minutes: float = 5
    min_client_size: float = 25
    min_client_orders: int = 2
    unwind_minutes: float = 30


@register
class FrontRunning(Detector):
    id = "front_running"
    typology = "FRONT_RUNNING"
    version = "3"
    Params = FrontRunningParams
    case = ("account_id", "isin", "day")

    def reach(self):
        # The proprietary order to its unwind, in trading time.
        p = self.params
        return int(max(p.lead_minutes, p.unwind_minutes) * MINUTE)

    def episodes(self, m):
        """One row per proprietary order ahead of a client's, with each unwind; done
        when the client's window is over and the unwind has happened."""
        p = self.params
        lead = int(p.lead_minutes * MINUTE)
        ag = aggressive_orders(m).select("order_id", "account_id", "isin", "side", "day", "ts",
                                         "tt", "lots", "order_lots", "member_lei",
                                         "account_type")
        prop = ag.filter(ag.account_type == "PROPRIETARY")
        client = ag.filter(ag.account_type != "PROPRIETARY").select(
            "member_lei", "isin", "side", c_account=ag.account_id, c_tt=ag.tt,
            c_lots=ag.order_lots, c_order=ag.order_id)
        # An episode is done when the client's window is over (`lead` after the order)
        # or at the unwind: one not yet taken is of an order of the last `lead`, or of
        # one whose account has since taken the other side (`MarketData.anchored`).
        since = m.anchored(prop, "tt", 0)
        since = since.select(r_account=since.account_id, r_isin=since.isin,
                             r_side=since.side).distinct()
        start = prop.left_join(since, [prop.account_id == since.r_account,
                                       prop.isin == since.r_isin, prop.side != since.r_side])
        start = start.filter(m.fresh(start.tt, lead) | start.r_account.notnull())
        start = start.drop("r_account", "r_isin", "r_side")
        # Windows run on trading time: the lunch break does not separate two orders.
        j = start.join(client, [start.member_lei == client.member_lei,
                                start.isin == client.isin, start.side == client.side,
                                client.c_tt > start.tt, client.c_tt <= start.tt + lead])
        # One client working a large order: several aggressive orders from one account.
        ahead = j.group_by(["order_id", "account_id", "isin", "side", "day", "ts", "tt",
                            "lots", "c_account"]).aggregate(
            client_lots=j.c_lots.sum(), client_end=j.c_tt.max(),
            n_client=j.c_order.nunique(), client_orders=j.c_order.collect())
        ahead = sized(m, ahead, "ts", "client_lots").rename(client_size="size")
        ahead = ahead.filter((ahead.client_size >= p.min_client_size)
                             & (ahead.n_client >= p.min_client_orders))
        unwind = prop.select("account_id", "isin", u_side=prop.side, u_ts=prop.ts,
                             u_tt=prop.tt, u_order=prop.order_id)
        # Held while the client's orders came in: what it took the other way meanwhile
        # (a market maker's quotes that crossed) is less than its position.
        against = prop.select(a_account=prop.account_id, a_isin=prop.isin,
                              a_side=prop.side, a_tt=prop.tt, a_lots=prop.lots)
        turned = ahead.join(against, [ahead.account_id == against.a_account,
                                      ahead.isin == against.a_isin,
                                      ahead.side != against.a_side, against.a_tt > ahead.tt,
                                      against.a_tt <= ahead.client_end])
        turned = turned.group_by("order_id").aggregate(against_lots=turned.a_lots.sum())
        ahead = ahead.left_join(turned, "order_id").drop("order_id_right")
        ahead = ahead.filter(ahead.against_lots.fill_null(0) < ahead.lots)
        k = ahead.join(unwind, [ahead.account_id == unwind.account_id,
                                ahead.isin == unwind.isin, ahead.side != unwind.u_side,
                                unwind.u_tt > ahead.client_end,
                                unwind.u_tt <= ahead.tt + int(p.unwind_minutes * MINUTE)])
        k, mic = m.venue(k)
        return k.mutate(done=ibis.greatest(
            m.clock.window_end(k.tt + lead, k.day, mic), k.u_ts))

    def cases(self, k):
        p = self.params
        g = k.group_by(list(self.case)).aggregate(
            window_start=k.ts.min(), window_end=k.u_ts.max(),
            client_size=k.client_size.max(),
            evidence=k.client_orders.collect().flatten().concat(k.u_order.collect())
            .concat(k.order_id.collect()))
        return one_account_hits(g, 0.5 + g.client_size / (4 * p.min_client_size), self.case)
