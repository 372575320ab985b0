"""BIPARTITE: one set of accounts paying another, many to many.

Regulatory basis: FATF typologies of layering through networks of mule accounts;
AMLworld's bipartite pattern.

Signal: in the graph of large payments (at least `min_cny`, out of keeping with the
payer's business: `common.unusual`) from accounts that only pay to accounts that only
receive, a connected block of at least `min_side` payers and `min_side` payees with at
least `min_density` of all payer-payee pairs paid, within the scanned days.

The query layer narrows the graph; networkx finds the blocks.

Known false positives: several members of a family paying the same few landlords or
schools; a small group of customers paying a small group of suppliers outside the
purchase purpose code.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import networkx as nx
import pyarrow as pa

from suptech.detect.base import HIT_SCHEMA, Detector, Params, register
from suptech.detect.payments.common import unusual


@dataclass(frozen=True)
class BipartiteParams(Params):
    min_cny: float = 10_000
    min_side: int = 3
    min_density: float = 0.5


@register
class Bipartite(Detector):
    id = "bipartite"
    typology = "BIPARTITE"
    domain = "payments"
    Params = BipartiteParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_cny)
        payers = big.select(account=big.debtor).difference(big.select(account=big.creditor))
        payees = big.select(account=big.creditor).difference(big.select(account=big.debtor))
        edges = big.filter(big.debtor.isin(payers.account) & big.creditor.isin(payees.account))
        rows = edges.select("debtor", "creditor", "ts_event", "payment_id").to_pyarrow().to_pylist()
        graph = nx.Graph()
        for r in rows:
            graph.add_edge(("from", r["debtor"]), ("to", r["creditor"]))
        hits = []
        for block in nx.connected_components(graph):
            left = {a for side, a in block if side == "from"}
            right = {a for side, a in block if side == "to"}
            if len(left) < p.min_side or len(right) < p.min_side:
                continue
            pairs = graph.subgraph(block).number_of_edges()
            if pairs < p.min_density * len(left) * len(right):
                continue
            mine = [r for r in rows if r["debtor"] in left and r["creditor"] in right]
            hits.append({"account_ids": sorted(left | right), "isin": None,
                         "window_start": min(r["ts_event"] for r in mine),
                         "window_end": max(r["ts_event"] for r in mine),
                         "score": min(1.0, 0.4 + 0.05 * pairs),
                         "evidence": [r["payment_id"] for r in mine]})
        return ibis.memtable(pa.Table.from_pylist(hits, schema=HIT_SCHEMA.to_pyarrow()))
