"""High-frequency trading as the CSRC's Provisions on Programmatic Trading (2024, art.
17) define it: an account that sends 300 or more orders and cancellations in one second,
or 20,000 or more in a day. The exchanges apply differentiated charges and closer
supervision to such accounts; here each account-day over a line is raised. The lines
are the rules' `high_frequency`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.model.calendar import SECOND
from suptech.risk.indicator import Indicator, why


@register
class HighFrequency(Indicator):
    id = "high_frequency"
    typology = "HIGH_FREQUENCY_TRADING"
    section = "high_frequency"
    subject = "account"

    def levels(self, r) -> ir.Table:
        m = r.messages.filter(r.messages.event_type.isin(["NEW", "CANCEL"]))
        m = r.reported(m)
        m = m.mutate(second=m.ts_event // SECOND)
        per_second = m.group_by(["account_id", "day", "second"]).aggregate(n=m.count())
        peak = per_second.group_by(["account_id", "day"]).aggregate(
            peak=per_second.n.max(), messages=per_second.n.sum())
        rule = self.rules
        level = ibis.greatest(peak.peak / rule.per_second, peak.messages / rule.per_day)
        return peak.select(
            "day", isin=ibis.null("string"), subject=peak.account_id,
            value=peak.messages.cast("float64"), level=level,
            accounts=ibis.array([peak.account_id]),
            why=why(measure="orders and cancellations", in_one_second=peak.peak,
                    second_line=rule.per_second, in_the_day=peak.messages,
                    day_line=rule.per_day))
