"""CYCLE: money that goes round a ring of accounts back to where it started.

Regulatory basis: FATF typologies of round-tripping; AMLworld's cycle pattern.

Signal: a directed cycle of 2 to `max_hops` accounts in the graph of large payments
(at least `min_cny`, out of keeping with the payer's business: `common.unusual`)
within the scanned days, each hop after the previous one and passing on at least
`min_share` of it, the ring's accounts making no other such payments to, or receiving
them from, accounts of the graph.

The query layer narrows the graph to accounts that both pay and receive large sums;
networkx finds the cycles in that small graph.

Known false positives: two businesses that buy from each other; friends settling up.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import networkx as nx
import pyarrow as pa

from suptech.detect.base import HIT_SCHEMA, Detector, Params, register
from suptech.detect.payments.common import unusual


@dataclass(frozen=True)
class CycleParams(Params):
    min_cny: float = 10_000
    max_hops: int = 10
    min_share: float = 0.8


@register
class Cycle(Detector):
    id = "cycle"
    typology = "CYCLE"
    domain = "payments"
    Params = CycleParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_cny)
        both = big.select(account=big.debtor).intersect(big.select(account=big.creditor))
        edges = big.filter(big.debtor.isin(both.account) & big.creditor.isin(both.account))
        # In payment order: the graph, and so the cycles found, do not depend on the
        # order the engine returned the rows in.
        rows = sorted(edges.select("debtor", "creditor", "ts_event", "cny", "payment_id")
                      .to_pyarrow().to_pylist(), key=lambda r: r["payment_id"])
        graph = nx.MultiDiGraph()
        for r in rows:
            graph.add_edge(r["debtor"], r["creditor"], **r)
        hits = []
        simple = nx.DiGraph(graph)
        # A ring is only its own hops: an account of it that also pays or is paid by
        # others in the graph is money wandering around a group (RANDOM). So the rings
        # are among the accounts with one payee and one payer, a graph of paths and
        # loops, and finding them costs nothing even where a month of a supply web
        # holds millions of longer cycles.
        simple = simple.subgraph([a for a in simple
                                  if simple.in_degree(a) == 1 and simple.out_degree(a) == 1])
        for ring in nx.simple_cycles(simple, length_bound=p.max_hops):
            path = _in_time_order(graph, ring, p.min_share)
            if path:
                hits.append({
                    "account_ids": sorted(ring), "isin": None,
                    "window_start": path[0]["ts_event"], "window_end": path[-1]["ts_event"],
                    "score": min(1.0, 0.5 + 0.05 * len(ring)),
                    "evidence": [e["payment_id"] for e in path]})
        return ibis.memtable(pa.Table.from_pylist(hits, schema=HIT_SCHEMA.to_pyarrow()))


def _in_time_order(graph: nx.MultiDiGraph, ring: list[str], min_share: float) -> list[dict]:
    """One payment per hop, each after the last and passing most of it on; [] if none.
    The ring may start at any of its accounts: where its first payment is earliest
    (not where the search happened to start, which depends on the order of a set)."""
    n = len(ring)
    found = []
    for start in range(n):
        order = ring[start:] + ring[:start]
        path, t, amount = [], None, None
        for a, b in zip(order, order[1:] + order[:1]):
            options = sorted((e for e in graph.get_edge_data(a, b).values()
                              if (t is None or e["ts_event"] > t)
                              and (amount is None or e["cny"] >= min_share * amount)),
                             key=lambda e: e["ts_event"])
            if not options:
                break
            path.append(options[0])
            t, amount = options[0]["ts_event"], options[0]["cny"]
        if len(path) == n:
            found.append(path)
    return min(found, key=lambda path: (path[0]["ts_event"], path[0]["payment_id"]),
               default=[])
