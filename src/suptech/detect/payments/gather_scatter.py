"""GATHER_SCATTER: funds collected from several accounts and spread out again by a hub.

Regulatory basis: FATF typologies of collection and distribution accounts; AMLworld's
gather-scatter pattern.

Signal: a hub receives at least `min_cny` from at least `min_parties` accounts and,
within `within_days` of the first receipt, pays at least `min_parties` other accounts,
paying out between `min_share` and 100 % of what it received, in payments out of
keeping with their payers' business (`common.unusual`).

Known false positives: a small business collecting from customers and paying its
suppliers; a family pooling money and handing it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, register
from suptech.detect.payments.common import group_hits, unusual


@dataclass(frozen=True)
class GatherParams(Params):
    min_cny: float = 10_000
    min_parties: int = 3
    min_share: float = 0.85
    within_days: float = 3


@register
class GatherScatter(Detector):
    id = "gather_scatter"
    typology = "GATHER_SCATTER"
    domain = "payments"
    Params = GatherParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_cny)
        inn = big.group_by(big.creditor.name("hub")).aggregate(
            senders=big.debtor.nunique(), received=big.cny.sum(), first_in=big.ts_event.min(),
            last_in=big.ts_event.max(), from_=big.debtor.collect(), in_ids=big.payment_id.collect())
        out = big.group_by(big.debtor.name("hub")).aggregate(
            receivers=big.creditor.nunique(), paid=big.cny.sum(), first_out=big.ts_event.min(),
            last_out=big.ts_event.max(), to=big.creditor.collect(), out_ids=big.payment_id.collect())
        g = inn.join(out, "hub")
        g = g.filter((g.senders >= p.min_parties) & (g.receivers >= p.min_parties)
                     & (g.paid >= p.min_share * g.received) & (g.paid <= g.received)
                     & (g.first_out >= g.first_in)
                     & (g.last_out <= g.first_in + int(p.within_days * 86400 * SECOND)))
        g = g.mutate(window_start=g.first_in, window_end=g.last_out,
                     evidence=g.in_ids.concat(g.out_ids))
        return group_hits(g, ibis.array([g.hub]).concat(g.from_).concat(g.to),
                          0.5 + 0.05 * (g.senders + g.receivers))
