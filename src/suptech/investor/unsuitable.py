"""UNSUITABLE_SALE: a product sold above the investor's risk tolerance without what
makes that allowed, or to an investor not assessed (`suitability.unsuitable`). One case
a sale; its explanation names the sale first (what a label's subject matches), then the
reason, the product's level, the investor's category and the evidence there was."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, hits_table, register
from suptech.investor.suitability import REASONS, unsuitable
from suptech.risk.indicator import why


@dataclass(frozen=True)
class SaleParams(Params):
    pass


def sale_hits(d, t: ir.Table, reason: ir.StringValue, score: ir.FloatingValue,
              **facts) -> ir.Table:
    """A sale's alert: its accounts, the day of the sale, its report as evidence."""
    t = t.mutate(_reason=reason, _score=score)
    t = t.filter(t._reason.notnull())
    return hits_table(t.mutate(
        account_ids=t.accounts, window_start=t.ts_event, window_end=t.ts_event,
        score=t._score, evidence=ibis.array([t.report_id]),
        explanation=why(subject=t.sale_id, reason=t._reason, investor=t.party_id,
                        product=t.isin,
                        level=t.level, category=t.category, lowest=t.lowest,
                        seller=t.member_lei, salesperson=t.salesperson_id,
                        **{k: f(t) for k, f in facts.items()})), case=("sale_id",))


@register
class UnsuitableSale(Detector):
    id = "unsuitable_sale"
    typology = "UNSUITABLE_SALE"
    domain = "investor"
    calibrated = False  # a breach of the rules, measured, not a suspicion
    Params = SaleParams

    def hits(self, d) -> ir.Table:
        s = d.sales.filter(d.sales.level.notnull())
        reason = unsuitable(s.level, s.category, s.lowest, s.initiated, s.warning_ref,
                            s.confirmation_ref)
        score = reason.cases(*REASONS.items(), else_=None).cast("float64")
        return sale_hits(self, s, reason, score,
                         investor_initiated=lambda t: t.initiated,
                         warning=lambda t: t.warning_ref,
                         confirmation=lambda t: t.confirmation_ref)
