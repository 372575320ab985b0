"""Abnormal fluctuation (异常波动), as the Shanghai and Shenzhen exchanges define it.

A share's trading is abnormal when, over 3 consecutive trading days, its daily close
deviations from its benchmark add up to the board's line or more, either way (±20 % on
the main board, ±12 % for ST shares, ±30 % on ChiNext and STAR); or, where its board's
rules say so, when its mean daily turnover over 3 days is 30 times its mean over the 5
days before and those 3 days' turnover adds up to 20 % of its free float. After a
trigger the exchange counts the share's days afresh. The lines are the rules' `boards`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.deviation import deviations, frame, per_board, with_restarts
from suptech.risk.indicator import Indicator, at_line, why

DAYS = 3


def triggers(r, boards) -> ir.Table:
    """Every share-day with its 3-day measures, `level` (1 at the line) and `trigger`
    (a counted abnormal fluctuation): what this rule raises, and what the severe
    rule's repeats count."""
    d = deviations(r, boards)
    w = frame(DAYS)
    d = d.mutate(cum3=d.dev.sum().over(w), days3=d.dev.count().over(w),
                 turn3=d.turnover.sum().over(w), mean3=d.turnover.mean().over(w),
                 before5=d.turnover.mean().over(frame(5, ending=DAYS)),
                 line=per_board(d, boards, "abnormal_3d"),
                 ratio_line=per_board(d, boards, "abnormal_turnover_ratio"),
                 turn_line=per_board(d, boards, "abnormal_turnover_3d"))
    # Only a full 3 days counts: a share's first days have no 3-day sum.
    price = ibis.ifelse(d.days3 == DAYS, d.cum3.abs() / d.line, 0)
    ratio = d.mean3 / d.before5
    # Both turnover conditions must hold: the lower of the two is the level.
    turnover = ibis.least(ratio / d.ratio_line, d.turn3 / d.turn_line)
    d = d.mutate(level=ibis.greatest(price, ibis.coalesce(turnover, 0)),
                 ratio3=ratio)
    d = d.mutate(breach=at_line(d.level))
    return with_restarts(d, "breach", DAYS)


@register
class AbnormalFluctuation(Indicator):
    id = "abnormal_fluctuation"
    typology = "ABNORMAL_FLUCTUATION"
    section = "boards"

    def levels(self, r) -> ir.Table:
        t = triggers(r, self.rules)
        return t.select(
            "day", "isin", subject=t.isin, value=t.cum3, level=t.level, raised=t.trigger,
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="cumulative deviation over 3 trading days", value=t.cum3,
                    line=t.line, benchmark=t.benchmark, board=t.board,
                    turnover_3d=t.turn3, turnover_ratio=t.ratio3))
