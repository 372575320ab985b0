"""DORMANT_ACTIVATION: an account silent for years that suddenly moves large sums.

Regulatory basis: PBoC suspicious-transaction indicators (long-dormant accounts with
sudden large flows); FATF guidance on the misuse of dormant accounts.

Signal: an account opened at least `min_years` before its first payment in the
database, where that first payment (in or out) is at least `min_cny` and is not a
business flow (trade on CIPS, supplier, salary, intra-group or purchase payments).

Known false positives: an inheritance or a house sale landing in an old savings
account; accounts whose earlier history predates the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import ORDINARY, group_hits


@dataclass(frozen=True)
class DormantParams(Params):
    min_years: float = 5
    min_cny: float = 100_000


@register
class DormantActivation(Detector):
    id = "dormant_activation"
    typology = "DORMANT_ACTIVATION"
    domain = "payments"
    Params = DormantParams

    def hits(self, d):
        p = self.params
        t = d.payments
        sides = t.select("payment_id", "ts_event", "cny", "day", "purpose", "channel",
                         account=t.debtor).union(
            t.select("payment_id", "ts_event", "cny", "day", "purpose", "channel",
                     account=t.creditor))
        first = sides.group_by("account").aggregate(first_ts=sides.ts_event.min())
        f = sides.join(first, [sides.account == first.account,
                               sides.ts_event == first.first_ts])
        # A business's first trade or group payment in the data is not an awakening.
        f = f.filter((f.purpose.isnull() | ~f.purpose.isin(ORDINARY)) & (f.channel != "CIPS"))
        f = f.join(d.accounts, f.account == d.accounts.account_id)
        quiet_days = f.day - f.opened_date.epoch_days()
        f = f.filter((quiet_days >= int(p.min_years * 365)) & (f.cny >= p.min_cny))
        g = f.group_by("account").aggregate(
            window_start=f.ts_event.min(), window_end=f.ts_event.max(),
            cny=f.cny.max(), evidence=f.payment_id.collect())
        return group_hits(g, ibis.array([g.account]), 0.5 + g.cny / 2e6)
