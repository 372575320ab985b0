"""SCATTER_GATHER: funds split across intermediaries and collected again by one account.

Regulatory basis: FATF typologies of layering through intermediary accounts; AMLworld's
scatter-gather pattern (IBM, "Realistic Synthetic Financial Transactions for Anti-Money
Laundering Models", 2023).

Signal: a source pays at least `min_parties` intermediaries (legs of at least `min_leg`,
together at least `min_parties` times `min_cny`), and each of them pays a sum of the
same order (from `min_share` to `1 / min_share` times it) on to one sink within
`within_days`, in payments out of keeping with their payers' business
(`common.unusual`); the intermediaries deal with no one else in such payments of
`min_cny` or more.

Known false positives: an escrow or payment platform routing a client's money through
sub-accounts to one beneficiary.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import DAY_NS, group_hits, unusual


@dataclass(frozen=True)
class ScatterParams(Params):
    min_cny: float = 10_000
    #: Each leg from this many CNY (as `gather_scatter`'s), together `min_parties` times
    #: `min_cny`: one intermediary's smaller share does not break the shape.
    min_leg: float = 1_000
    min_parties: int = 3
    #: An intermediary passes on a sum of the same order as it got: from `min_share` to
    #: `1 / min_share` times it (it may keep a fee, or add to it from what it holds).
    min_share: float = 0.5
    within_days: float = 3


def hops(d, p: ScatterParams):
    """Two-step paths a -> m -> b where m passes on most of what it got, soon.

    Computed once per scan: scatter-gather finds its cases in them and fan-in leaves
    their sinks out.
    """
    return d.shared(("hops", p.min_leg, p.min_share, p.within_days), lambda: _hops(d, p))


def _hops(d, p: ScatterParams):
    big = unusual(d, p.min_leg)
    first = big.select(a=big.debtor, m=big.creditor, t1=big.ts_event, c1=big.cny,
                       id1=big.payment_id)
    second = big.select(m2=big.debtor, b=big.creditor, t2=big.ts_event, c2=big.cny,
                        id2=big.payment_id)
    j = first.join(second, [first.m == second.m2, second.t2 > first.t1,
                            second.t2 <= first.t1 + int(p.within_days * DAY_NS),
                            second.c2 >= p.min_share * first.c1,
                            second.c2 <= first.c1 / p.min_share, second.b != first.a])
    return j


@register
class ScatterGather(Detector):
    id = "scatter_gather"
    typology = "SCATTER_GATHER"
    domain = "payments"
    Params = ScatterParams

    def hits(self, d):
        p = self.params
        j = hops(d, p)
        # Intermediaries set up for the one source and sink: paid by no one else and
        # paying no one else at the shape's scale (a middle of a stack deals with several
        # on either side).
        big = unusual(d, p.min_cny)
        ins = big.group_by(m=big.creditor).aggregate(k=big.debtor.nunique())
        outs = big.group_by(m=big.debtor).aggregate(k=big.creditor.nunique())
        j = j.anti_join(ins.filter(ins.k > 1), "m").anti_join(outs.filter(outs.k > 1), "m")
        g = j.group_by(["a", "b"]).aggregate(
            n=j.m.nunique(), mids=j.m.collect(), window_start=j.t1.min(),
            window_end=j.t2.max(), evidence=j.id1.collect().concat(j.id2.collect()),
            total=j.c1.sum())
        g = g.filter((g.n >= p.min_parties) & (g.total >= p.min_parties * p.min_cny))
        return group_hits(g, ibis.array([g.a, g.b]).concat(g.mids), 0.5 + 0.05 * g.n)
