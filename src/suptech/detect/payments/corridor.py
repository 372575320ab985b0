"""HIGH_RISK_CORRIDOR: payments to or from jurisdictions on FATF's lists.

Regulatory basis: FATF Recommendation 19 and its public statement (call for action:
DPRK, Iran, Myanmar); PBoC rules on enhanced due diligence for high-risk countries.

Signal: a domestic account pays to, or is paid from, an account in a listed country,
at least `min_cny` in the scanned days.

Known false positives: humanitarian and licensed payments, which need the licence
checked by a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import group_hits
from suptech.detect.payments.data import HIGH_RISK


@dataclass(frozen=True)
class CorridorParams(Params):
    min_cny: float = 10_000
    countries: tuple[str, ...] = HIGH_RISK


@register
class HighRiskCorridor(Detector):
    id = "high_risk_corridor"
    typology = "HIGH_RISK_CORRIDOR"
    domain = "payments"
    Params = CorridorParams

    def hits(self, d):
        p = self.params
        t = d.payments
        out = t.filter(t.creditor_country.isin(p.countries)).select(
            "payment_id", "ts_event", "cny", account=t.debtor, other=t.creditor)
        inn = t.filter(t.debtor_country.isin(p.countries)).select(
            "payment_id", "ts_event", "cny", account=t.creditor, other=t.debtor)
        x = out.union(inn)
        g = x.group_by("account").aggregate(
            total=x.cny.sum(), window_start=x.ts_event.min(), window_end=x.ts_event.max(),
            evidence=x.payment_id.collect(), others=x.other.collect())
        g = g.filter(g.total >= p.min_cny)
        return group_hits(g, ibis.array([g.account]).concat(g.others), 0.6 + g.total / 1e7)
