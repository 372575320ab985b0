"""RANDOM: funds wandering among a closed group of accounts, back and forth.

Regulatory basis: FATF typologies of layering among controlled accounts; AMLworld's
random pattern.

Signal: money passed on and on. A relay is a payment that passes on between `min_share`
and all of one the payer received within `within_days` (scatter-gather's hops, between
accounts with no dealings before, `common.unusual`, of at least `min_cny`); a walk is a set of
payments joined by relays in which some payment is both passed on and passes on (two
relays in a row), among at least `min_accounts` accounts that are not a simple ring
(the CYCLE typology), within the scanned days. A trader paid by one foreign buyer and
paying a supplier some other sum is not a relay; a pool topping up a company that
forwards a like sum once is one relay, not a walk; scatter-gather and stacks hand
money on once.

The query layer narrows the graph; networkx finds the groups.

Known false positives: a family or a small firm's partners moving money among their
own accounts; friends who often settle up.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import networkx as nx
import pyarrow as pa

from suptech.detect.base import HIT_SCHEMA, Detector, Params, register
from suptech.detect.payments.common import unusual
from suptech.detect.payments.scatter_gather import ScatterParams, hops


@dataclass(frozen=True)
class RandomParams(Params):
    min_cny: float = 10_000
    min_accounts: int = 3
    min_share: float = 0.9
    within_days: float = 3


@register
class RandomWalk(Detector):
    id = "random_walk"
    typology = "RANDOM"
    domain = "payments"
    Params = RandomParams

    def hits(self, d):
        p = self.params
        j = hops(d, ScatterParams(min_cny=p.min_cny, min_share=p.min_share,
                                  within_days=p.within_days))
        relays = j.select("id1", "id2", "a", "m", "b", "t1", "t2").to_pyarrow().to_pylist()
        chain = nx.Graph()  # payments, joined where one passes the other on
        legs = {}
        for r in relays:
            chain.add_edge(r["id1"], r["id2"])
            legs[r["id1"]] = (r["a"], r["m"], r["t1"])
            legs[r["id2"]] = (r["m"], r["b"], r["t2"])
        passed_on = {r["id2"] for r in relays} & {r["id1"] for r in relays}
        # Each account's payees and payers among the payments relays are made of.
        big = unusual(d, p.min_cny)
        payees = {r["debtor"]: r["k"] for r in big.group_by("debtor").aggregate(
            k=big.creditor.nunique()).to_pyarrow().to_pylist()}
        payers = {r["creditor"]: r["k"] for r in big.group_by("creditor").aggregate(
            k=big.debtor.nunique()).to_pyarrow().to_pylist()}
        hits = []
        # In payment order: the walks found do not depend on the engine's row order.
        for paid in sorted((sorted(c) for c in nx.connected_components(chain)),
                           key=lambda c: c[0]):
            if not passed_on.intersection(paid):
                continue
            walk = nx.DiGraph([legs[i][:2] for i in paid])
            # A ring whose accounts deal with no one else is CYCLE's.
            ring = all(payees.get(a) == 1 and payers.get(a) == 1 for a in walk)
            if walk.number_of_nodes() < p.min_accounts or ring:
                continue
            times = [legs[i][2] for i in paid]
            hits.append({"account_ids": sorted(walk), "isin": None,
                         "window_start": min(times), "window_end": max(times),
                         "score": min(1.0, 0.4 + 0.05 * walk.number_of_edges()),
                         "evidence": paid})
        return ibis.memtable(pa.Table.from_pylist(hits, schema=HIT_SCHEMA.to_pyarrow()))
