"""RISK_PROFILE_MISMATCH: an investor whose behaviour is far from the category they
declared (`profile`): the level most of their money goes to `beyond` or more levels
above their category, over `min_purchases` purchases or more (acting far beyond: the
papered exceptions have become the rule, or the assessment understates them); or, over
`min_below` purchases or more, never anything within `below` levels of their category
(acting far below: an assessment that overstates them opens the door to products they
never wanted). Each is a finding for the institution to reassess, one case an investor."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, hits_table, register
from suptech.investor.profile import profiles
from suptech.investor.suitability import LEVELS
from suptech.risk.indicator import why


@dataclass(frozen=True)
class MismatchParams(Params):
    beyond: int = 2
    min_purchases: int = 3
    below: int = 3
    min_below: int = 5
    margin_level: str = "R4"


def level_name(r: ir.IntegerValue) -> ir.StringValue:
    return r.cases(*[(k + 1, name) for k, name in enumerate(LEVELS)], else_=None)


@register
class RiskProfileMismatch(Detector):
    id = "risk_profile_mismatch"
    typology = "RISK_PROFILE_MISMATCH"
    domain = "investor"
    calibrated = False
    Params = MismatchParams

    def hits(self, d) -> ir.Table:
        p = self.params
        t = profiles(d, p.margin_level)
        t = t.filter(t.declared_rank.notnull())
        beyond = (t.observed - t.declared_rank >= p.beyond) & (t.purchases >= p.min_purchases)
        below = (t.declared_rank - t.highest >= p.below) & (t.purchases >= p.min_below)
        t = t.mutate(_way=ibis.cases((beyond, "BEYOND"), (below, "BELOW"), else_=None))
        t = t.filter(t._way.notnull())
        return hits_table(t.mutate(
            account_ids=t.accounts, isin=ibis.null("string"), window_start=t["first"],
            window_end=t["last"], score=ibis.ifelse(t._way == "BEYOND", 0.6, 0.5),
            evidence=t.evidence,
            explanation=why(subject=t.party_id, reason=t._way, declared=t.declared,
                            observed=level_name(t.observed), highest=level_name(t.highest),
                            purchases=t.purchases, margin=t.margin,
                            concentration=t.concentration, per_month=t.per_month,
                            traded=t.traded, loss_share=t.loss_share)),
            case=("party_id",))
