"""Overdue reassessment: a live new-technology application whose last risk assessment's
`next_review` date passed more than the rules' `grace_days` ago, or that was never
assessed that long after going live (an application is assessed before it goes live).
The level is the days overdue over `grace_days` (1: the last day of grace); raised on
the day after.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.data import in_force
from suptech.risk.indicator import Indicator, begins, why
from suptech.risk.register import applications


@register
class OverdueReview(Indicator):
    id = "tech_review"
    typology = "TECH_REVIEW_OVERDUE"
    section = "technology"
    subject = "application"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        days = r.days("tech_application", "tech_assessment")
        apps = applications(r, days)
        done = in_force(r.reports("tech_assessment"), ["application_id"], days)
        t = apps.left_join(done, (apps.application_id == done.application_id)
                           & (apps.day == done.day))
        t = t.select(apps.day, apps.application_id, apps.institution_lei, apps.technology,
                     due=ibis.coalesce(done.next_review, apps.live_from).epoch_days(),
                     residual=done.residual_risk, assessed=done.assessed_on.cast("string"))
        t = t.mutate(overdue=t.day - t.due)
        t = t.mutate(level=ibis.greatest(0, t.overdue).cast("float64") / rule.grace_days)
        t = t.mutate(raised=begins(t, "application_id", "day", t.overdue > rule.grace_days, step=1))
        t = r.reported(t)
        return t.select(
            "day", "level", "raised", isin=ibis.null("string"), subject=t.application_id,
            value=t.overdue.cast("float64"), accounts=ibis.literal([], type="array<string>"),
            why=why(measure="days past the reassessment due", application=t.application_id,
                    institution=t.institution_lei, technology=t.technology,
                    last_assessed=t.assessed, residual_risk=t.residual,
                    days_overdue=t.overdue, grace_days=rule.grace_days))
