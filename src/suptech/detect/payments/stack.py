"""STACK: layers of accounts, each layer paying every account of the next.

Regulatory basis: FATF typologies of layering; AMLworld's stack pattern.

Signal: at least `min_middle` accounts that each receive large payments (at least
`min_cny`, ordinary business flows excluded) from the same `min_side` or more accounts
and pay the same `min_side` or more accounts, within the scanned days: a middle layer
between two others.

Known false positives: a group's treasury entities passing funds between the same
subsidiaries (outside the intra-group purpose code).
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import group_hits, unusual


@dataclass(frozen=True)
class StackParams(Params):
    min_cny: float = 10_000
    min_side: int = 2
    min_middle: int = 2


@register
class Stack(Detector):
    id = "stack"
    typology = "STACK"
    domain = "payments"
    Params = StackParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_cny)
        inn = big.group_by(big.creditor.name("m")).aggregate(
            senders=big.debtor.collect().unique().sort(), t_in=big.ts_event.min(),
            in_ids=big.payment_id.collect())
        out = big.group_by(big.debtor.name("m")).aggregate(
            receivers=big.creditor.collect().unique().sort(), t_out=big.ts_event.max(),
            out_ids=big.payment_id.collect())
        mid = inn.join(out, "m")
        mid = mid.filter((mid.senders.length() >= p.min_side)
                         & (mid.receivers.length() >= p.min_side))
        mid = mid.mutate(layer=mid.senders.join(",").concat("|")
                         .concat(mid.receivers.join(",")))
        g = mid.group_by("layer").aggregate(
            n=mid.m.nunique(), middles=mid.m.collect(),
            senders=mid.senders.first(), receivers=mid.receivers.first(),
            window_start=mid.t_in.min(), window_end=mid.t_out.max(),
            evidence=mid.in_ids.collect().flatten().concat(mid.out_ids.collect().flatten()))
        g = g.filter(g.n >= p.min_middle)
        return group_hits(g, g.middles.concat(g.senders).concat(g.receivers), 0.5 + 0.1 * g.n)
