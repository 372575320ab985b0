"""The cancellation ratio: the share of a member's new orders in an instrument on a day
that it cancelled, of a member that sent at least the rules' `min_orders` (a measure
the venues watch beside the order-to-trade ratio, MiFID II RTS 9). The line is the
rules' `order_ratios.max_cancellation`.
"""

from __future__ import annotations

import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, why
from suptech.risk.order_ratios import busiest, member_messages


@register
class Cancellation(Indicator):
    id = "cancellation"
    typology = "CANCELLATION_RATIO"
    section = "order_ratios"
    subject = "member"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        m = member_messages(r)
        m = m.filter(m.new >= rule.min_orders)
        m = m.mutate(ratio=m.cancelled / m.new)
        m = m.join(busiest(r, m, ("CANCEL",)), ["member_lei", "isin", "day"])
        return m.select(
            "day", "isin", subject=m.member_lei, value=m.ratio,
            level=m.ratio / rule.max_cancellation, accounts=m.accounts,
            why=why(measure="cancelled orders over new orders", member=m.member_lei,
                    new=m.new, cancelled=m.cancelled, ratio=m.ratio,
                    line=rule.max_cancellation))
