"""CYCLE: money that goes round a ring of accounts back to where it started.

Regulatory basis: FATF typologies of round-tripping; AMLworld's cycle pattern.

Signal: a directed cycle of 2 to `max_hops` accounts in the graph of large payments
(at least `min_cny`, out of keeping with the payer's business: `common.unusual`), or of
3 or more in the graph of payments from `min_leg` (a network whose money is smaller:
a ring of a few thousand, or one that keeps a little at each hop and falls under the
large scale on the way round), within the scanned days, each hop a sum of the same
order as the last (from `min_share` to `1 / min_share` times it; the hops in any
order), the ring's accounts making no other such payments to, or receiving them from,
accounts of the graph: over the scanned days, or over `within_days` of them and as
many days either side (`common.windows`: an account a ring borrows, one with a
business of its own, makes other large payments to new parties in a month).

The query layer narrows the graph to accounts that both pay and receive such sums
(`common.passing`); networkx finds the cycles in that small graph. A ring the money
goes round again, or round once on a walk's way, is a walk (`random_walk`, whose alert
takes in this one's).

Known false positives: two businesses that buy from each other; friends settling up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import (passing, same_order, shape_hit, shape_hits,
                                             windows)


@dataclass(frozen=True)
class CycleParams(Params):
    min_cny: float = 10_000
    #: Rings of three or more from this many CNY (as `random_walk`'s closed groups): two
    #: accounts paying each other back a few thousand are friends settling up.
    min_leg: float = 1_000
    max_hops: int = 10
    #: Each hop passes on a sum of the same order as the last: from `min_share` to
    #: `1 / min_share` times it (as `scatter_gather`'s intermediaries).
    min_share: float = 0.5
    #: The days a ring's money goes round in (AMLworld's take up to a week: those are
    #: found over the whole range, when their accounts do nothing else unusual in it).
    within_days: int = 3


@register
class Cycle(Detector):
    id = "cycle"
    typology = "CYCLE"
    domain = "payments"
    Params = CycleParams
    encloses = ("RANDOM",)

    def hits(self, d):
        p = self.params
        # A ring is only its own hops: an account of it that also pays or is paid by
        # others in the graph is money wandering around a group (RANDOM). In a window
        # (`common.windows`), or below the large scale, two accounts paying each other
        # back are friends settling up more often than a ring: such a ring has three or
        # more. The large scale first: a ring there whose accounts also deal in smaller
        # sums is still found.
        hits, seen = [], set()
        for floor in (p.min_cny, p.min_leg):
            for k, (window, around) in enumerate(windows(_edges(d, floor), p.within_days)):
                least = 3 if k or floor < p.min_cny else 2  # accounts a ring needs
                for ring, path in _rings(window, p):
                    if (frozenset(ring) in seen or len(ring) < least
                            or k and _busy(ring, around)):
                        continue
                    seen.add(frozenset(ring))
                    hits.append(shape_hit(ring, path, 0.5 + 0.05 * len(ring)))
        return shape_hits(hits)


def _edges(d, floor: float) -> list[dict]:
    """The payments from `floor` passed on from hand to hand (`common.passing`), in
    payment order (so the graph, and the cycles found, do not depend on the order the
    engine returned the rows in)."""
    edges = passing(d, floor)
    return sorted(edges.select("debtor", "creditor", "ts_event", "day", "cny", "payment_id")
                  .to_pyarrow().to_pylist(), key=lambda r: r["payment_id"])


def _busy(ring: list[str], around: list[dict]) -> bool:
    """Whether an account of `ring` makes or receives a payment of `around` that is not
    a hop of the ring: the ring is part of a group's money wandering (RANDOM)."""
    hops = set(zip(ring, ring[1:] + ring[:1]))
    members = set(ring)
    return any((r["debtor"] in members or r["creditor"] in members)
               and (r["debtor"], r["creditor"]) not in hops for r in around)


def _rings(rows: list[dict], p: CycleParams):
    """(ring, path) for each ring among `rows` whose accounts pay one account and are
    paid by one (a graph of paths and loops, where finding the rings costs nothing even
    where a month of a supply web holds millions of longer cycles)."""
    payees, payers = defaultdict(set), defaultdict(set)
    for r in rows:
        payees[r["debtor"]].add(r["creditor"])
        payers[r["creditor"]].add(r["debtor"])
    single = {a for a, b in payees.items() if len(b) == 1 and len(payers[a]) == 1}
    graph = nx.MultiDiGraph()
    for r in rows:
        if r["debtor"] in single and r["creditor"] in single:
            graph.add_edge(r["debtor"], r["creditor"], **r)
    for ring in nx.simple_cycles(nx.DiGraph(graph), length_bound=p.max_hops):
        path = _ring_path(graph, ring, p.min_share)
        if path:
            yield ring, path


def _ring_path(graph: nx.MultiDiGraph, ring: list[str], min_share: float) -> list[dict]:
    """One payment per hop, each a sum of the same order as the last; [] if none. The
    hops need not come in order: an account may pay on before it is paid, from money it
    holds (AMLworld's rings are timed so). The ring starts where its path's first
    payment is earliest (not where the search happened to start, which depends on the
    order of a set); each hop takes its earliest payment that fits."""
    n = len(ring)
    found = []
    for start in range(n):
        order = ring[start:] + ring[:start]
        path, amount = [], None
        for a, b in zip(order, order[1:] + order[:1]):
            options = sorted((e for e in graph.get_edge_data(a, b).values()
                              if amount is None or same_order(e["cny"], amount, min_share)),
                             key=lambda e: (e["ts_event"], e["payment_id"]))
            if not options:
                break
            path.append(options[0])
            amount = options[0]["cny"]
        if len(path) == n:
            found.append(path)
    return min(found, key=lambda path: (path[0]["ts_event"], path[0]["payment_id"]),
               default=[])
