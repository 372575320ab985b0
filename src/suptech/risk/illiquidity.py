"""Illiquidity (Amihud 2002): absolute return per million of value traded, averaged over
the rules' `days` trading days as Amihud averages it (one day's measure is as noisy as
its return: ordinary days' tails crossed a line on a single day's), against the
instrument's own median of that average over the `history` days before. A share whose
price moves far on little money is easy to push and hard to leave. Raised on the day
the average reaches the line, not each day it stays there. Instruments with less
history than `min_history` days are not rated; the lines are the rules' `illiquidity`.

Quoted and effective spreads need the quotes at each trade, which the reporting
contract does not carry yet.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, at_line, begins, why

MILLION = 1_000_000


@register
class Illiquidity(Indicator):
    id = "illiquidity"
    typology = "ILLIQUIDITY"
    section = "illiquidity"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        b = r.bars.filter(r.bars.ret.notnull() & (r.bars.value > 0))
        b = b.mutate(amihud=b.ret.abs() / (b.value / MILLION))
        last = ibis.window(group_by="isin", order_by="k", rows=(-rule.days + 1, 0))
        b = b.mutate(mean=b.amihud.mean().over(last))
        before = ibis.window(group_by="isin", order_by="k", rows=(-rule.history, -1))
        b = b.mutate(normal=b.mean.median().over(before), known=b.mean.count().over(before))
        b = b.filter((b.known >= rule.min_history) & (b.normal > 0))
        b = b.mutate(level=b.mean / (rule.multiple * b.normal))
        b = b.mutate(raised=begins(b, "isin", "k", at_line(b.level)))
        b = r.reported(b)
        return b.select(
            "day", "isin", "level", "raised", subject=b.isin, value=b.mean,
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure=f"absolute return per million traded (Amihud), mean of "
                    f"{rule.days} days", amihud=b.mean, day_amihud=b.amihud,
                    normal=b.normal, line=rule.multiple * b.normal, ret=b.ret,
                    value_traded=b.value))
