"""DORMANT_ACTIVATION: an account silent for years that suddenly moves large sums.

Regulatory basis: the PBoC's suspicious-transaction indicators (a long-idle account
suddenly used for no clear reason, with large sums received and paid out within a short
time); FATF guidance on the misuse of dormant accounts.

Signal: an account last used at least `min_years` before its first payment in the
scanned range (by its bank's account report, `last_active_date`, or else opened that
long before), with no payment in the store in the `min_years` before it (its own
history, not only the range), that within `within_days` of that first payment receives
at least `min_cny` in payments that are not business flows (trade on CIPS, salaries,
suppliers, intra-group, purchases, loans; cash paid into it is not money moved on) and
pays out at least `min_share` of it again. Money that lands and stays (an inheritance,
a house sale, a loan) is not an activation. Evidence: the payments in and out.

Known false positives: an old savings account used again to pass money to a relative;
where banks do not report `last_active_date`, active accounts opened years ago whose
earlier payments predate the store (the store's start is not the account's).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import DAY_NS, ORDINARY, group_hits


@dataclass(frozen=True)
class DormantParams(Params):
    min_years: float = 5
    min_cny: float = 100_000
    within_days: float = 3
    min_share: float = 0.8


@register
class DormantActivation(Detector):
    id = "dormant_activation"
    typology = "DORMANT_ACTIVATION"
    #: An account that wakes to collect from many, or to pay many, is an activation.
    supersedes = ("FAN_IN", "FAN_OUT")
    domain = "payments"
    Params = DormantParams

    def hits(self, d):
        p = self.params
        t = d.payments
        keep = ("payment_id", "ts_event", "cny", "day", "purpose", "channel")
        t = t.filter(t.debtor != t.creditor)  # cash paid in is not money moved on
        sides = t.select(*keep, account=t.debtor, paid=ibis.literal(True)).union(
            t.select(*keep, account=t.creditor, paid=ibis.literal(False)))
        first = sides.group_by("account").aggregate(woke=sides.ts_event.min(),
                                                    woke_day=sides.day.min())
        a = d.accounts
        first = first.join(a, first.account == a.account_id)
        # Idle since the bank last saw it used, or else since it was opened.
        idle = first.last_active_date.fill_null(first.opened_date)
        first = first.filter(first.woke_day - idle.epoch_days() >= int(p.min_years * 365))
        quiet = int(p.min_years * 365) * DAY_NS
        if d.before is not None:
            b = d.before
            first = first.left_join(b, first.account == b.account)
            first = first.filter(b.last_ts.isnull() | (first.woke - b.last_ts >= quiet))
        first = first.select("account", "woke")
        s = sides.join(first, "account")
        s = s.filter((s.ts_event <= s.woke + int(p.within_days * DAY_NS))
                     & (s.purpose.isnull() | ~s.purpose.isin(ORDINARY)) & (s.channel != "CIPS"))
        g = s.group_by("account").aggregate(
            received=s.cny.sum(where=~s.paid), sent=s.cny.sum(where=s.paid),
            window_start=s.ts_event.min(), window_end=s.ts_event.max(),
            evidence=s.payment_id.collect())
        g = g.filter((g.received >= p.min_cny) & (g.sent >= p.min_share * g.received))
        return group_hits(g, ibis.array([g.account]), 0.5 + g.received / 2e6)
