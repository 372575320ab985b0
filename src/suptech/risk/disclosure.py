"""The daily disclosure list's triggers (公开信息: the exchanges publish the day's
largest buyers and sellers of a share that meets one): a daily close deviation from the
benchmark (main board) or a daily close change (ChiNext, STAR) of ±7 % or ±15 %; a day's
range of 15 % or 30 % of the previous close; turnover of 20 % or 30 % of the free float.
The exchange lists the five largest of each trigger; every share that meets one is
raised here. The lines are the rules' `boards`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.deviation import deviations, per_board
from suptech.risk.indicator import Indicator, why


@register
class DisclosureTrigger(Indicator):
    id = "disclosure_trigger"
    typology = "DISCLOSURE_TRIGGER"
    section = "boards"

    def levels(self, r) -> ir.Table:
        boards = self.rules
        d = deviations(r, boards)
        by_change = [b for b, rule in boards.items() if rule.daily_measure == "change"]
        price = ibis.ifelse(d.board.isin(by_change or [""]), d.ret, d.dev)
        amplitude = (d.high - d.low) / d.prev_close
        d = d.mutate(price=price, amplitude=amplitude)
        levels = {"price": d.price.abs() / per_board(d, boards, "daily_price"),
                  "amplitude": d.amplitude / per_board(d, boards, "daily_amplitude"),
                  "turnover": d.turnover / per_board(d, boards, "daily_turnover")}
        d = d.mutate(**{f"l_{k}": ibis.coalesce(v, 0) for k, v in levels.items()})
        d = d.filter(d.prev_close.notnull())
        return d.select(
            "day", "isin", subject=d.isin,
            value=d.price, level=ibis.greatest(d.l_price, d.l_amplitude, d.l_turnover),
            accounts=ibis.literal([], type="array<string>"),
            why=why(measure="daily price move, range and turnover", price_move=d.price,
                    price_line=per_board(d, boards, "daily_price"), amplitude=d.amplitude,
                    amplitude_line=per_board(d, boards, "daily_amplitude"),
                    turnover=d.turnover,
                    turnover_line=per_board(d, boards, "daily_turnover"),
                    benchmark=d.benchmark, board=d.board))
