"""RAPID_MOVEMENT: large sums that arrive and leave again within hours (pass-through).

Regulatory basis: PBoC suspicious-transaction indicators (funds transferred in and out
quickly with little balance left); FATF typologies on money mules and pass-through
accounts.

Signal: an account receives a sum (from `min_leg`, and more than ten times what its
regular counterparts pay it on a usual day, `common.usual_day`) and pays out between
`min_share` and 100 % of it within `within_hours`, at least `min_times` times in the
scanned days along the same route (from the same sender to the same receiver), and so
forwards at least `min_forwarded` of what that sender paid it in those days and
`min_cny` in all: a conduit for a large sum, whether in one pass or in several
smaller ones. (A company in a group's cash pool, topped up by its parent each morning
and topping up its own subsidiary, forwards a similar sum now and then by chance, not
most days.)

Known false positives: treasury accounts that forward receipts the same day to the same
place; a person regularly passing money between two relatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, register
from suptech.detect.payments.common import beyond_usual, group_hits, large, usual_day


@dataclass(frozen=True)
class RapidParams(Params):
    #: What the route forwards in all (the PBoC's large-value threshold).
    min_cny: float = 50_000
    #: Each pass-through from this many CNY.
    min_leg: float = 1_000
    min_share: float = 0.9
    within_hours: float = 3
    min_times: int = 2
    min_forwarded: float = 0.5


@register
class RapidMovement(Detector):
    id = "rapid_movement"
    typology = "RAPID_MOVEMENT"
    domain = "payments"
    Params = RapidParams

    def hits(self, d):
        p = self.params
        big = large(d, p.min_leg * p.min_share)
        inflow = big.select(account=big.creditor, in_ts=big.ts_event, in_cny=big.cny,
                            in_id=big.payment_id, sender=big.debtor)
        # What arrives out of keeping with the account's business (`common.usual_day`):
        # a company in a group's cash pool is topped up every morning.
        inflow = beyond_usual(inflow.filter(inflow.in_cny >= p.min_leg), "account", "in_cny",
                              usual_day(d, "creditor"))
        out = big.select(account=big.debtor, out_ts=big.ts_event, out_cny=big.cny,
                         out_id=big.payment_id, receiver=big.creditor)
        j = inflow.join(out, [inflow.account == out.account, out.out_ts > inflow.in_ts,
                              out.out_ts <= inflow.in_ts + int(p.within_hours * 3600 * SECOND),
                              out.out_cny >= p.min_share * inflow.in_cny,
                              out.out_cny <= inflow.in_cny])
        # A conduit: the same route (sender -> account -> receiver) used again and again.
        g = j.group_by(["account", "sender", "receiver"]).aggregate(
            n=j.in_id.nunique(), window_start=j.in_ts.min(), window_end=j.out_ts.max(),
            evidence=j.in_id.collect().concat(j.out_id.collect()))
        # What the route passed on in all (each payment out once, however many
        # payments in it followed).
        outs = j.select("account", "sender", "receiver", "out_id", "out_cny").distinct()
        forwarded = outs.group_by(["account", "sender", "receiver"]).aggregate(
            forwarded=outs.out_cny.sum())
        sent = inflow.group_by(["account", "sender"]).aggregate(k=inflow.in_id.nunique())
        g = g.join(sent, ["account", "sender"]).join(forwarded, ["account", "sender", "receiver"])
        g = g.filter((g.n >= p.min_times) & (g.n >= p.min_forwarded * g.k)
                     & (g.forwarded >= p.min_cny))
        return group_hits(g, ibis.array([g.account, g.sender, g.receiver]), 0.5 + 0.1 * g.n)
