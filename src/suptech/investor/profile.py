"""An investor's risk profile as observed (the plan's item 8): the risk they actually
bear, read from what the database holds of their behaviour, beside the category they
declared. Written once: RISK_PROFILE_MISMATCH raises on it and the profile page shows it.

- *observed level*: the highest product level that at least half of the investor's money
  went to (the amount-weighted median of the levels they bought), raised to
  `margin_level` when they hold a margin account: margin financing is itself a service of
  that level (R4 in the industry's classification of services);
- *highest level* ever bought, the *concentration* (the largest product's share of their
  money), the *products* held and the *purchases a month* over the span they bought in.

Losses borne are not measured: the store holds what products were sold, not their prices
after the sale."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.investor.suitability import CATEGORIES, LEVELS, rank

#: The share of an investor's money that decides their observed level.
MATERIAL = 0.5
MONTH_DAYS = 30.4375


def observed_level(amounts: list[ir.FloatingValue], total: ir.FloatingValue) -> ir.IntegerValue:
    """1-5: the highest level L whose amounts at L and above are at least `MATERIAL` of
    `total` (`amounts` from R1 to R5)."""
    cases, above = [], None
    for k in range(len(amounts), 1, -1):
        above = amounts[k - 1] if above is None else above + amounts[k - 1]
        cases.append((above >= MATERIAL * total, k))
    return ibis.cases(*cases, else_=1)


def profiles(d, margin_level: str = "R4") -> ir.Table:
    """Per investor who bought a rated product: party_id, declared (the category in force
    at their last purchase), lowest, declared_rank (null: professional), purchases,
    amount, amount_r1..amount_r5, observed (rank), highest (rank), margin, concentration,
    products, per_month, first, last, evidence (the sales' report ids), accounts."""
    s = d.sales.filter(d.sales.level.notnull())
    s = s.mutate(r=rank(s.level, LEVELS), amt=s.amount.cast("float64"))
    levels = {f"amount_r{k}": ibis.coalesce(s.amt.sum(where=s.r == k), 0.0)
              for k in range(1, len(LEVELS) + 1)}
    per = s.group_by("party_id").aggregate(
        purchases=s.count(), amount=s.amt.sum(), highest=s.r.max(), **levels,
        declared=s.category.argmax(s.ts_event), lowest=s.lowest.argmax(s.ts_event),
        first=s.ts_event.min(), last=s.ts_event.max(),
        evidence=s.report_id.collect(), accounts=s.accounts.collect().flatten().unique())
    bought = s.group_by(["party_id", "isin"]).aggregate(a=s.amt.sum())
    top = bought.group_by("party_id").aggregate(top=bought.a.max(), products=bought.count())
    a = d.store.view("account")
    margin = a.filter(a.account_type == "MARGIN").select(margin_of="owner_party_id").distinct()
    per = per.left_join(top, "party_id").drop("party_id_right")
    per = per.left_join(margin, per.party_id == margin.margin_of)
    by_money = observed_level([per[f"amount_r{k}"] for k in range(1, len(LEVELS) + 1)],
                              per.amount)
    has_margin = per.margin_of.notnull()
    span_days = (per["last"] - per["first"]).cast("float64") / (86_400 * 1e9)
    return per.select(
        "party_id", "declared", "lowest", "purchases", "amount", *levels, "highest",
        "products", "first", "last", "evidence", "accounts",
        declared_rank=rank(per.declared, CATEGORIES), margin=has_margin,
        observed=ibis.ifelse(has_margin, ibis.greatest(by_money, rank(
            ibis.literal(margin_level), LEVELS)), by_money),
        concentration=per.top / per.amount,
        per_month=per.purchases / ibis.greatest(span_days / MONTH_DAYS, 1.0))
