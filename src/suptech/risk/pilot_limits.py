"""Innovation pilots past their limits: a pilot whose institution reports more customers
or more business than its admission allows (`max_customers`, `max_volume`, in its
currency), one still admitted, live or extended more than the rules' `grace_days`
after its `ends_on`, or one reporting
business while not live (applied, exited, rejected). The level is the larger of the
customers' and the volume's share of their limits (1 at the limit, which is allowed), 2
for a pilot out of its life: a day is a breach where the level is past 1, raised on the
day it begins. The pilot's state and activity are its latest reports.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.data import in_force
from suptech.risk.indicator import Indicator, begins, why

ADMITTED = ("ADMITTED", "LIVE", "EXTENDED")
LIVE = ("LIVE", "EXTENDED")


@register
class PilotLimits(Indicator):
    id = "pilot_limits"
    typology = "PILOT_LIMIT_BREACH"
    section = "pilots"
    subject = "pilot"

    def levels(self, r) -> ir.Table:
        days = r.days("pilot", "pilot_activity")
        p = in_force(r.reports("pilot"), ["pilot_id"], days)
        a = in_force(r.reports("pilot_activity"), ["pilot_id"], days)
        a = a.select(a_pilot="pilot_id", a_day="day", customers="customers",
                     volume=a.volume.cast("float64"), a_currency="currency",
                     reported="since")
        t = p.left_join(a, (p.pilot_id == a.a_pilot) & (p.day == a.a_day))
        same = t.a_currency == t.currency
        customers = t.customers.cast("float64") / t.max_customers.cast("float64")
        volume = ibis.ifelse(same, t.volume / t.max_volume.cast("float64"), None)
        past_end = t.status.isin(ADMITTED) \
            & (t.day > t.ends_on.epoch_days() + self.rules.grace_days)
        # Business reported on a day the pilot was not live.
        outside = ~t.status.isin(LIVE) & (t.reported == t.day) & (t.customers > 0)
        t = t.mutate(c_share=customers, v_share=volume, past_end=past_end,
                     outside=ibis.coalesce(outside, False))
        t = t.mutate(level=ibis.coalesce(ibis.greatest(t.c_share, t.v_share), t.c_share,
                                         t.v_share, 0.0),
                     breach=ibis.coalesce(t.c_share > 1, False)
                     | ibis.coalesce(t.v_share > 1, False)
                     | ibis.coalesce(t.past_end, False) | t.outside)
        t = t.mutate(raised=begins(t, "pilot_id", "day", t.breach, step=1))
        t = r.reported(t)
        return t.select(
            "day", "raised", isin=ibis.null("string"), subject=t.pilot_id,
            level=ibis.ifelse(ibis.coalesce(t.past_end, False) | t.outside,
                              ibis.greatest(t.level, 2.0), t.level),
            value=t.level, accounts=ibis.literal([], type="array<string>"),
            why=why(measure="a pilot's business against its admitted limits",
                    pilot=t.pilot_id, name=t.name, institution=t.institution_lei,
                    status=t.status, customers=t.customers, max_customers=t.max_customers,
                    volume=t.volume, max_volume=t.max_volume,
                    ends_on=t.ends_on.cast("string"), past_end=t.past_end,
                    business_while_not_live=t.outside))
