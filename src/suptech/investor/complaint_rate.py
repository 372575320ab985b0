"""COMPLAINT_RATE: an institution drawing far more complaints per sale than its peers:
the same two-proportion test as MIS_SELLING_RATE (`peers.z_score`), of its complaints
received in the run against its sales, beside the pooled rate of every other
institution; raised at `z` or more with at least `min_count` complaints. The complaints
are its evidence and their complainants' accounts there the accounts it names."""

from __future__ import annotations

import ibis.expr.types as ir

from suptech.detect.base import Detector, register
from suptech.investor.peers import PeerParams, peer_hits


@register
class ComplaintRate(Detector):
    id = "complaint_rate"
    typology = "COMPLAINT_RATE"
    domain = "investor"
    calibrated = False
    Params = PeerParams

    def hits(self, d) -> ir.Table:
        sales = d.sales.group_by("member_lei").aggregate(n=d.sales.count())
        c = d.store.view("complaint", start_ns=d.start_ns, end_ns=d.end_ns)
        a = d.store.view("account").select("account_id", owner="owner_party_id",
                                           at="member_lei")
        c = c.left_join(a, (c.party_id == a.owner) & (c.member_lei == a.at))
        g = c.group_by("member_lei").aggregate(
            k=c.complaint_id.nunique(), first=c.ts_event.min(), last=c.ts_event.max(),
            accounts=c.account_id.collect().unique(), evidence=c.report_id.collect().unique())
        return peer_hits(sales.join(g, "member_lei"), self.params, "complaints per sale, "
                         "against the pooled rate of the other institutions", "complaints")
