"""PUMP_AND_DUMP: a group builds a position, drives the price up, and sells into it.

Regulatory basis: EU MAR Annex I A(b) and Annex II 1(d)-(e) (securing a dominant
position, "pump and dump"); Securities Law of the PRC art. 55(1)(1) (concerted
trading with capital or information advantages to influence prices).

Signal: in one instrument and day, at least `min_accounts` non-proprietary accounts each
buy at least `min_buys` times (in all at least `min_buy_size` times the instrument's
usual order when they started, `common.sized`) and then sell; their average selling
price is at least `min_gain` above their average buying price, part of their buying
took liquidity, and at least `min_focus` of their trades that day are in this
instrument (half, not most: pumpers may use accounts that otherwise trade as anyone
does; left to the tuning seeds the threshold fits whichever ways they show). The dump is
concerted: each account starts selling within `dump_minutes` of another's start (they
sell into the rise while it lasts). They form one case: the accounts that pumped and
dumped the same stock on the same day.

Known false positives: day traders who buy and sell the same stock profitably; a
momentum crowd without coordination; a household whose members all trade one stock.
Requiring several such accounts selling at once keeps these down: households trading
their favourite share each sell when they will.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, hits_table, register
from suptech.detect.market.common import sized
from suptech.model.calendar import DAY


@dataclass(frozen=True)
class PumpParams(Params):
    min_buys: int = 3
    min_buy_size: float = 10
    min_sells: int = 1
    min_gain: float = 0.01
    min_accounts: int = 2
    min_focus: float = 0.5
    dump_minutes: float = 30


@register
class PumpAndDump(Detector):
    id = "pump_and_dump"
    typology = "PUMP_AND_DUMP"
    version = "4"
    Params = PumpParams
    case = ("isin", "day")
    at_close = True

    def reach(self):
        return DAY  # the accounts' whole day of trading

    def episodes(self, m):
        """One row per account that pumped and dumped the stock that day."""
        p = self.params
        x = m.executions
        # The accounts that bought and sold the share often enough first: the rest of
        # the day's accounts (most of them) are left before their figures are made.
        n = x.group_by(["account_id", "isin", "day"]).aggregate(
            buys=(x.side == "BUY").sum(), sells=(x.side == "SELL").sum())
        n = n.filter((n.buys >= p.min_buys) & (n.sells >= p.min_sells))
        x = x.semi_join(n.select("account_id", "day").distinct(), ["account_id", "day"])
        x = x.join(m.accounts.select("account_id", "account_type"), "account_id")
        x = x.filter(x.account_type != "PROPRIETARY")
        buy, sell = x.side == "BUY", x.side == "SELL"
        value = x.price * x.quantity
        per = x.group_by(["account_id", "isin", "day"]).aggregate(
            buys=buy.sum(), sells=sell.sum(),
            aggressive_buys=(buy & x.aggressive).sum(),
            buy_value=ibis.ifelse(buy, value, 0).sum(),
            buy_qty=ibis.ifelse(buy, x.quantity, 0).sum(),
            buy_lots=ibis.ifelse(buy, x.quantity / x.lot_size, 0).sum(),
            sell_value=ibis.ifelse(sell, value, 0).sum(),
            sell_qty=ibis.ifelse(sell, x.quantity, 0).sum(),
            first_buy=ibis.ifelse(buy, x.ts_event, None).min(),
            last_buy=ibis.ifelse(buy, x.ts_event, None).max(),
            first_sell=ibis.ifelse(sell, x.ts_event, None).min(),
            last_sell=ibis.ifelse(sell, x.ts_event, None).max(),
            n_trades=x.count())
        # Accounts used for a pump trade the target, not a portfolio.
        day_total = x.group_by(["account_id", "day"]).aggregate(all_trades=x.count())
        per = per.join(day_total, ["account_id", "day"])
        per = per.filter((per.n_trades >= p.min_focus * per.all_trades)
                         & (per.buys >= p.min_buys) & (per.sells >= p.min_sells)
                         & (per.aggressive_buys >= 1) & (per.first_sell > per.first_buy))
        per = sized(m, per, "first_buy", "buy_lots")
        per = per.filter(per.size >= p.min_buy_size)
        per = per.mutate(gain=(per.sell_value / per.sell_qty) / (per.buy_value / per.buy_qty) - 1)
        per = per.filter(per.gain >= p.min_gain)
        # A concerted dump: others of the group start selling near this one's start.
        peers = per.select(p_isin=per.isin, p_day=per.day, p_account=per.account_id,
                           p_sell=per.first_sell)
        near = per.join(peers, [per.isin == peers.p_isin, per.day == peers.p_day,
                                per.account_id != peers.p_account,
                                (per.first_sell - peers.p_sell).abs()
                                <= int(p.dump_minutes * MINUTE)])
        near = near.group_by(["account_id", "isin", "day"]).aggregate(
            peers=near.p_account.nunique())
        near = near.filter(near.peers >= p.min_accounts - 1)
        per = per.semi_join(near, ["account_id", "isin", "day"])
        # Its trades, of these few accounts only (collected for every account of the
        # day, they cost most of the rule's time).
        keys = ["account_id", "isin", "day"]
        x = x.semi_join(per, keys)
        per = per.join(x.group_by(keys).aggregate(trades=x.trade_id.collect()), keys)
        per, mic = m.venue(per)
        return per.mutate(done=m.clock.close(per.day, mic))

    def cases(self, per):
        p = self.params
        g = per.group_by(list(self.case)).aggregate(
            n=per.account_id.nunique(), account_ids=per.account_id.collect(),
            window_start=per.first_buy.min(), window_end=per.last_sell.max(),
            gain=per.gain.mean(), evidence=per.trades.collect().flatten())
        g = g.filter(g.n >= p.min_accounts)
        return hits_table(g.mutate(account_ids=g.account_ids.sort(),
                                   score=(0.5 + 5 * g.gain).clip(upper=1.0)), self.case)
