"""REASSESSMENT_GAMING: an investor's category raised shortly before a purchase that the
category before it would not have allowed: the assessment bent to fit the sale. Raised
on the sale where the assessment in force was made within `days` days before it, rated
higher than the one it replaced, and the product's level is above that earlier one."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, register
from suptech.investor.suitability import CATEGORIES, LEVELS, rank
from suptech.investor.unsuitable import sale_hits


@dataclass(frozen=True)
class GamingParams(Params):
    days: int = 7


@register
class ReassessmentGaming(Detector):
    id = "reassessment_gaming"
    typology = "REASSESSMENT_GAMING"
    domain = "investor"
    calibrated = False
    Params = GamingParams

    def hits(self, d) -> ir.Table:
        s = d.sales.filter(d.sales.level.notnull() & d.sales.prev_category.notnull())
        raised = rank(s.category, CATEGORIES) > rank(s.prev_category, CATEGORIES)
        recent = s.day - s.assessed_on.epoch_days() <= self.params.days
        beyond_before = rank(s.level, LEVELS) > rank(s.prev_category, CATEGORIES)
        hit = raised & recent & beyond_before
        return sale_hits(self, s, ibis.ifelse(hit, "UPGRADED_FOR_THE_SALE", None),
                         ibis.literal(0.75), category_before=lambda t: t.prev_category,
                         assessed_on=lambda t: t.assessed_on.cast("string"))
