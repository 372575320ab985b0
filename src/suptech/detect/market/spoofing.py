"""SPOOFING: large orders that were never meant to trade.

Regulatory basis: EU MAR art. 12(1)(a)(i) and Annex I A(c) ("placing orders which are
withdrawn before execution ... to give a misleading impression of supply or demand");
Securities Law of the PRC art. 55(1)(4) (frequently placing and withdrawing orders
without the purpose of trading); the SSE and SZSE rules on abnormal trading (large
orders cancelled to influence prices).

Signal: an account's large order (at least `min_lots` lots) is cancelled within
`max_life_s` seconds of entry and within `max_cancel_after_s` seconds of a trade in
which the same account, while the order rested, took liquidity on the other side of the
same instrument. One or two such orders at a time; three or more levels at once is
layering, which has its own detector.

Known false positives: a trader whose large order is cancelled after its own other-side
order happened to fill (a change of mind); market makers whose quotes exceed `min_lots`.
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import SECOND, Detector, Params, one_account_hits, register
from suptech.detect.market.common import bucketed, quick_cancels, traded_against_while_resting


@dataclass(frozen=True)
class SpoofingParams(Params):
    min_lots: float = 25
    max_life_s: float = 60
    max_levels: int = 2  # more distinct prices at once is layering
    max_cancel_after_s: float = 30


#: Orders this large count as levels of a ladder (see `layering`).
LADDER_LOTS = 10
#: Levels of one ladder are entered within this of each other.
LEVEL_GAP = 2 * SECOND


def ladder_episodes(m, min_lots: float, max_life_s: float):
    """Per flagged order: the order, the trade it covered and the levels it was part of.

    Spoofing and layering share the work: computed once per scan for orders of at least
    `LADDER_LOTS` lots, then filtered.
    """
    base = min(min_lots, LADDER_LOTS)
    e = m.shared(("episodes", base, max_life_s), lambda: _episodes(m, base, max_life_s))
    # Done once every level that rested beside it (entered within 2 s) is cancelled,
    # or the day has closed.
    e, mic = m.venue(e.filter(e.lots >= min_lots))
    return e.mutate(done=m.clock.capped(e.ts_new + int(max_life_s * SECOND) + LEVEL_GAP,
                                        e.day, mic))


def ladder_reach(max_life_s: float) -> int:
    """An episode reads events from 2 s before its order to its `done`."""
    return int(max_life_s * SECOND) + 2 * LEVEL_GAP


def _episodes(m, min_lots: float, max_life_s: float):
    life = int(max_life_s * SECOND)
    c = quick_cancels(m, min_lots, life)
    big = c
    hit = traded_against_while_resting(m, big, life)
    # Levels the account held on that side at the same moment: placed within 2 s of
    # each other and resting together (a market maker's successive quotes never are).
    h = hit.mutate(bucket=(hit.ts_new // LEVEL_GAP).cast("int64"))
    peers = bucketed(c, "ts_new", LEVEL_GAP, range(-1, 2))
    lv = h.join(peers, [h.account_id == peers.account_id, h.isin == peers.isin,
                        h.side == peers.side, h.bucket == peers.bucket,
                        (h.ts_new - peers.ts_new).abs() <= LEVEL_GAP,
                        peers.ts_new < h.ts_cancel, peers.ts_cancel > h.ts_new]
                ).select(order_id=h.order_id, peer_price=peers.price)
    levels = lv.group_by("order_id").aggregate(levels=lv.peer_price.nunique())
    return hit.join(levels, "order_id")


class LadderDetector(Detector):
    """Spoofing and layering: episodes of the ladder (`ladder_episodes`) whose trade came
    at most `max_cancel_after_s` before the cancel, and whose levels `levels_ok`."""

    case = ("account_id", "isin", "day")

    def reach(self):
        return ladder_reach(self.params.max_life_s)

    def levels_ok(self, levels):
        raise NotImplementedError

    def episodes(self, m):
        p = self.params
        e = ladder_episodes(m, p.min_lots, p.max_life_s)
        return e.filter(self.levels_ok(e.levels)
                        & (e.ts_cancel - e.ts_trade <= int(p.max_cancel_after_s * SECOND)))


@register
class Spoofing(LadderDetector):
    id = "spoofing"
    typology = "SPOOFING"
    version = "1"
    Params = SpoofingParams

    def levels_ok(self, levels):
        return levels <= self.params.max_levels

    def cases(self, e):
        p = self.params
        g = e.group_by(list(self.case)).aggregate(
            window_start=e.ts_new.min(), window_end=e.ts_cancel.max(),
            lots=e.lots.max(), orders=e.order_id.nunique(),
            evidence=e.order_id.collect().concat(e.trade_id.collect()))
        return one_account_hits(g, 0.5 + g.lots / (4 * p.min_lots), self.case)
