"""STACK: layers of accounts, each layer paying every account of the next.

Regulatory basis: FATF typologies of layering; AMLworld's stack pattern.

Signal: at least `min_middle` accounts that each receive payments (at least `min_leg`,
out of keeping with the payer's business: `common.unusual`) from `min_side` or more
accounts and pay `min_side` or more accounts, the middles sharing at least `min_side`
of those payers and of those payees two by two, within the scanned days: a middle
layer between two others, money going through it one way (its payers, itself and its
payees three sets of accounts: a few paying one another back and forth are a walk,
RANDOM). Shared, not identical: a leg under the floor, or a person lending an account
who also pays someone else, leaves the layers standing.

Known false positives: a group's treasury entities passing funds between the same
subsidiaries (outside the intra-group purpose code).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import shape_hit, shape_hits, unusual


@dataclass(frozen=True)
class StackParams(Params):
    #: Each leg from this many CNY (as `gather_scatter`'s): a layer holds small legs too.
    min_leg: float = 1_000
    min_side: int = 2
    min_middle: int = 2


@register
class Stack(Detector):
    id = "stack"
    typology = "STACK"
    domain = "payments"
    Params = StackParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_leg)
        n_in = big.group_by(m=big.creditor).aggregate(k=big.debtor.nunique())
        n_out = big.group_by(m=big.debtor).aggregate(k=big.creditor.nunique())
        mids = n_in.filter(n_in.k >= p.min_side).select("m").intersect(
            n_out.filter(n_out.k >= p.min_side).select("m"))
        legs = big.filter(big.debtor.isin(mids.m) | big.creditor.isin(mids.m)).select(
            "debtor", "creditor", "ts_event", "payment_id")
        # In payment order: the layers found do not depend on the engine's row order.
        rows = sorted(legs.to_pyarrow().to_pylist(), key=lambda r: r["payment_id"])
        middles = {r["m"] for r in mids.to_pyarrow().to_pylist()}
        senders, receivers = defaultdict(set), defaultdict(set)
        for r in rows:
            if r["creditor"] in middles:
                senders[r["creditor"]].add(r["debtor"])
            if r["debtor"] in middles:
                receivers[r["debtor"]].add(r["creditor"])
        # Middles that share payers (candidates), then both sides two by two.
        by_sender = defaultdict(set)
        for m, ss in senders.items():
            for s in ss:
                by_sender[s].add(m)
        layers = nx.Graph()
        for group in by_sender.values():
            for a, b in combinations(sorted(group), 2):
                if (len(senders[a] & senders[b]) >= p.min_side
                        and len(receivers[a] & receivers[b]) >= p.min_side):
                    layers.add_edge(a, b)
        hits = []
        for layer in sorted((sorted(c) for c in nx.connected_components(layers)),
                            key=lambda c: c[0]):
            if len(layer) < p.min_middle:
                continue
            # The outer layers: the payers and payees a middle shares with another.
            pay = {s for a, b in layers.subgraph(layer).edges for s in senders[a] & senders[b]}
            paid = {r for a, b in layers.subgraph(layer).edges
                    for r in receivers[a] & receivers[b]}
            if pay & paid or (pay | paid) & set(layer):
                continue
            mine = [r for r in rows if (r["debtor"] in pay and r["creditor"] in layer)
                    or (r["debtor"] in layer and r["creditor"] in paid)]
            hits.append(shape_hit(pay | set(layer) | paid, mine, 0.5 + 0.1 * len(layer)))
        return shape_hits(hits)
