"""Exposure contagion: each institution's DebtRank over the interbank exposures reported.

DebtRank (Battiston et al., "DebtRank: too central to fail?", Scientific Reports 2012)
asks what share of the system's capital would be lost if one institution failed: a
lender loses on its exposure to a distressed borrower in proportion to the borrower's
distress, and a loss as large as its tier 1 capital distresses it wholly, and so on
through the network. Here, on each day the network changed (an exposure or a capital
reported), every institution with capital known is shocked in turn (distress
`shock`, 1: its default) and the distress travels until none is left to pass on:

- the impact of a borrower j on a lender i is W(i, j) = min(1, A(i, j) / E(i)), A its
  exposures to j of every kind, E its tier 1 capital, both as last reported;
- distress h only moves from an institution in the round after it was first hit
  (the algorithm's D state), once, so that it ends on cycles; each lender gains
  min(1, h + sum of W(i, j) h(j)) over the borrowers passing it on that round;
- the DebtRank of the institution shocked is the capital-weighted distress of the
  others: sum of h(i) E(i) over the system's capital, its own loss not counted.

A day is raised where an institution's DebtRank reaches the rules' `line` and did not on
the day the network last changed: when it became systemic, not every day it stays so.
Amounts in other currencies than the rules' `currency` are not counted (no exchange
rates are reported).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.data import in_force
from suptech.risk.indicator import Indicator, at_line, begins, why


def network(r, rule) -> tuple[ir.Table, ir.Table]:
    """Per day the network changed on (and the last before the run's range): the
    impact of each borrower on each lender, and each institution's capital and share
    of the system's."""
    e = r.reports("exposure")
    c = r.reports("institution_capital")
    changed = e.select("since").union(c.select("since")).distinct().rename(day="since")
    if r.last_day is not None:
        changed = changed.filter(changed.day <= r.last_day)
    if r.first_day is not None:
        before = changed.filter(changed.day < r.first_day).day.max()
        changed = changed.filter((changed.day >= r.first_day) | (changed.day == before))
    # A report in another currency ends the one before it too: what is owed is in force
    # as last reported, and counted only in the rules' currency.
    cap = in_force(c, ["institution_lei"], changed)
    cap = cap.filter(cap.currency == rule.currency).mutate(
        capital=cap.tier1_capital.cast("float64"))
    cap = cap.mutate(v=cap.capital / cap.capital.sum().over(group_by="day"))
    owed = in_force(e, ["lender_lei", "borrower_lei", "exposure_type"], changed)
    owed = owed.filter(owed.currency == rule.currency)
    owed = owed.group_by(["day", "lender_lei", "borrower_lei"]).aggregate(
        amount=owed.amount.cast("float64").sum())
    owed = owed.filter(owed.amount > 0).join(
        cap.select("day", lender_lei="institution_lei", capital="capital"),
        ["day", "lender_lei"])
    impact = owed.select("day", "lender_lei", "borrower_lei", "amount",
                         w=ibis.least(1.0, owed.amount / owed.capital))
    return impact, cap


def spread(r, impact: ir.Table, cap: ir.Table, shock: float) -> ir.Table:
    """Every institution shocked in turn: day, origin, node, h (the final distress of
    each institution the origin's shock reached, the origin's own included)."""
    start = cap.select("day", origin=cap.institution_lei, node=cap.institution_lei,
                       h=ibis.literal(shock), s=ibis.literal("D"))
    # Each round is kept (a table in the engine) for the next to read: the rounds are
    # as many as the longest chain the distress travels, each one join.
    run, n = object(), 0
    state = r.shared(("debtrank", run, n), lambda: start)
    while state.filter(state.s == "D").count().to_pyarrow().as_py():
        d = state.filter(state.s == "D")
        passed = d.join(impact, (d.day == impact.day) & (d.node == impact.borrower_lei))
        passed = passed.group_by([passed.day, passed.origin, passed.lender_lei]).aggregate(
            add=(passed.w * passed.h).sum())
        passed = passed.rename(p_day="day", p_origin="origin", p_node="lender_lei")
        j = state.outer_join(passed, (state.day == passed.p_day)
                             & (state.origin == passed.p_origin)
                             & (state.node == passed.p_node))
        nxt = j.select(
            day=ibis.coalesce(j.day, j.p_day), origin=ibis.coalesce(j.origin, j.p_origin),
            node=ibis.coalesce(j.node, j.p_node),
            h=ibis.least(1.0, ibis.coalesce(j.h, 0.0) + ibis.coalesce(j.add, 0.0)),
            # D passes its distress on once, then is I; the newly hit are D.
            s=ibis.cases((j.s == "D", "I"), (j.s.isnull(), "D"), else_=j.s))
        n += 1
        state = r.shared(("debtrank", run, n), lambda: nxt)
        r.forget(("debtrank", run, n - 1))
    return state.drop("s")


@register
class ExposureContagion(Indicator):
    id = "debtrank"
    typology = "EXPOSURE_CONTAGION"
    section = "debtrank"
    subject = "institution"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        impact, cap = network(r, rule)
        h = spread(r, impact, cap, rule.shock)
        h = h.join(cap.select("day", node="institution_lei", v="v", capital="capital"),
                   ["day", "node"])
        others = h.filter(h.node != h.origin)
        rank = ibis.row_number().over(group_by=["day", "origin"],
                                      order_by=[ibis.desc(others.h * others.v), others.node])
        others = others.mutate(rank=rank)
        t = others.group_by(["day", "origin"]).aggregate(
            value=(others.h * others.v).sum(), hit=(others.h > 0).sum(),
            failed=(others.h.round(9) >= 1).sum(),
            hardest=others.node.collect(where=others["rank"] < 5).join(","))
        t = cap.select("day", origin="institution_lei", own_v="v").left_join(
            t, ["day", "origin"]).drop("day_right", "origin_right")
        t = t.mutate(value=ibis.coalesce(t.value, 0.0))
        t = t.mutate(level=t.value / rule.line)
        t = t.mutate(raised=begins(t, "origin", "day", at_line(t.level)))
        t = r.reported(t)
        return t.select(
            "day", "level", "value", "raised", isin=ibis.null("string"), subject=t.origin,
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="DebtRank: the capital-weighted distress of the others if "
                    "this institution fails", institution=t.origin, debtrank=t.value,
                    line=rule.line, own_share_of_capital=t.own_v, distressed=t.hit,
                    wiped_out=t.failed, hardest_hit=t.hardest, currency=rule.currency))
