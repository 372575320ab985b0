"""Concentration of an instrument's trading: the Herfindahl-Hirschman index of the
shares of the day's traded value (both sides) held by each member, and by each group of
related accounts (one owner, household or control group), with the top 5 and top 10
shares beside. A day is raised where an index is at least the rules' floor and at least
`multiple` times the instrument's own median over the days before: a market that is
always concentrated is its own normal. Days with fewer than `min_trades` trades, and
instruments with less history than `min_history` days, are not rated. The lines are
the rules' `concentration`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, why


def shares(e: ir.Table, by: str) -> ir.Table:
    """Per instrument and day: the HHI, top-5 and top-10 shares of traded value by
    `by`, the largest holders (`by` ids, the 5 largest) and the trades counted."""
    held = e.group_by(["isin", "day", by]).aggregate(value=e.value.sum())
    held = held.mutate(share=held.value / held.value.sum().over(group_by=["isin", "day"]))
    held = held.mutate(rank=ibis.row_number().over(
        group_by=["isin", "day"], order_by=[ibis.desc(held.share), held[by]]))
    return held.group_by(["isin", "day"]).aggregate(
        hhi=(held.share * held.share).sum(),
        top5=held.share.sum(where=held.rank < 5), top10=held.share.sum(where=held.rank < 10),
        largest=held[by].collect(where=held.rank < 5))


@register
class Concentration(Indicator):
    id = "concentration"
    typology = "TRADING_CONCENTRATION"
    section = "concentration"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        e = r.executions
        counted = r.bars.select("isin", "day", "k", "trades")
        by_member = shares(e.mutate(member=ibis.coalesce(e.member_lei, "unknown")), "member")
        by_group = shares(e.mutate(group=ibis.coalesce(e.group_key, e.account_id)), "group")
        t = counted.join(by_member, ["isin", "day"]).join(
            by_group.rename(hhi_g="hhi", top5_g="top5", top10_g="top10",
                            largest_g="largest"), ["isin", "day"])
        t = t.filter(t.trades >= rule.min_trades)
        before = ibis.window(group_by="isin", order_by="k", rows=(-rule.history, -1))
        t = t.mutate(normal=t.hhi.median().over(before), normal_g=t.hhi_g.median().over(before),
                     known=t.hhi.count().over(before))
        t = r.reported(t.filter(t.known >= rule.min_history))
        line = ibis.greatest(rule.hhi_floor, rule.multiple * t.normal)
        line_g = ibis.greatest(rule.hhi_floor, rule.multiple * t.normal_g)
        t = t.mutate(line=line, line_g=line_g)
        return t.select(
            "day", "isin", subject=t.isin, value=ibis.greatest(t.hhi, t.hhi_g),
            level=ibis.greatest(t.hhi / t.line, t.hhi_g / t.line_g),
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="HHI of traded value by member and by related group",
                    hhi_member=t.hhi, line_member=t.line, top5_member=t.top5,
                    top10_member=t.top10, hhi_group=t.hhi_g, line_group=t.line_g,
                    top5_group=t.top5_g, top10_group=t.top10_g,
                    largest_member=t.largest.join(","),
                    largest_group=t.largest_g.join(",")))
