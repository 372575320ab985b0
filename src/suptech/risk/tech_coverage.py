"""Cover short of exposure: a new-technology application whose provisions, insurance
and guarantees in force (in its currency) cover less than the rules' `min_coverage`
of the largest loss its institution says it could cause. The level is 2 - cover /
(min_coverage x exposure): 1 at the line (enough cover, just), past it when short, 2
with no cover at all. Raised on the day the cover falls short (an insurance ending, an
exposure raised, a provision released), not each day it stays so. Applications with no exposure stated are not rated.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.data import in_force
from suptech.risk.indicator import Indicator, begins, why
from suptech.risk.register import applications


@register
class CoverShortfall(Indicator):
    id = "tech_coverage"
    typology = "TECH_COVER_SHORTFALL"
    section = "technology"
    subject = "application"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        days = r.days("tech_application", "risk_cover")
        apps = applications(r, days)
        apps = apps.filter(apps.exposure > 0).mutate(exposure=apps.exposure.cast("float64"))
        cover = in_force(r.reports("risk_cover"), ["application_id", "cover_type"], days)
        cover = cover.filter(cover.valid_to.isnull() | (cover.valid_to.epoch_days() >= cover.day))
        t = apps.left_join(cover, (apps.application_id == cover.application_id)
                           & (apps.day == cover.day) & (apps.currency == cover.currency))
        t = t.group_by([apps.day, apps.application_id, apps.institution_lei, apps.technology,
                        apps.exposure]).aggregate(
            covered=ibis.coalesce(t.amount.cast("float64").sum(), 0.0))
        ratio = t.covered / t.exposure
        t = t.mutate(ratio=ratio, level=ibis.greatest(0.0, 2 - ratio / rule.min_coverage))
        t = t.mutate(raised=begins(t, "application_id", "day", t.ratio < rule.min_coverage, step=1))
        t = r.reported(t)
        return t.select(
            "day", "level", "raised", isin=ibis.null("string"), subject=t.application_id,
            value=t.ratio, accounts=ibis.literal([], type="array<string>"),
            why=why(measure="cover (provisions, insurance, guarantees) over exposure",
                    application=t.application_id, institution=t.institution_lei,
                    technology=t.technology, exposure=t.exposure, covered=t.covered,
                    coverage=t.ratio, min_coverage=rule.min_coverage))
