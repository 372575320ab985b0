"""STALE_ASSESSMENT: a sale made on an assessment older than the review period. The
Measures (art. 13, 27) oblige an institution to keep each investor's assessment current
and to reassess when their circumstances may have changed; an assessment past its own
`valid_until` is no assessment at all (UNSUITABLE_SALE's NO_ASSESSMENT). What this adds is
the assessment that never lapses: one filed without `valid_until`, or with one further off
than the review period, still in force `max_age_days` after it was made (two years by
default, the review period the industry's guidance and most institutions' policies set;
configurable per market)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, register
from suptech.investor.unsuitable import sale_hits


@dataclass(frozen=True)
class StaleParams(Params):
    max_age_days: int = 730


@register
class StaleAssessment(Detector):
    id = "stale_assessment"
    typology = "STALE_ASSESSMENT"
    domain = "investor"
    calibrated = False
    Params = StaleParams

    def hits(self, d) -> ir.Table:
        s = d.sales.filter(d.sales.level.notnull() & d.sales.assessed_on.notnull())
        age = s.day - s.assessed_on.epoch_days()
        s = s.mutate(_age=age)
        return sale_hits(self, s, ibis.ifelse(s._age > self.params.max_age_days,
                                              "ASSESSMENT_PAST_REVIEW", None),
                         ibis.literal(0.6), assessed_on=lambda t: t.assessed_on.cast("string"),
                         days_old=lambda t: t._age, review_days=lambda t: self.params.max_age_days)
