"""STRUCTURING: cash split into amounts just below the large-value reporting threshold.

Regulatory basis: PBoC Measures for Large-Value and Suspicious Transaction Reporting
(cash from CNY 50,000 a day is reported); FATF Recommendation 20 and its guidance on
structuring ("smurfing"); the US 31 U.S.C. 5324 offence this mirrors.

Signal: an account makes two or more cash deposits, each between `band` of the
threshold and the threshold, within `within_hours` of each other: together over it,
each under it.

Known false positives: shopkeepers depositing a day's takings that are often close to
the threshold; they deposit once a day, at closing time, so a day apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, register
from suptech.detect.payments.common import group_hits
from suptech.detect.payments.data import CASH_THRESHOLD_CNY


@dataclass(frozen=True)
class StructuringParams(Params):
    band: float = 0.85
    within_hours: float = 12


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
                        & (t.cny < CASH_THRESHOLD_CNY)).select(
            "payment_id", "ts_event", account=t.creditor)
        later = cash.view()
        pairs = cash.join(later, [cash.account == later.account,
                                  later.ts_event > cash.ts_event,
                                  later.ts_event <= cash.ts_event
                                  + int(p.within_hours * 3600 * SECOND)])
        close = pairs.select("account").distinct()
        mine = cash.semi_join(close, "account")
        g = mine.group_by("account").aggregate(
            n=mine.count(), window_start=mine.ts_event.min(), window_end=mine.ts_event.max(),
            evidence=mine.payment_id.collect())
        return group_hits(g, ibis.array([g.account]), 0.5 + g.n / 10)
