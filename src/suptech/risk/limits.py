"""Consecutive limit hits: a share that closes at its daily price limit (the previous
close moved by the instrument's `price_limit_pct`, rounded to its tick) the same way on
the rules' `consecutive` trading days in a row, with the share of that day's buying
(at a limit-up close) or selling (limit down) held by its `top` largest accounts. A
run is one case, raised on the day it reaches the line; the heat map shows every day
at the limit. The lines are the rules' `limit_hits`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, why


def half_up(ticks: ir.FloatingValue) -> ir.FloatingValue:
    """Rounded half up, as the exchanges round a limit price to the tick: 17.15 up 10 %
    is 18.865, whose limit is 18.87. The closes are binary floats, so a half is taken
    within a millionth of a tick (18.865 comes out as 1886.4999999999998 ticks)."""
    return (ticks + 0.5 + 1e-6).floor().cast("float64")


@register
class LimitHits(Indicator):
    id = "limit_hits"
    typology = "CONSECUTIVE_LIMIT_HITS"
    section = "limit_hits"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        b = r.bars.filter(r.bars.price_limit_pct.notnull() & r.bars.prev_close.notnull())
        pct = b.price_limit_pct.cast("float64") / 100
        up = half_up(b.prev_close * (1 + pct) / b.tick) * b.tick
        down = half_up(b.prev_close * (1 - pct) / b.tick) * b.tick
        b = b.mutate(hit=ibis.cases((b.close >= up - b.tick / 2, 1),
                                    (b.close <= down + b.tick / 2, -1), else_=0))
        b = b.mutate(_n=ibis.row_number().over(group_by=["isin", "hit"], order_by="k"))
        b = b.mutate(_island=b.k - b._n)
        b = b.mutate(streak=b.k - b.k.min().over(group_by=["isin", "hit", "_island"]) + 1)
        b = b.filter(b.hit != 0)
        side = ibis.ifelse(b.hit == 1, "BUY", "SELL")
        b = b.mutate(side=side)
        e = r.executions.join(b.select("isin", "day", "side"), ["isin", "day", "side"])
        per = e.group_by(["isin", "day", "account_id"]).aggregate(value=e.value.sum())
        per = per.mutate(rank=ibis.row_number().over(
            group_by=["isin", "day"], order_by=[ibis.desc(per.value), per.account_id]))
        top = per.group_by(["isin", "day"]).aggregate(
            top_value=per.value.sum(where=per.rank < rule.top), all_value=per.value.sum(),
            accounts=per.account_id.collect(where=per.rank < rule.top))
        b = b.left_join(top, ["isin", "day"]).drop("isin_right", "day_right")
        share = b.top_value / b.all_value
        return b.select(
            "day", "isin", subject=b.isin, value=b.streak.cast("float64"),
            level=b.streak / rule.consecutive, raised=b.streak == rule.consecutive,
            accounts=ibis.coalesce(b.accounts, ibis.literal([], type="array<string>")),
            why=why(measure="closes at the price limit in a row", direction=b.side,
                    in_a_row=b.streak, line=rule.consecutive, top_share=share,
                    top=rule.top, close=b.close))
