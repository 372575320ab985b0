"""ELDERLY_HIGH_RISK_SALE: a high-risk product (R4, R5) sold to an ordinary investor of
70 or more (the assessment's age band), suitable or not: the Measures ask institutions
to take special care of the elderly (art. 11), and a supervisor looks at each such
sale."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, register
from suptech.investor.suitability import needs_recording
from suptech.investor.unsuitable import sale_hits


@dataclass(frozen=True)
class ElderlyParams(Params):
    age_bands: tuple[str, ...] = ("70_PLUS",)


@register
class ElderlyHighRisk(Detector):
    id = "elderly_high_risk"
    typology = "ELDERLY_HIGH_RISK_SALE"
    domain = "investor"
    calibrated = False
    Params = ElderlyParams

    def hits(self, d) -> ir.Table:
        s = d.sales.filter(d.sales.level.notnull())
        # A high-risk product to an ordinary investor: what must be recorded.
        hit = needs_recording(s.level, s.category) & s.age_band.isin(list(self.params.age_bands))
        return sale_hits(self, s, ibis.ifelse(hit, "ELDERLY_HIGH_RISK", None),
                         ibis.literal(0.6), age_band=lambda t: t.age_band)
