"""RANDOM: funds wandering among a closed group of accounts, back and forth.

Regulatory basis: FATF typologies of layering among controlled accounts; AMLworld's
random pattern.

Signal: in the graph of payments out of keeping with the payer's business (between
accounts with no dealings before: `common.unusual`) between accounts that both pay and
receive such sums, each payment a hop of money passed on (the payee pays on within
`within_days`, or the payer was paid within `within_days` before), a group of at least
`min_accounts` accounts that is not a simple ring the money goes round once (the CYCLE
typology; a ring it goes round again, each account paying on what came back, is money
walked round and round, and one it went round on its way, paid in from outside before
and paid on outside after, a walk through a loop), within the scanned days. The group
is either
- connected, where the payments are large (from `min_cny`): money walked from hand to
  hand (AMLworld's random patterns are such walks, k accounts and k - 1 payments), or
- closed, where they are from `min_leg` and each hop passes on a sum of the same order
  (from `min_share` to `1 / min_share` times what came in): every account of it is
  paid by and pays the group's (a strongly connected group, of at most
  `max_accounts`: a person's or a gang's accounts, not a town's), so the money comes
  back round (a sum below the large scale wandering among the same few hands).
Accounts that only pay or only receive (the sources and sinks of fans, scatter-gather
and stacks) are not in this graph.

The query layer narrows the graph; networkx finds the groups.

Known false positives: a family or a small firm's partners moving money among their
own accounts; friends who often settle up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import (DAY_NS, passing, same_order, shape_hit,
                                             shape_hits, unusual)


@dataclass(frozen=True)
class RandomParams(Params):
    min_cny: float = 10_000
    #: A closed group's hops from this many CNY (as `stack`'s and `scatter_gather`'s).
    min_leg: float = 1_000
    #: A closed group is a few hands (AMLworld's largest random pattern has 12).
    max_accounts: int = 12
    min_accounts: int = 3
    #: Each hop a sum of the same order as the one before (as `cycle`'s).
    min_share: float = 0.5
    #: Money wanders: an account pays on within this many days of being paid.
    within_days: float = 3


@register
class RandomWalk(Detector):
    id = "random_walk"
    typology = "RANDOM"
    domain = "payments"
    Params = RandomParams
    #: A pass-through made of some of a wandering group's hops is that group.
    supersedes = ("RAPID_MOVEMENT",)
    #: A ring, or a hub's days, all of whose payments are hops of a wandering group.
    encloses = ("CYCLE", "GATHER_SCATTER")

    def hits(self, d):
        p = self.params
        hits = self._groups(d, p.min_cny, nx.weakly_connected_components, None, 0.0)
        walked = {a for h in hits for a in h["account_ids"]}
        hits += [h for h in self._groups(d, p.min_leg, nx.strongly_connected_components,
                                         p.max_accounts, p.min_share)
                 if not walked & set(h["account_ids"])]
        return shape_hits(hits)

    def _groups(self, d, floor: float, components, max_accounts: int | None,
                share: float) -> list[dict]:
        """The hits among the hops from `floor` (each passing on from `share` to
        `1 / share` times what came in): groups (`components` of the hops' graph) of
        `min_accounts` to `max_accounts` that are not a simple ring."""
        p = self.params
        edges = passing(d, floor)
        # Only payments that are a hop of money passed on: over a month, accounts paid
        # once and paying someone else weeks later join by chance.
        span = int(p.within_days * DAY_NS)
        a, b = edges.view(), edges.view()
        hop = a.join(b, [a.creditor == b.debtor, b.ts_event > a.ts_event,
                         b.ts_event <= a.ts_event + span,
                         b.cny >= share * a.cny, share * b.cny <= a.cny])
        passed = hop.select(pid=hop.payment_id).union(hop.select(pid=hop.payment_id_right))
        edges = edges.semi_join(passed, edges.payment_id == passed.pid)
        rows = edges.select(*COLUMNS).to_pyarrow().to_pylist()
        graph = nx.DiGraph()
        for r in rows:
            graph.add_edge(r["debtor"], r["creditor"])
        hits, rings = [], []
        for group in components(graph):
            if (len(group) < p.min_accounts
                    or max_accounts is not None and len(group) > max_accounts):
                continue
            sub = graph.subgraph(group)
            mine = [r for r in rows if r["debtor"] in group and r["creditor"] in group]
            if (all(sub.in_degree(a) == 1 and sub.out_degree(a) == 1 for a in group)
                    and not _round_again(mine)):
                rings.append((group, mine))  # a cycle, unless a walk passes through it
                continue
            hits.append(shape_hit(group, mine, 0.4 + 0.05 * sub.number_of_edges()))
        return hits + self._walked_through(d, floor, rings)

    def _walked_through(self, d, floor: float, rings: list) -> list[dict]:
        """The rings the money went round once on a walk: paid into where the ring
        starts, from outside it, before the ring's first hop, and paid on from there to
        outside it once it came back, each a sum of the same order as the hop beside it,
        within `within_days`. The money did not start or end where it went round to."""
        if not rings:
            return []
        p = self.params
        span = int(p.within_days * DAY_NS)
        firsts = [min(mine, key=_moment) for _, mine in rings]
        starts = [first["debtor"] for first in firsts]
        big = unusual(d, floor)
        near = big.filter(big.debtor.isin(starts) | big.creditor.isin(starts)) \
            .select(*COLUMNS).to_pyarrow().to_pylist()
        hits = []
        for (group, mine), first in zip(rings, firsts):
            start = first["debtor"]
            back = max((r for r in mine if r["creditor"] == start), key=_moment)
            came = [r for r in near if r["creditor"] == start and r["debtor"] not in group
                    and 0 < first["ts_event"] - r["ts_event"] <= span
                    and same_order(first["cny"], r["cny"], p.min_share)]
            went = [r for r in near if r["debtor"] == start and r["creditor"] not in group
                    and 0 < r["ts_event"] - back["ts_event"] <= span
                    and same_order(r["cny"], back["cny"], p.min_share)]
            if came and went:
                came, went = max(came, key=_moment), min(went, key=_moment)
                hits.append(shape_hit(set(group) | {came["debtor"], went["creditor"]},
                                      [came, *mine, went], 0.4 + 0.05 * (len(mine) + 2)))
        return hits


#: What the rule reads of a payment.
COLUMNS = ("debtor", "creditor", "ts_event", "cny", "payment_id")


def _moment(r: dict) -> tuple:
    return r["ts_event"], r["payment_id"]


def _round_again(payments: list[dict]) -> bool:
    """Whether money that came back to an account went on round again: the account
    paid the same payee before and after it was paid (a hop split in two payments
    between the same two receipts is still one pass)."""
    paid = defaultdict(list)
    for r in payments:
        paid[r["debtor"], r["creditor"]].append(r["ts_event"])
    return any(min(times) < r["ts_event"] < max(times)
               for (payer, _), times in paid.items() for r in payments
               if r["creditor"] == payer)
