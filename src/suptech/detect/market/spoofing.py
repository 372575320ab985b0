"""SPOOFING: large orders that were never meant to trade.

Regulatory basis: EU MAR art. 12(1)(a)(i) and Annex I A(c) ("placing orders which are
withdrawn before execution ... to give a misleading impression of supply or demand");
Securities Law of the PRC art. 55(1)(4) (frequently placing and withdrawing orders
without the purpose of trading); the SSE and SZSE rules on abnormal trading (large
orders cancelled to influence prices).

Signal: an account's large order (at least `min_size` times the instrument's usual
resting order of the last half hour: `common.usual_order_size`) is cancelled within
`max_life_s` seconds of entry, and while it rested the same account had a genuine
order on the other side of the same instrument: entered before it or while it rested,
filled or not (the spoofer wants it filled; often it rests unfilled). The book the
account showed was one-sided: the orders it rested beside on the spoofed side hold at
least `min_one_sided` times the lots it had on the other. If the genuine order traded,
the spoof was withdrawn within `max_cancel_after_s` seconds of the trade; if it never
traded, the account did it at least `min_unserved` times that day (once, for spoofing:
a spoofer waiting to be hit often is not, and tries once). One or two such orders at a
time; three or more levels at once is layering, which has its own detector. The score
grows with the order's size, and a case repeated or served ranks above a single try.

Known false positives: a trader whose large order is cancelled after a change of mind
while a small order rests on the other side (once, and unserved: the lowest scores).
Market makers quote both sides at once, of like sizes: their book is two-sided, which
this rule does not flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import SECOND, Detector, Params, one_account_hits, register
from suptech.detect.market.common import (
    bucketed, other_side_while_resting, quick_cancels,
    traded_other_side_while_resting)


@dataclass(frozen=True)
class SpoofingParams(Params):
    min_size: float = 5
    max_life_s: float = 60
    max_levels: int = 2  # more distinct prices at once is layering
    max_cancel_after_s: float = 30
    min_one_sided: float = 2
    min_unserved: int = 1


#: Orders this many times the usual size count as levels of a ladder (see `layering`).
LADDER_SIZE = 3
#: Levels of one ladder are entered within this of each other.
LEVEL_GAP = 2 * SECOND


def ladder_episodes(m, min_size: float, max_life_s: float):
    """Per flagged order (and other-side trade while it rested, if any): the order, its
    levels and their lots, and the account's lots on the other side.

    Spoofing and layering share the work: computed once per scan for orders of at least
    `LADDER_SIZE` times the usual size, then filtered.
    """
    base = min(min_size, LADDER_SIZE)
    e = m.shared(("episodes", base, max_life_s), lambda: _episodes(m, base, max_life_s))
    return e.filter(e.size >= min_size)


def ladder_reach(max_life_s: float) -> int:
    """An episode reads the other side's orders from `max_life_s` before its order,
    and events to its `done`."""
    return 2 * int(max_life_s * SECOND) + 2 * LEVEL_GAP


def _episodes(m, min_size: float, max_life_s: float):
    life = int(max_life_s * SECOND)
    # An order's episode is done by `life` and a level's gap after its entry (a level
    # it rested beside is entered within the gap of it).
    lead = life + LEVEL_GAP
    c = quick_cancels(m, min_size, life, lead + LEVEL_GAP)
    # Done once every level that rested beside it (entered within 2 s) is cancelled,
    # or the day has closed.
    anchors, mic = m.venue(m.anchored(c, "tt", lead))
    anchors = anchors.mutate(done=m.clock.capped(anchors.ts_new + lead, anchors.day, mic))
    anchors = m.due(anchors.drop("_mic") if mic is not None else anchors)
    # Levels the account held on that side at the same moment: placed within 2 s of
    # each other and resting together (a market maker's successive quotes never are).
    h = bucketed(anchors, "ts_new", LEVEL_GAP, range(-1, 2))
    peers = c.mutate(bucket=(c.ts_new // LEVEL_GAP).cast("int64"))
    lv = h.join(peers, [h.account_id == peers.account_id, h.isin == peers.isin,
                        h.side == peers.side, h.bucket == peers.bucket,
                        (h.ts_new - peers.ts_new).abs() <= LEVEL_GAP,
                        peers.ts_new < h.ts_cancel, peers.ts_cancel > h.ts_new]
                ).select(order_id=h.order_id, peer_price=peers.price, peer_lots=peers.lots)
    levels = lv.group_by("order_id").aggregate(levels=lv.peer_price.nunique(),
                                               ladder_lots=lv.peer_lots.sum())
    e = anchors.join(levels, "order_id").join(
        other_side_while_resting(m, anchors, life, lead), "order_id")
    traded = traded_other_side_while_resting(m, anchors, life, lead)
    return e.left_join(traded, "order_id").drop("order_id_right")


class LadderDetector(Detector):
    """Spoofing and layering: episodes of the ladder (`ladder_episodes`) shown on one
    side, whose genuine order's trade (if it traded) came at most `max_cancel_after_s`
    before the cancel, and whose levels `levels_ok`."""

    case = ("account_id", "isin", "day")

    def reach(self):
        return ladder_reach(self.params.max_life_s)

    def levels_ok(self, levels):
        raise NotImplementedError

    def episodes(self, m):
        p = self.params
        e = ladder_episodes(m, p.min_size, p.max_life_s)
        return e.filter(self.levels_ok(e.levels)
                        & (e.ladder_lots >= p.min_one_sided * e.other_lots)
                        & (e.ts_trade.isnull()
                           | (e.ts_cancel - e.ts_trade <= int(p.max_cancel_after_s * SECOND))))

    def cases(self, e):
        """A case whose genuine orders never traded needs at least `min_unserved` orders
        withdrawn (one may be a change of mind)."""
        p = self.params
        nothing = ibis.literal([], type="array<string>")
        g = e.group_by(list(self.case)).aggregate(
            window_start=e.ts_new.min(), window_end=e.ts_cancel.max(),
            orders=e.order_id.nunique(), served=e.ts_trade.count(),
            evidence=e.order_id.collect().concat(e.others.collect().flatten())
            .concat(ibis.coalesce(e.trade_id.collect(), nothing)),
            **self.strength(e))
        g = g.filter((g.served > 0) | (g.orders >= p.min_unserved))
        return one_account_hits(g, self.score(g), self.case)

    def strength(self, e) -> dict:
        raise NotImplementedError

    def score(self, g):
        raise NotImplementedError


@register
class Spoofing(LadderDetector):
    id = "spoofing"
    typology = "SPOOFING"
    version = "4"
    Params = SpoofingParams

    def levels_ok(self, levels):
        return levels <= self.params.max_levels

    def strength(self, e):
        return {"size": e.size.max()}

    def score(self, g):
        tried_again = ibis.ifelse((g.orders > 1) | (g.served > 0), 0.2, 0.0)
        return 0.4 + tried_again + g.size / (10 * self.params.min_size)
