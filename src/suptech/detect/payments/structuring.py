"""STRUCTURING: cash split into amounts just below the large-value reporting threshold.

Regulatory basis: PBoC Measures for Large-Value and Suspicious Transaction Reporting
(cash from CNY 50,000 a day is reported); FATF Recommendation 20 and its guidance on
structuring ("smurfing"); the US 31 U.S.C. 5324 offence this mirrors.

Signal: an account makes two or more cash deposits, each between `band` of the
threshold and the threshold, within `within_hours` of each other: together over it,
each under it. Accounts that make such deposits and then pay one same account within
`forward_days` of their first one are one case with it: smurfs and the organiser they
consolidate to (FATF: placement by many, then consolidation), not one alert a smurf.
Split among smurfs, each may deposit only once, or a day apart: two or more of them
paying on to one account at least a deposit's worth each (not for goods, supplies or
any other ordinary business: `common.ORDINARY`) are a case as well.

Known false positives: shopkeepers depositing a day's takings that are often close to
the threshold; they deposit once a day, at closing time, so a day apart (and pay their
suppliers for goods).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from suptech.detect.base import SECOND, Detector, Params, register
from suptech.detect.payments.common import ORDINARY, shape_hit, shape_hits
from suptech.detect.payments.data import CASH_THRESHOLD_CNY

DAY = 24 * 3600 * SECOND


@dataclass(frozen=True)
class StructuringParams(Params):
    band: float = 0.85
    within_hours: float = 12
    forward_days: float = 3


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
        close = {r["account"] for r in pairs.select("account").distinct().to_pyarrow().to_pylist()}
        first = cash.group_by("account").aggregate(first=cash.ts_event.min())
        # What the depositors then paid on (not to themselves), with whether it is at
        # least a deposit's worth and not ordinary business: a smurf's consolidation.
        out = t.join(first, t.debtor == first.account).filter(
            (t.creditor != t.debtor) & (t.ts_event > first.first)
            & (t.ts_event <= first.first + int(p.forward_days * DAY)))
        out = out.select("payment_id", "ts_event", "debtor", "creditor", sent=(
            (out.cny >= p.band * CASH_THRESHOLD_CNY)
            & (out.purpose.isnull() | ~out.purpose.isin(ORDINARY))))
        deposits = cash.to_pyarrow().to_pylist()
        onward = out.to_pyarrow().to_pylist()
        # Accounts that consolidate to one same account are one case with it: those
        # that structured alone, or any depositors that each sent it their cash.
        payers: dict[str, set[str]] = {}
        for r in onward:
            if r["debtor"] in close or r["sent"]:
                payers.setdefault(r["creditor"], set()).add(r["debtor"])
        rings = nx.Graph()
        rings.add_nodes_from(close)
        for organiser, smurfs in payers.items():
            if len(smurfs) >= 2:
                rings.add_edges_from((organiser, s) for s in smurfs)
        hits = []
        for ring in sorted((sorted(c) for c in nx.connected_components(rings)), key=lambda c: c[0]):
            cash_in = [r for r in deposits if r["account"] in ring]
            on = [r for r in onward if r["debtor"] in ring and r["creditor"] in ring]
            hits.append(shape_hit(ring, cash_in + on, 0.5 + len(cash_in) / 10))
        return shape_hits(hits)
