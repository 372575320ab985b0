"""FAN_OUT: one account spreads funds to many others within a few days.

Regulatory basis: PBoC suspicious-transaction indicators (funds dispersed to many
accounts in a short time); FATF typologies of placement through money mules.

Signal: an account pays at least `min_parties` distinct accounts within `within_days`
(`fans`), legs from `min_leg`, at least half of the accounts `min_cny` or more and all
together `min_parties` x `min_cny` (a large sum dispersed, a stray leg smaller),
counting only receivers paid by no one else that day, in payments out of keeping with
its business (`common.unusual`), together more than ten times its usual day
(`common.usual_day`); the receivers do not pay the money on to one common account
(that is scatter-gather), and the account did not first collect it from several
others (gather-scatter).

Known false positives: payroll run as ordinary transfers; a company paying suppliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, register
from suptech.detect.payments.common import (ABOVE_USUAL, DAY_NS, beyond_usual, group_hits,
                                            large, sole, unusual, usual_day)


@dataclass(frozen=True)
class FanParams(Params):
    min_cny: float = 10_000
    #: FAN_OUT's legs from this many CNY (as `scatter_gather`'s), the fan together at
    #: least `min_parties` x `min_cny`: a dispersal holds small legs too. (FAN_IN's
    #: stay at `min_cny`: small legs found no more collections on the simulator's
    #: networks and raised more false ones where nothing was stored.)
    min_leg: float = 1_000
    min_parties: int = 5
    #: A fan is more than this many times the account's usual day (`common.usual_day`).
    above_usual: float = ABOVE_USUAL
    #: Days a fan may take (each day the account deals opens such a window).
    within_days: float = 3


def fans(big, centre: str, other: str, min_parties: int, within_days: float,
         exclusive: bool = False, usual: ir.Table | None = None, above: float = ABOVE_USUAL,
         min_total: float = 0, large_cny: float = 0):
    """Accounts (`centre`) with large payments to or from `min_parties` others within
    `within_days`.

    `exclusive`: count only counterparts that deal with no one else that day
    (`common.sole`).
    `usual` (`common.usual_day`): only fans of more than `above` times the centre's usual
    day (PBoC: a dispersal or a collection out of keeping with the client's business; an
    employer paying its staff a tenth of what its group sweeps each day is not a fan).
    `min_total`, `large_cny`: the legs of a window together at least `min_total`, and
    at least half of the counterparts paid `large_cny` or more: the dispersal of a large
    sum, a stray leg smaller (a business's payout is many small legs).
    `within_days`: a fan is judged over the days it took (PBoC: "in a short time"), not
    day by day: a dispersal spread over four days is three or four legs a day. Each day
    the centre deals opens a window of `within_days` from its first payment; the case is
    its first window that qualifies and those begun within `within_days` of it (one case
    a centre), and its evidence every leg in them.
    """
    if exclusive:
        big = sole(big, centre, other)
    span = int(within_days * DAY_NS)
    opens = big.group_by(c=big[centre], d0=big.day).aggregate(t0=big.ts_event.min())
    f = big.view()
    w = opens.join(f, [opens.c == f[centre], f.ts_event >= opens.t0,
                       f.ts_event < opens.t0 + span])
    win = w.group_by(["c", "t0"]).aggregate(
        n=w[other].nunique(), n_large=w[other].nunique(where=w.cny >= large_cny),
        total=w.cny.sum(), t1=w.ts_event.max())
    win = win.filter((win.n >= min_parties) & (win.total >= min_total)
                     & (2 * win.n_large >= win.n))
    if usual is not None:
        win = beyond_usual(win, "c", "total", usual, above)
    first = win.group_by(fc="c").aggregate(f0=win.t0.min())
    win = win.join(first, win.c == first.fc)
    win = win.filter(win.t0 < win.f0 + span)
    case = win.group_by("c").aggregate(start=win.t0.min(), end=win.t1.max())
    legs = big.view()
    legs = legs.join(case, [legs[centre] == case.c, legs.ts_event >= case.start,
                            legs.ts_event <= case.end])
    return legs.group_by(centre).aggregate(
        n=legs[other].nunique(), window_start=legs.ts_event.min(),
        window_end=legs.ts_event.max(), others=legs[other].collect(),
        evidence=legs.payment_id.collect())


@register
class FanOut(Detector):
    id = "fan_out"
    typology = "FAN_OUT"
    domain = "payments"
    Params = FanParams

    def hits(self, d):
        p = self.params
        big = large(d, p.min_cny)
        g = fans(unusual(d, p.min_leg), "debtor", "creditor", p.min_parties, p.within_days,
                 exclusive=True, usual=usual_day(d, "debtor"), above=p.above_usual,
                 min_total=p.min_parties * p.min_cny, large_cny=p.min_cny)
        # Receivers that pass the money on to one common sink make it scatter-gather.
        onward = big.select(mid=big.debtor, sink=big.creditor)
        fanned = g.select("debtor", mid=g.others.unnest())
        gathered = fanned.join(onward, "mid").group_by(["debtor", "sink"]).aggregate(
            mids=fanned.mid.nunique())
        gathered = gathered.filter(gathered.mids >= 3).select("debtor").distinct()
        g = g.anti_join(gathered, "debtor")
        # A hub paying out what several accounts paid in is gather-scatter.
        hubs = fans(unusual(d, p.min_cny), "creditor", "debtor", 3, p.within_days).select(
            debtor="creditor").distinct()
        g = g.anti_join(hubs, "debtor")
        return group_hits(g, ibis.array([g.debtor]).concat(g.others), 0.4 + 0.05 * g.n)
