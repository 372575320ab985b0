"""SPOOFING, streaming: a large order cancelled soon after its owner traded the other way,
alone or with one other level (see `suptech.detect.market.spoofing`).

Raised once the episode's number of levels is final: a third level arriving later
would make it layering instead.
"""

from __future__ import annotations

from suptech.detect.base import SECOND
from suptech.detect.market.spoofing import Spoofing
from suptech.stream.monitor.base import Case, register
from suptech.stream.monitor.ladder import LadderDetector, Verdict


def episode_case(v: Verdict, max_cancel_after_s: float, score: float) -> Case | None:
    """The case of a ladder verdict whose trade came close enough before the cancel."""
    b = v.order
    trades = [t for t, ts in b.trades if b.ts_cancel - ts <= int(max_cancel_after_s * SECOND)]
    if not trades:
        return None
    return Case((b.account,), b.isin, b.day, b.ts_new, b.ts_cancel, min(score, 1.0),
                (b.order_id, *trades))


@register
class StreamSpoofing(LadderDetector):
    batch = Spoofing

    def tick(self, watermark, batch):
        p = self.params
        cases = []
        for v in self.ladder.verdicts(batch):
            if v.final and v.levels <= p.max_levels and v.order.lots >= p.min_lots:
                case = episode_case(v, p.max_cancel_after_s, 0.5 + v.order.lots / (4 * p.min_lots))
                if case:
                    cases.append(case)
        return cases
