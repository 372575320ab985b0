"""WASH_TRADE: trades with no change of beneficial owner.

Regulatory basis: EU MAR Annex I A(a) and Annex II 1(b) (wash trades); Securities Law of
the PRC art. 55(1)(3) (trading between accounts one controls); CSRC and exchange rules
on "self-dealing" (对倒) between related accounts.

Signal: in one instrument and day, at least `min_trades` trades whose buyer and seller
are the same account, the same owner, or one household or control group (party
`group_id`), each between two orders entered within `max_gap_s` seconds of each other,
or for the same quantity within `matched_gap_s` seconds: the second order was sent to
meet the first (at once, or a little later so as to look like chance, but sized to it).

A trade is one episode, done when it happens; its orders are read up to `AUCTION`
before it (in continuous trading the second order meets the first at once; in a call
auction both wait for the uncrossing).

Known false positives: related accounts (a family) that trade the same stock on their
own and now and then meet in the book; these meet at random moments and sizes, not
seconds after each other's orders for as much, and rarely twice a day.
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import MINUTE, SECOND, Detector, Params, hits_table, register

#: The longest an order may wait for its trade while its counterpart is entered within
#: `max_gap_s`: a call auction's collection period (Shanghai's opening call, 15 minutes).
AUCTION = 15 * MINUTE


@dataclass(frozen=True)
class WashParams(Params):
    min_trades: int = 2
    max_gap_s: float = 2
    matched_gap_s: float = 60


@register
class WashTrade(Detector):
    id = "wash_trade"
    typology = "WASH_TRADE"
    version = "2"
    Params = WashParams
    case = ("group_key", "isin", "day")

    def reach(self):
        p = self.params
        return AUCTION + int(max(p.max_gap_s, p.matched_gap_s) * SECOND)

    def episodes(self, m):
        p = self.params
        # A trade's episode is done when it happens.
        t = m.anchored(m.trades, "tt", 0)
        # The owners of these trades' accounts only: a market has hundreds of thousands.
        who = t.select(account_id=t.buy_account_id).union(
            t.select(account_id=t.sell_account_id))
        a = m.accounts.select("account_id", "group_key").semi_join(who, "account_id")
        buyer, seller = a.view(), a.view()
        j = t.join(buyer, t.buy_account_id == buyer.account_id).join(
            seller, t.sell_account_id == seller.account_id)
        related = j.filter(j.group_key == j.group_key_right)
        o = m.orders.select("order_id", ts_new=m.orders.ts_event, qty=m.orders.quantity)
        ob, os_ = o.view(), o.view()
        r = related.join(ob, related.buy_order_id == ob.order_id).join(
            os_, related.sell_order_id == os_.order_id)
        gap = (r.ts_new - r.ts_new_right).abs()
        r = r.filter((gap <= int(p.max_gap_s * SECOND))
                     | ((r.qty == r.qty_right) & (gap <= int(p.matched_gap_s * SECOND))))
        return r.mutate(done=r.ts_event)

    def cases(self, r):
        p = self.params
        g = r.group_by(list(self.case)).aggregate(
            trades=r.trade_id.nunique(), window_start=r.ts_event.min(),
            window_end=r.ts_event.max(),
            accounts=r.buy_account_id.collect().concat(r.sell_account_id.collect()),
            evidence=r.trade_id.collect())
        g = g.filter(g.trades >= p.min_trades)
        return hits_table(g.mutate(account_ids=g.accounts.unique().sort(),
                                   score=(0.5 + 0.1 * g.trades).clip(upper=1.0)), self.case)
