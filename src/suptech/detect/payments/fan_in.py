"""FAN_IN: many accounts pay one account within a day.

Regulatory basis: PBoC suspicious-transaction indicators (funds collected from many
accounts in a short time); FATF typologies of collection accounts.

Signal: an account receives at least `min_cny` each from at least `min_parties`
distinct accounts within one day (purchases excluded), and does not pay the money out
again to several accounts the same days (that is gather-scatter).

Known false positives: a merchant selling something expensive to many customers; a
family collecting money for a purchase.
"""

from __future__ import annotations

import ibis

from suptech.detect.base import Detector, register
from suptech.detect.payments.common import group_hits, large
from suptech.detect.payments.fan_out import FanParams, fans


@register
class FanIn(Detector):
    id = "fan_in"
    typology = "FAN_IN"
    domain = "payments"
    Params = FanParams

    def hits(self, d):
        p = self.params
        big = large(d, p.min_cny)
        g = fans(big, "creditor", "debtor", p.min_parties)
        scattering = fans(big, "debtor", "creditor", 3).select(creditor="debtor")
        g = g.anti_join(scattering.distinct(), "creditor")
        return group_hits(g, ibis.array([g.creditor]).concat(g.others), 0.4 + 0.05 * g.n)
