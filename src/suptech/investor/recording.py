"""MISSING_RECORDING: a high-risk product (R4, R5) sold to an ordinary investor with no
recording of the sale (`suitability.needs_recording`)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, register
from suptech.investor.suitability import needs_recording
from suptech.investor.unsuitable import SaleParams, sale_hits


@register
class MissingRecording(Detector):
    id = "missing_recording"
    typology = "MISSING_RECORDING"
    domain = "investor"
    calibrated = False
    Params = SaleParams

    def hits(self, d) -> ir.Table:
        s = d.sales.filter(d.sales.level.notnull())
        missing = needs_recording(s.level, s.category) & s.recording_id.isnull()
        return sale_hits(self, s, ibis.ifelse(missing, "NO_RECORDING", None),
                         ibis.literal(0.7), channel=lambda t: t.channel)
