"""LAYERING, streaming: a ladder of large orders on one side withdrawn soon after the
other side traded (see `suptech.detect.market.layering`).

Raised as soon as `min_levels` distinct prices are confirmed: more levels arriving
later do not undo it.
"""

from __future__ import annotations

from suptech.detect.market.layering import Layering
from suptech.stream.monitor.base import register
from suptech.stream.monitor.ladder import LadderDetector
from suptech.stream.monitor.spoofing import episode_case


@register
class StreamLayering(LadderDetector):
    batch = Layering

    def tick(self, watermark, batch):
        p = self.params
        cases = []
        for v in self.ladder.verdicts(batch):
            if v.levels >= p.min_levels and v.order.lots >= p.min_lots:
                case = episode_case(v, p.max_cancel_after_s, 0.4 + 0.1 * v.levels)
                if case:
                    cases.append(case)
        return cases
