"""MIS_SELLING_RATE: an institution whose share of unsuitable sales (the rule's,
`suitability.unsuitable`) is far above its peers': a two-proportion z-test of its rate
against the pooled rate of every other institution's rated sales, raised at `z` or more
with at least `min_count` unsuitable sales. A market has a handful of institutions: the
pooled rate of the others is a steadier normal than a spread of a few rates. Complaints
per sale are tested the same way (`complaint_rate`)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, hits_table, register
from suptech.investor.suitability import unsuitable
from suptech.risk.indicator import why


@dataclass(frozen=True)
class PeerParams(Params):
    z: float = 3.0
    min_count: int = 5


def z_score(k: ir.NumericValue, n: ir.NumericValue, others_k: ir.NumericValue,
            others_n: ir.NumericValue) -> ir.FloatingValue:
    """How many standard errors an institution's rate k/n is above the others' pooled
    rate (half a case where the others have none, so that a first one is measurable)."""
    p0 = ibis.greatest(others_k, 0.5) / others_n
    return (k / n - p0) / (p0 * (1 - p0) / n).sqrt()


def peer_hits(g: ir.Table, p: PeerParams, measure: str, counted: str) -> ir.Table:
    """The institutions of `g` (member_lei, n, k, first, last, accounts, evidence: its
    k of n) whose rate is `p.z` or more above the others' pooled rate, with at least
    `p.min_count`; `counted` names k in the explanation."""
    every = ibis.window()
    g = g.mutate(others_n=g.n.sum().over(every) - g.n, others_k=g.k.sum().over(every) - g.k)
    g = g.filter(g.others_n > 0)
    g = g.mutate(z=z_score(g.k, g.n, g.others_k, g.others_n))
    g = g.filter((g.z.round(9) >= p.z) & (g.k >= p.min_count))
    return hits_table(g.mutate(
        account_ids=g.accounts, isin=ibis.null("string"), window_start=g["first"],
        window_end=g["last"], score=(0.5 + ibis.least(g.z, 10.0) / 20).cast("float64"),
        evidence=g.evidence,
        explanation=why(subject=g.member_lei, measure=measure, **{counted: g.k}, sales=g.n,
                        rate=g.k / g.n, peers_rate=g.others_k / g.others_n, z=g.z,
                        line=p.z)), case=("member_lei",))


@register
class MisSellingRate(Detector):
    id = "mis_selling_rate"
    typology = "MIS_SELLING_RATE"
    domain = "investor"
    calibrated = False
    Params = PeerParams

    def hits(self, d) -> ir.Table:
        p = self.params
        s = d.sales.filter(d.sales.level.notnull())
        s = s.mutate(bad=unsuitable(s.level, s.category, s.lowest, s.initiated,
                                    s.warning_ref, s.confirmation_ref).notnull())
        g = s.group_by("member_lei").aggregate(
            n=s.count(), k=s.bad.sum(), first=s.ts_event.min(), last=s.ts_event.max(),
            accounts=s.accounts.collect(where=s.bad).flatten(),
            evidence=s.report_id.collect(where=s.bad))
        return peer_hits(g, p, "unsuitable sales, against the pooled rate of the other "
                         "institutions", "unsuitable")
