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
from suptech.risk.indicator import Indicator, at_line, why


def held(e: ir.Table, by: str) -> ir.Table:
    """Traded value (both sides) per instrument, day and `by`."""
    return e.group_by(["isin", "day", by]).aggregate(value=e.value.sum())


def hhi(h: ir.Table) -> ir.Table:
    """Per instrument and day: the HHI of `held` value, sum of squares over the square
    of the sum (no ranking: every instrument-day is measured)."""
    g = h.group_by(["isin", "day"]).aggregate(sq=(h.value * h.value).sum(), total=h.value.sum())
    return g.select("isin", "day", hhi=g.sq / (g.total * g.total))


def tops(h: ir.Table, by: str, days: ir.Table) -> ir.Table:
    """For the instrument-days of `days` only (those at the line): the top-5 and top-10
    shares and the 5 largest holders, what an alert's explanation names."""
    h = h.semi_join(days.select("isin", "day"), ["isin", "day"])
    h = h.mutate(share=h.value / h.value.sum().over(group_by=["isin", "day"]))
    h = h.mutate(rank=ibis.row_number().over(group_by=["isin", "day"],
                                             order_by=[ibis.desc(h.share), h[by]]))
    return h.group_by(["isin", "day"]).aggregate(
        top5=h.share.sum(where=h["rank"] < 5), top10=h.share.sum(where=h["rank"] < 10),
        largest=h[by].collect(where=h["rank"] < 5).join(","))


@register
class Concentration(Indicator):
    id = "concentration"
    typology = "TRADING_CONCENTRATION"
    section = "concentration"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        e = r.executions
        by_member = held(e.mutate(member=ibis.coalesce(e.member_lei, "unknown")), "member")
        by_group = held(e.mutate(group=ibis.coalesce(e.group_key, e.account_id)), "group")
        t = r.bars.select("isin", "day", "k", "trades").join(hhi(by_member), ["isin", "day"]) \
            .join(hhi(by_group).rename(hhi_g="hhi"), ["isin", "day"])
        t = t.filter(t.trades >= rule.min_trades)
        before = ibis.window(group_by="isin", order_by="k", rows=(-rule.history, -1))
        t = t.mutate(normal=t.hhi.median().over(before), normal_g=t.hhi_g.median().over(before),
                     known=t.hhi.count().over(before))
        t = r.reported(t.filter(t.known >= rule.min_history))
        t = t.mutate(line=ibis.greatest(rule.hhi_floor, rule.multiple * t.normal),
                     line_g=ibis.greatest(rule.hhi_floor, rule.multiple * t.normal_g))
        t = t.mutate(level=ibis.greatest(t.hhi / t.line, t.hhi_g / t.line_g))
        raised = t.filter(at_line(t.level))
        t = t.left_join(tops(by_member, "member", raised), ["isin", "day"]) \
            .drop("isin_right", "day_right")
        t = t.left_join(tops(by_group, "group", raised).rename(
            top5_g="top5", top10_g="top10", largest_g="largest"), ["isin", "day"]) \
            .drop("isin_right", "day_right")
        return t.select(
            "day", "isin", "level", subject=t.isin, value=ibis.greatest(t.hhi, t.hhi_g),
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="HHI of traded value by member and by related group",
                    hhi_member=t.hhi, line_member=t.line, top5_member=t.top5,
                    top10_member=t.top10, hhi_group=t.hhi_g, line_group=t.line_g,
                    top5_group=t.top5_g, top10_group=t.top10_g,
                    largest_member=t.largest, largest_group=t.largest_g))
