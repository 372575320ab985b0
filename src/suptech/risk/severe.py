"""Severe abnormal fluctuation (严重异常波动), as the Shanghai and Shenzhen exchanges
define it: over 10 consecutive trading days, 3 abnormal fluctuations the same way
(`abnormal.triggers`), or daily close deviations adding up to +100 % or -50 %; or over
30 consecutive trading days, to +200 % or -70 %. A run of days in breach is counted
afresh every 10 days, as a suspension and disclosure would restart it. The lines are
the rules' `boards`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.abnormal import triggers
from suptech.risk.deviation import frame, per_board, with_restarts
from suptech.risk.indicator import Indicator, at_line, why

SHORT, LONG = 10, 30


def _either_way(cum: ir.FloatingValue, up: ir.FloatingValue,
                down: ir.FloatingValue) -> ir.FloatingValue:
    """How far a cumulative deviation is towards the line on its side (1 at it)."""
    return ibis.ifelse(cum >= 0, cum / up, cum / down)


@register
class SevereFluctuation(Indicator):
    id = "severe_fluctuation"
    typology = "SEVERE_ABNORMAL_FLUCTUATION"
    section = "boards"

    def levels(self, r) -> ir.Table:
        boards = self.rules
        t = triggers(r, boards)
        t = t.mutate(up=ibis.ifelse(t.trigger & (t.cum3 >= 0), 1, 0),
                     down=ibis.ifelse(t.trigger & (t.cum3 < 0), 1, 0))
        short, long = frame(SHORT), frame(LONG)
        t = t.mutate(cum10=t.dev.sum().over(short), cum30=t.dev.sum().over(long),
                     ups=t.up.sum().over(short), downs=t.down.sum().over(short),
                     repeats_line=per_board(t, boards, "severe_repeats"))
        t = t.mutate(
            l10=_either_way(t.cum10, per_board(t, boards, "severe_10d_up"),
                            per_board(t, boards, "severe_10d_down")),
            l30=_either_way(t.cum30, per_board(t, boards, "severe_30d_up"),
                            per_board(t, boards, "severe_30d_down")),
            lrep=ibis.greatest(t.ups, t.downs) / t.repeats_line)
        t = t.mutate(level=ibis.greatest(t.l10, t.l30, t.lrep))
        t = with_restarts(t.mutate(breach=at_line(t.level)), "breach", SHORT)
        return t.select(
            "day", "isin", subject=t.isin, value=ibis.greatest(t.cum10.abs(), t.cum30.abs()),
            level=t.level, raised=t.trigger, accounts=ibis.literal([], type="array<string>"),
            why=why(measure="cumulative deviation over 10 and 30 trading days, and "
                            "abnormal fluctuations the same way within 10",
                    deviation_10d=t.cum10, deviation_30d=t.cum30, abnormal_up_10d=t.ups,
                    abnormal_down_10d=t.downs, benchmark=t.benchmark, board=t.board))
