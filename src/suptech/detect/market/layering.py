"""LAYERING: a ladder of orders on one side, withdrawn once the other side is served.

Regulatory basis: EU MAR art. 12(1)(a) and Annex II 1(a) (layering and spoofing);
Securities Law of the PRC art. 55(1)(4); SSE/SZSE abnormal-trading rules on repeated
placing and cancelling of orders at several price levels.

Signal: at one moment (entries within 2 s) an account rests orders of at least
`min_size` times the instrument's usual resting order (as spoofing) on at least
`min_levels` distinct prices of one side (at the best price or behind it), cancels them
within `max_life_s` seconds, and while they rest has a genuine order on the other side,
filled or not; the ladder holds at least `min_one_sided` times the account's lots on the
other side, and if the genuine order traded, the ladder was pulled within
`max_cancel_after_s` seconds of it, and if it never did, the account withdrew at least
`min_unserved` such orders that day (as spoofing: `suptech.detect.market.spoofing`).

Known false positives: execution algorithms that post a ladder and pull it after a
fill. Market makers that quote several levels deep quote both sides, of like sizes:
a two-sided book, which this rule does not flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from suptech.detect.base import Params, register
from suptech.detect.market.spoofing import LadderDetector


@dataclass(frozen=True)
class LayeringParams(Params):
    min_size: float = 3
    max_life_s: float = 60
    min_levels: int = 3
    max_cancel_after_s: float = 30
    min_one_sided: float = 2
    min_unserved: int = 2


@register
class Layering(LadderDetector):
    id = "layering"
    typology = "LAYERING"
    version = "3"
    Params = LayeringParams

    def levels_ok(self, levels):
        return levels >= self.params.min_levels

    def strength(self, e):
        return {"levels": e.levels.max()}

    def score(self, g):
        return 0.4 + 0.1 * g.levels
