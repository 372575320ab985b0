"""GATHER_SCATTER: funds collected from several accounts and spread out again by a hub.

Regulatory basis: FATF typologies of collection and distribution accounts; AMLworld's
gather-scatter pattern.

Signal: within `within_days` of a payment it receives, a hub receives from at least
`min_parties` accounts (legs of at least `min_leg`, together at least `min_parties`
times `min_cny`), and within `within_days` after that it has paid at least
`min_parties` other accounts a sum of the same order (from `min_share` to
`1 / min_share` times what it received), in payments out of keeping with their payers'
business (`common.unusual`), counting senders that pay no other hub that day and
receivers paid by no other (`common.sole`). The hub is judged by those days, not by
everything it did in the range (a month of a hub's small flows hid its three days),
and its first such window is the case.

Known false positives: a small business collecting from customers and paying its
suppliers; a family pooling money and handing it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import DAY_NS, group_hits, sole, unusual


@dataclass(frozen=True)
class GatherParams(Params):
    min_cny: float = 10_000
    min_leg: float = 1_000
    min_parties: int = 3
    #: The hub pays out a sum of the same order as it took in: from `min_share` to
    #: `1 / min_share` times it (as `scatter_gather`'s intermediaries).
    min_share: float = 0.5
    within_days: float = 3


@register
class GatherScatter(Detector):
    id = "gather_scatter"
    typology = "GATHER_SCATTER"
    domain = "payments"
    Params = GatherParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_leg)
        span = int(p.within_days * DAY_NS)
        # Senders that pay no other hub that day, receivers paid by no other, in payments
        # of `min_cny` or more (`sole`): a middle of a stack gathers from and scatters to
        # accounts that deal with several.
        scale = unusual(d, p.min_cny)
        into = sole(big, "creditor", "debtor", among=scale)
        out_of = sole(big, "debtor", "creditor", among=scale)
        inflow = into.select(hub=into.creditor, t=into.ts_event, who=into.debtor,
                             cny=into.cny, pid=into.payment_id)
        outflow = out_of.select(hub=out_of.debtor, t=out_of.ts_event, who=out_of.creditor,
                                cny=out_of.cny, pid=out_of.payment_id)
        # Each inflow opens a window: what the hub took in within `within_days` and paid
        # out within `within_days` after that (a hub is judged by what it did those days,
        # not over the whole range).
        opens = inflow.select(hub="hub", t0="t")

        def window(flow, days):
            f = flow.view()
            return opens.join(f, [opens.hub == f.hub, f.t >= opens.t0,
                                  f.t < opens.t0 + days * span])

        win_in = window(inflow, 1)
        inn = win_in.group_by(["hub", "t0"]).aggregate(
            senders=win_in.who.nunique(), received=win_in.cny.sum(),
            from_=win_in.who.collect(), in_ids=win_in.pid.collect())
        win_out = window(outflow, 2)
        out = win_out.group_by(["hub", "t0"]).aggregate(
            receivers=win_out.who.nunique(), paid=win_out.cny.sum(),
            last_out=win_out.t.max(), to=win_out.who.collect(), out_ids=win_out.pid.collect())
        g = inn.join(out, ["hub", "t0"])
        g = g.filter((g.senders >= p.min_parties) & (g.receivers >= p.min_parties)
                     & (g.received >= p.min_parties * p.min_cny)
                     & (g.paid >= p.min_share * g.received)
                     & (g.paid <= g.received / p.min_share))
        # One case a hub: its first window that qualifies.
        first = g.group_by("hub").aggregate(t0=g.t0.min())
        g = g.semi_join(first, ["hub", "t0"])
        g = g.mutate(window_start=g.t0, window_end=g.last_out,
                     evidence=g.in_ids.concat(g.out_ids))
        return group_hits(g, ibis.array([g.hub]).concat(g.from_).concat(g.to),
                          0.5 + 0.05 * (g.senders + g.receivers))
