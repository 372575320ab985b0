"""PUMP_AND_DUMP on the trade flow alone: a burst of buying that lifts the price far
beyond the instrument's own normal that day, then gives the rise back.

Regulatory basis: as `pump_dump` (EU MAR Annex II 1(d)-(e); Securities Law of the PRC
art. 55(1)(1)); SEC and CFTC actions against "pump groups" that announce a coin or a
microcap on a chat channel at a set minute: the members buy at once, the price spikes
within a minute or two, the organisers sell into the spike and it collapses.

A venue often knows no accounts (anonymous crypto or public trade feeds), so this rule
reads only the instrument's trades, in bars of one minute of trading time, each
measured against the same instrument's day:

- in the `window_minutes` up to a bar, traded value at least `min_value_ratio` times
  the day's median over windows of that length (the crowd arrives at once);
- the bar's high at least `min_rise_ratio` times above the window's low, in log terms,
  as the day's 90th percentile of that rise (the price moves as it never does that day);
- within `window_minutes` after the bar, the price gives back at least `min_giveback`
  of the rise (the dump: the organisers sell and the price falls back).

The instrument's spiking bars in one day are one case; the alert names the largest
buyers that took liquidity in the run-up (on an anonymous feed, synthetic accounts).
Parameters were set on the real pumps of `../shared/data/pumps/` dated before 2021
(bench/pumps.py), and are ratios to each instrument's own day, not sizes.

Known false positives: a listing or news that floods a thin market, then fades; a large
buyer sweeping a thin book. Both are rare in the same minute as a doubling of the day's
turnover and a reversal.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, hits_table, register
from suptech.detect.market.common import with_bar_edges
from suptech.model.calendar import DAY


@dataclass(frozen=True)
class PumpFlowParams(Params):
    window_minutes: int = 10
    min_value_ratio: float = 40
    min_rise_ratio: float = 3
    min_giveback: float = 0.3
    buyers_named: int = 5


@register
class PumpFlow(Detector):
    id = "pump_flow"
    typology = "PUMP_AND_DUMP"
    version = "1"
    Params = PumpFlowParams
    case = ("isin", "day")
    at_close = True

    def reach(self):
        return DAY  # the instrument's whole day is its normal

    def episodes(self, m):
        """One row per spiking bar: its run-up's rise and value against the day's."""
        p = self.params
        t = m.trades
        value = t.price * t.quantity
        t = t.mutate(bar=(t.tt // MINUTE).cast("int64"), value=value)
        # The bar's first and last trades as evidence (the least id at each moment).
        t = with_bar_edges(t, ["isin", "day", "bar"])
        bars = t.group_by(["isin", "day", "bar", "first_ts", "last_ts"]).aggregate(
            hi=t.price.max(), lo=t.price.min(), value=t.value.sum(),
            first_trade=t.trade_id.min(where=t.ts_event == t.first_ts),
            last_trade=t.trade_id.min(where=t.ts_event == t.last_ts))
        before = ibis.range_window(preceding=p.window_minutes, following=0,
                                   group_by=[bars.isin, bars.day], order_by=bars.bar)
        after = ibis.window(range=(1, p.window_minutes),
                            group_by=[bars.isin, bars.day], order_by=bars.bar)
        b = bars.mutate(base=bars.lo.min().over(before), run_value=bars.value.sum().over(before),
                        start_ts=bars.first_ts.min().over(before),
                        after_lo=bars.lo.min().over(after), end_ts=bars.last_ts.max().over(after))
        b = b.mutate(rise=(b.hi / b.base).cast("float64").ln())
        day = b.group_by(["isin", "day"]).aggregate(
            usual_value=b.run_value.median(), usual_rise=b.rise.quantile(0.9))
        b = b.join(day, ["isin", "day"])
        # A flat day or bar has no ratio (null, never a match), not a division by zero.
        b = b.mutate(value_ratio=b.run_value / b.usual_value.nullif(0),
                     rise_ratio=b.rise / b.usual_rise.nullif(0),
                     giveback=((b.hi - b.after_lo) / (b.hi - b.base).nullif(0)).cast("float64"))
        b = b.filter((b.value_ratio >= p.min_value_ratio)
                     & (b.rise_ratio >= p.min_rise_ratio) & (b.giveback >= p.min_giveback))
        b = b.left_join(self._buyers(m, b), ["isin", "day", "bar"]).drop(
            "isin_right", "day_right", "bar_right")
        b, mic = m.venue(b)
        return b.mutate(done=m.clock.close(b.day, mic))

    def _buyers(self, m, b):
        """The accounts that bought the most, taking liquidity, in each bar's run-up."""
        x = m.executions.filter(m.executions.aggressive & (m.executions.side == "BUY"))
        r = b.select("isin", "day", "bar", "start_ts", "last_ts")
        j = r.join(x, [r.isin == x.isin, x.ts_event >= r.start_ts, x.ts_event <= r.last_ts])
        per = j.group_by(["isin", "day", "bar", "account_id"]).aggregate(
            bought=(j.price * j.quantity).sum())
        rank = ibis.row_number().over(group_by=[per.isin, per.day, per.bar],
                                      order_by=[ibis.desc(per.bought), per.account_id])
        top = per.filter(rank < self.params.buyers_named)
        return top.group_by(["isin", "day", "bar"]).aggregate(buyers=top.account_id.collect())

    def cases(self, e):
        p = self.params
        g = e.group_by(list(self.case)).aggregate(
            window_start=e.start_ts.min(), window_end=e.end_ts.max(),
            value_ratio=e.value_ratio.max(), rise_ratio=e.rise_ratio.max(),
            evidence=e.first_trade.collect().concat(e.last_trade.collect()),
            buyers=e.buyers.collect().flatten())
        score = (0.5 + 0.1 * (g.value_ratio / p.min_value_ratio).ln()
                 + 0.1 * (g.rise_ratio / p.min_rise_ratio).ln())
        return hits_table(g.mutate(account_ids=g.buyers.unique().sort(),
                                   score=score.clip(upper=1.0)), self.case)
