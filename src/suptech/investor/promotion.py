"""ABOVE_LEVEL_PROMOTION: a salesperson (or a campaign) whose sales above the investors'
levels are a pattern, however each was papered (asked for, warned, confirmed): at least
`min_sales` such sales over the run, and at least `min_share` of their sales. An
institution may not promote a product above an investor's level (art. 22); investors
coached to "ask" are the way round it. One case a salesperson or campaign; it names
the investors' accounts and the sales."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, hits_table, register
from suptech.investor.suitability import CATEGORIES, LEVELS, PROFESSIONAL, rank
from suptech.risk.indicator import why


@dataclass(frozen=True)
class PromotionParams(Params):
    min_sales: int = 5
    min_share: float = 0.3


@register
class AboveLevelPromotion(Detector):
    id = "above_level_promotion"
    typology = "ABOVE_LEVEL_PROMOTION"
    domain = "investor"
    calibrated = False
    Params = PromotionParams

    def hits(self, d) -> ir.Table:
        p = self.params
        s = d.sales.filter(d.sales.level.notnull())
        above = (rank(s.level, LEVELS) > rank(s.category, CATEGORIES)) \
            & (s.category != PROFESSIONAL)
        s = s.mutate(above=ibis.coalesce(above, False))
        parts = []
        for kind, key in (("salesperson", s.salesperson_id), ("campaign", s.campaign_id)):
            t = s.filter(key.notnull()).mutate(who=key, kind=ibis.literal(kind))
            g = t.group_by(["kind", "who", "member_lei"]).aggregate(
                sales=t.count(), above=t.above.sum(),
                first=t.ts_event.min(where=t.above), last=t.ts_event.max(where=t.above),
                accounts=t.accounts.collect(where=t.above).flatten(),
                evidence=t.report_id.collect(where=t.above))
            parts.append(g)
        g = parts[0].union(parts[1])
        g = g.filter((g.above >= p.min_sales) & (g.above / g.sales >= p.min_share))
        share = g.above / g.sales
        return hits_table(g.mutate(
            account_ids=g.accounts, isin=ibis.null("string"), window_start=g.first,
            window_end=g.last, score=(0.5 + share / 2).cast("float64"),
            evidence=g.evidence,
            explanation=why(subject=g.who, kind=g.kind, seller=g.member_lei,
                            sales=g.sales, above_level=g.above, share=share)),
            case=("kind", "who"))
