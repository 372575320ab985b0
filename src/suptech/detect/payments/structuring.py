"""STRUCTURING: cash split into amounts just below the large-value reporting threshold.

Regulatory basis: PBoC Measures for Large-Value and Suspicious Transaction Reporting
(cash from CNY 50,000 a day is reported); FATF Recommendation 20 and its guidance on
structuring ("smurfing"); the US 31 U.S.C. 5324 offence this mirrors.

Signal: an account makes cash deposits between `band` of the threshold and the
threshold, at least `per_day` of them on one day, or at least `per_week` over the
scanned days.

Known false positives: shopkeepers depositing a day's takings that are often close to
the threshold; they deposit once a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import group_hits
from suptech.detect.payments.data import CASH_THRESHOLD_CNY


@dataclass(frozen=True)
class StructuringParams(Params):
    band: float = 0.85
    per_day: int = 2
    per_week: int = 3


@register
class Structuring(Detector):
    id = "structuring"
    typology = "STRUCTURING"
    domain = "payments"
    Params = StructuringParams

    def hits(self, d):
        p = self.params
        t = d.payments
        cash = t.filter((t.channel == "CASH") & (t.cny >= p.band * CASH_THRESHOLD_CNY)
                        & (t.cny < CASH_THRESHOLD_CNY))
        daily = cash.group_by(["creditor", "day"]).aggregate(n=cash.count())
        busiest = daily.group_by("creditor").aggregate(most=daily.n.max())
        g = cash.group_by("creditor").aggregate(
            n=cash.count(), total=cash.cny.sum(), window_start=cash.ts_event.min(),
            window_end=cash.ts_event.max(), evidence=cash.payment_id.collect(),
            days=cash.day.nunique())
        g = g.join(busiest, "creditor")
        g = g.filter((g.most >= p.per_day) | ((g.n >= p.per_week) & (g.days <= 7)))
        return group_hits(g, ibis.array([g.creditor]), 0.5 + g.n / 10)
