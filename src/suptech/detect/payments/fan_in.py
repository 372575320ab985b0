"""FAN_IN: many accounts pay one account within a few days.

Regulatory basis: PBoC suspicious-transaction indicators (funds collected from many
accounts in a short time); FATF typologies of collection accounts.

Signal: an account receives at least `min_cny` each from at least `min_parties`
distinct accounts within `within_days` (`fan_out.fans`; purchases excluded; counting
only senders that pay no one else that day), does not pay the money out again to
several accounts (gather-scatter), and is not the sink of money one source scattered
over intermediaries (scatter-gather); in payments out of keeping with their payers'
business (`common.unusual`), together more than ten times what the account is paid on
a usual day (`common.usual_day`).

Known false positives: a merchant selling something expensive to many customers; a
family collecting money for a purchase.
"""

from __future__ import annotations

import ibis

from suptech.detect.base import Detector, register
from suptech.detect.payments.common import group_hits, unusual, usual_day
from suptech.detect.payments.fan_out import FanParams, fans
from suptech.detect.payments.scatter_gather import ScatterParams, hops


@register
class FanIn(Detector):
    id = "fan_in"
    typology = "FAN_IN"
    domain = "payments"
    Params = FanParams

    def hits(self, d):
        p = self.params
        big = unusual(d, p.min_cny)
        g = fans(big, "creditor", "debtor", p.min_parties, p.within_days, exclusive=True,
                 usual=usual_day(d, "creditor"), above=p.above_usual)
        scattering = fans(big, "debtor", "creditor", 3, p.within_days).select(
            creditor="debtor")
        g = g.anti_join(scattering.distinct(), "creditor")
        # A sink collecting what one source scattered is scatter-gather.
        j = hops(d, ScatterParams())
        sinks = j.group_by(["a", "b"]).aggregate(n=j.m.nunique())
        sinks = sinks.filter(sinks.n >= 3).select(creditor=sinks.b).distinct()
        g = g.anti_join(sinks, "creditor")
        return group_hits(g, ibis.array([g.creditor]).concat(g.others), 0.4 + 0.05 * g.n)
