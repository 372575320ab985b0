"""LAYERING: a ladder of orders on one side, withdrawn once the other side has traded.

Regulatory basis: EU MAR art. 12(1)(a) and Annex II 1(a) (layering and spoofing);
Securities Law of the PRC art. 55(1)(4); SSE/SZSE abnormal-trading rules on repeated
placing and cancelling of orders at several price levels.

Signal: at one moment (entries within 2 s) an account rests orders of at least
`min_lots` lots on at least `min_levels` distinct prices of one side, cancels them
within `max_life_s` seconds, and, while they rest, takes liquidity on the other side
no more than `max_cancel_after_s` seconds before cancelling them.

Known false positives: market makers that quote several levels deep and requote after
a fill; execution algorithms that post a ladder and pull it after a fill.
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import Params, one_account_hits, register
from suptech.detect.market.spoofing import LadderDetector


@dataclass(frozen=True)
class LayeringParams(Params):
    min_lots: float = 10
    max_life_s: float = 60
    min_levels: int = 3
    max_cancel_after_s: float = 30


@register
class Layering(LadderDetector):
    id = "layering"
    typology = "LAYERING"
    version = "1"
    Params = LayeringParams

    def levels_ok(self, levels):
        return levels >= self.params.min_levels

    def cases(self, e):
        g = e.group_by(list(self.case)).aggregate(
            window_start=e.ts_new.min(), window_end=e.ts_cancel.max(),
            levels=e.levels.max(),
            evidence=e.order_id.collect().concat(e.trade_id.collect()))
        return one_account_hits(g, 0.4 + 0.1 * g.levels, self.case)
