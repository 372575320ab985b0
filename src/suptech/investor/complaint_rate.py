"""COMPLAINT_RATE: an institution drawing far more complaints per sale than its peers:
the same two-proportion test as MIS_SELLING_RATE (`peers.z_score`), of its complaints
received in the run against its sales, beside the pooled rate of every other
institution; raised at `z` or more with at least `min_count` complaints. The complaints
are its evidence and their complainants' accounts there the accounts it names."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, hits_table, register
from suptech.investor.peers import PeerParams, z_score
from suptech.risk.indicator import why


@register
class ComplaintRate(Detector):
    id = "complaint_rate"
    typology = "COMPLAINT_RATE"
    domain = "investor"
    calibrated = False
    Params = PeerParams

    def hits(self, d) -> ir.Table:
        p = self.params
        sales = d.sales.group_by("member_lei").aggregate(n=d.sales.count())
        c = d.store.view("complaint", start_ns=d.start_ns, end_ns=d.end_ns)
        a = d.store.view("account").select("account_id", owner="owner_party_id",
                                           at="member_lei")
        c = c.left_join(a, (c.party_id == a.owner) & (c.member_lei == a.at))
        g = c.group_by("member_lei").aggregate(
            k=c.complaint_id.nunique(), first=c.ts_event.min(), last=c.ts_event.max(),
            accounts=c.account_id.collect().unique(), evidence=c.report_id.collect().unique())
        g = sales.join(g, "member_lei")
        every = ibis.window()
        g = g.mutate(others_n=g.n.sum().over(every) - g.n, others_k=g.k.sum().over(every) - g.k)
        g = g.filter(g.others_n > 0)
        g = g.mutate(z=z_score(g.k, g.n, g.others_k, g.others_n))
        g = g.filter((g.z.round(9) >= p.z) & (g.k >= p.min_count))
        return hits_table(g.mutate(
            account_ids=g.accounts, isin=ibis.null("string"), window_start=g["first"],
            window_end=g["last"], score=(0.5 + ibis.least(g.z, 10.0) / 20).cast("float64"),
            evidence=g.evidence,
            explanation=why(subject=g.member_lei, measure="complaints per sale, against the "
                            "pooled rate of the other institutions", complaints=g.k,
                            sales=g.n, rate=g.k / g.n, peers_rate=g.others_k / g.others_n,
                            z=g.z, line=p.z)), case=("member_lei",))
