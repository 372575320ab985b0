"""BIPARTITE: one set of accounts paying another, many to many.

Regulatory basis: FATF typologies of layering through networks of mule accounts;
AMLworld's bipartite pattern.

Signal: in the graph of large payments (at least `min_cny`, out of keeping with the
payer's business: `common.unusual`) from accounts that only pay to accounts that only
receive, a connected block of at least `min_side` payers and `min_side` payees with at
least `min_density` of all payer-payee pairs paid (a pair counts from `min_leg`: a
block's smaller legs are still its legs), within the scanned days; or within
`within_days` of them, its accounts doing nothing else in the graph `within_days`
either side (over a month, people whose accounts a block borrows pay and are paid by
others on other days).

The query layer narrows the graph; networkx finds the blocks.

Known false positives: several members of a family paying the same few landlords or
schools; a small group of customers paying a small group of suppliers outside the
purchase purpose code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import shape_hit, shape_hits, unusual, windows


@dataclass(frozen=True)
class BipartiteParams(Params):
    min_cny: float = 10_000
    #: A pair of the block counts as paid from this many CNY (as `stack`'s legs).
    min_leg: float = 1_000
    min_side: int = 3
    min_density: float = 0.5
    #: The days a block's payments are made in (as `cycle`'s rings).
    within_days: int = 3


@register
class Bipartite(Detector):
    id = "bipartite"
    typology = "BIPARTITE"
    domain = "payments"
    Params = BipartiteParams

    def hits(self, d):
        p = self.params
        big, legs = unusual(d, p.min_cny), unusual(d, p.min_leg)
        # The smaller legs between accounts that pay and are paid large sums: a block is
        # made at the large scale, and these only fill in its pairs.
        legs = legs.filter(legs.debtor.isin(big.debtor) & legs.creditor.isin(big.creditor))
        rows = sorted(legs.select("debtor", "creditor", "ts_event", "day", "cny", "payment_id")
                      .to_pyarrow().to_pylist(), key=lambda r: r["payment_id"])
        # A window's block (`common.windows`) is one where its payers are paid by no
        # one, its payees pay no one and none of them deals with another account around
        # it: not a layer of a stack that goes on the next day, nor a day's corner of a
        # wider web.
        hits, held = [], set()
        for window, around in windows(rows, p.within_days):
            for hit in _blocks(window, around, p):
                if not held & set(hit["evidence"]):
                    held |= set(hit["evidence"])
                    hits.append(hit)
        return shape_hits(hits)


def _blocks(rows: list[dict], around: list[dict], p: BipartiteParams) -> list[dict]:
    """The blocks among `rows` (a subset of `around`), from accounts that only pay large
    sums in `around` to accounts that are only paid them, each a whole component of
    `around`'s large payments; their pairs paid from `min_leg`."""
    around = [r for r in around if r["cny"] >= p.min_cny]
    payers = {r["debtor"] for r in around} - {r["creditor"] for r in around}
    payees = {r["creditor"] for r in around} - {r["debtor"] for r in around}
    rows = [r for r in rows if r["debtor"] in payers and r["creditor"] in payees]
    graph, paid = nx.Graph(), nx.Graph()
    for r in rows:
        paid.add_edge(("from", r["debtor"]), ("to", r["creditor"]))
        if r["cny"] >= p.min_cny:
            graph.add_edge(("from", r["debtor"]), ("to", r["creditor"]))
    wider = defaultdict(set)  # each account's counterparts in `around`
    for r in around:
        if r["debtor"] in payers and r["creditor"] in payees:
            wider[("from", r["debtor"])].add(("to", r["creditor"]))
            wider[("to", r["creditor"])].add(("from", r["debtor"]))
    hits = []
    for block in nx.connected_components(graph):
        left = {a for side, a in block if side == "from"}
        right = {a for side, a in block if side == "to"}
        if len(left) < p.min_side or len(right) < p.min_side:
            continue
        if any(wider[a] - block for a in block):
            continue
        pairs = paid.subgraph(block).number_of_edges()
        if pairs < p.min_density * len(left) * len(right):
            continue
        mine = [r for r in rows if r["debtor"] in left and r["creditor"] in right]
        hits.append(shape_hit(left | right, mine, 0.4 + 0.05 * pairs))
    return hits
