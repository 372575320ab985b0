"""An investor's risk profile as observed (the plan's item 8): the risk they actually
bear, read from what the database holds of their behaviour, beside the category they
declared. Written once: RISK_PROFILE_MISMATCH raises on it and the profile page shows it.

- *observed level*: the highest product level that at least half of the investor's money
  went to (the amount-weighted median of the levels they bought), raised to
  `margin_level` when they hold a margin account: margin financing is itself a service of
  that level (R4 in the industry's classification of services);
- *highest level* ever bought, the *concentration* (the largest product's share of their
  money), the *products* held and the *purchases a month* over the span they bought in;
- their market result: *trades*, *traded* notional (turnover) and *pnl* (sold, less
  bought, with what they still hold at each instrument's last price), a loss's share of
  what they bought.

Money is what was sold to them (product sales) and what they bought in the market
through the accounts they own, at the instrument's risk level (unrated instruments do
not count towards a level). A product's loss after the sale is not measured: the store
holds what products were sold, not their prices afterwards."""

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


def _market(d) -> tuple[ir.Table, ir.Table]:
    """The range's trades, and the accounts assessed investors own (account_id, owner)."""
    investors = d.store.view("investor_assessment").select("party_id").distinct()
    a = d.store.view("account")
    a = a.semi_join(investors, a.owner_party_id == investors.party_id).select(
        "account_id", owner="owner_party_id")
    return d.store.view("trade", start_ns=d.start_ns, end_ns=d.end_ns), a


def _bought(d) -> ir.Table:
    """What each assessed investor put money into: their product sales, and their buys
    in the market through the accounts they own (a trade's side, at the instrument's
    risk level where it has one): party_id, isin, level (rank, null: unrated), amt,
    ts_event, report_id, accounts."""
    s = d.sales
    sales = s.select("party_id", "isin", "ts_event", "report_id", "accounts",
                     level=rank(s.level, LEVELS), amt=s.amount.cast("float64"))
    t, a = _market(d)
    inst = d.store.view("instrument").select("isin", inst_level="product_risk_level")
    buys = t.join(a, t.buy_account_id == a.account_id)
    buys = buys.left_join(inst, "isin").drop("isin_right")
    market = buys.select(
        party_id=buys.owner, isin=buys.isin, ts_event=buys.ts_event, report_id=buys.report_id,
        accounts=ibis.array([buys.account_id]), level=rank(buys.inst_level, LEVELS),
        amt=(buys.price * buys.quantity).cast("float64"))
    return sales.union(market)


def results(d) -> ir.Table:
    """Each assessed investor's market result over the range: party_id, trades (their
    buys and sells), traded (their notional), pnl (sold, less bought, with what they
    still hold at each instrument's last price): a loss borne is a negative pnl."""
    t, a = _market(d)
    last = t.mutate(_k=ibis.row_number().over(group_by=t.isin, order_by=ibis.desc(
        t.ts_event))).filter(lambda x: x._k == 0).select("isin", last_price="price")
    sides = []
    for side, sign in (("buy", -1), ("sell", 1)):
        x = t.join(a, t[f"{side}_account_id"] == a.account_id)
        sides.append(x.select(party_id=x.owner, isin=x.isin,
                              cash=(sign * x.price * x.quantity).cast("float64"),
                              held=(-sign * x.quantity).cast("int64"),
                              notional=(x.price * x.quantity).cast("float64")))
    x = sides[0].union(sides[1])
    pos = x.group_by(["party_id", "isin"]).aggregate(
        cash=x.cash.sum(), held=x.held.sum(), notional=x.notional.sum(), trades=x.count())
    pos = pos.join(last, "isin")
    pos = pos.mutate(pnl=pos.cash + pos.held * pos.last_price.cast("float64"))
    return pos.group_by("party_id").aggregate(
        trades=pos.trades.sum(), traded=pos.notional.sum(), pnl=pos.pnl.sum())


def profiles(d, margin_level: str = "R4") -> ir.Table:
    """Per investor who bought a rated product (sold to them, or bought in the market):
    party_id, declared (their latest assessment), lowest, declared_rank (null:
    professional), purchases, amount, amount_r1..amount_r5, observed (rank), highest
    (rank), margin, concentration, products, per_month, first, last, trades, traded,
    pnl, loss_share (a loss's share of what they bought), evidence (report ids),
    accounts."""
    s = _bought(d)
    s = s.filter(s.level.notnull())
    levels = {f"amount_r{k}": ibis.coalesce(s.amt.sum(where=s.level == k), 0.0)
              for k in range(1, len(LEVELS) + 1)}
    per = s.group_by("party_id").aggregate(
        purchases=s.count(), amount=s.amt.sum(), highest=s.level.max(), **levels,
        first=s.ts_event.min(), last=s.ts_event.max(),
        evidence=s.report_id.collect(), accounts=s.accounts.collect().flatten().unique())
    bought = s.group_by(["party_id", "isin"]).aggregate(a=s.amt.sum())
    top = bought.group_by("party_id").aggregate(top=bought.a.max(), products=bought.count())
    v = d.store.view("investor_assessment")
    v = v.mutate(_k=ibis.row_number().over(group_by=v.party_id, order_by=[
        ibis.desc(v.assessed_on), ibis.desc(v.ts_event)])).filter(lambda x: x._k == 0)
    v = v.select(who="party_id", declared="category", lowest="lowest_category")
    a = d.store.view("account")
    margin = a.filter(a.account_type == "MARGIN").select(margin_of="owner_party_id").distinct()
    per = per.join(v, per.party_id == v.who).drop("who")
    per = per.left_join(top, "party_id").drop("party_id_right")
    per = per.left_join(margin, per.party_id == margin.margin_of)
    r = results(d)
    per = per.left_join(r, "party_id").drop("party_id_right")
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
        per_month=per.purchases / ibis.greatest(span_days / MONTH_DAYS, 1.0),
        trades=ibis.coalesce(per.trades, 0), traded=ibis.coalesce(per.traded, 0.0),
        pnl=per.pnl, loss_share=ibis.greatest(-ibis.coalesce(per.pnl, 0.0), 0.0) / per.amount)
