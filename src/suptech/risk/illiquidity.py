"""Illiquidity (Amihud 2002): a day's absolute return per million of value traded, against
the instrument's own median over the days before. A share whose price moves far on
little money is easy to push and hard to leave. Instruments with less history than the
rules' `min_history` days are not rated; the lines are the rules' `illiquidity`.

Quoted and effective spreads need the quotes at each trade, which the reporting
contract does not carry yet.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, why

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
        before = ibis.window(group_by="isin", order_by="k", rows=(-rule.history, -1))
        b = b.mutate(normal=b.amihud.median().over(before), known=b.amihud.count().over(before))
        b = r.reported(b.filter((b.known >= rule.min_history) & (b.normal > 0)))
        line = rule.multiple * b.normal
        return b.select(
            "day", "isin", subject=b.isin, value=b.amihud, level=b.amihud / line,
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="absolute return per million traded (Amihud)", amihud=b.amihud,
                    normal=b.normal, line=line, ret=b.ret, value_traded=b.value))
