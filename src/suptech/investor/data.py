"""Product sales as suitability supervision reads them: each with the product's risk
level (the sale's, else the instrument's), the investor's assessment in force on the
day of the sale, and the investor's accounts at the selling institution (what the
alert names, and what decides whose jurisdiction it is)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import SharedTables
from suptech.model.calendar import DEFAULT


@dataclass
class InvestorData(SharedTables):
    #: sale_id, report_id, ts_event, day (local, days since the epoch), party_id, isin,
    #: member_lei, amount, level, category (null: none in force), lowest, assessed_on,
    #: age_band, prev_category (of the assessment before the one in force), initiated,
    #: warning_ref, confirmation_ref, recording_id, salesperson_id, channel,
    #: campaign_id, accounts (array: the investor's at the seller, else all theirs).
    sales: ir.Table
    #: What the detectors read beside the sales (complaints, accounts): the store and the
    #: run's span.
    store: object = None
    end_ns: int | None = None
    start_ns: int | None = None


def investor_data(store, start_ns: int | None = None, end_ns: int | None = None,
                  materialize: bool = True) -> InvestorData:
    s = store.view("product_sale", start_ns=start_ns, end_ns=end_ns)
    s = s.mutate(day=DEFAULT.local_day(s.ts_event).cast("int64"))
    inst = store.view("instrument").select("isin", inst_level="product_risk_level")
    s = s.left_join(inst, "isin").drop("isin_right")
    a = store.view("investor_assessment")
    before = ibis.window(group_by="party_id", order_by=["assessed_on", "ts_event"])
    a = a.select("party_id", "category", "assessed_on", "valid_until", "age_band",
                 lowest="lowest_category", a_day=a.assessed_on.epoch_days(),
                 prev_category=a.category.lag().over(before))
    j = s.left_join(a, (s.party_id == a.party_id) & (a.a_day <= s.day)
                    & (a.valid_until.isnull() | (a.valid_until.epoch_days() >= s.day)))
    latest = ibis.window(group_by=j.sale_id, order_by=[ibis.desc(j.a_day), ibis.desc(j.lowest)])
    j = j.mutate(_n=ibis.row_number().over(latest)).filter(lambda t: t._n == 0)
    acct = store.view("account").select("account_id", owner="owner_party_id", at="member_lei")
    sold = j.select("sale_id", "party_id", "member_lei")
    own = sold.join(acct, sold.party_id == acct.owner)
    own = own.group_by("sale_id").aggregate(
        mine=own.account_id.collect(where=own.at == own.member_lei),
        theirs=own.account_id.collect())
    j = j.left_join(own, "sale_id").drop("sale_id_right")
    sales = j.select(
        "sale_id", "report_id", "ts_event", "day", "party_id", "isin", "member_lei", "amount",
        "category", "lowest", "assessed_on", "age_band", "prev_category", "recording_id",
        "salesperson_id", "channel",
        "campaign_id", "warning_ref", "confirmation_ref",
        level=ibis.coalesce(j.product_risk_level, j.inst_level),
        initiated=j.investor_initiated,
        accounts=ibis.ifelse(ibis.coalesce(j.mine.length(), 0) > 0, j.mine,
                             ibis.coalesce(j.theirs, ibis.literal([], type="array<string>"))))
    d = InvestorData(sales, store, end_ns, start_ns)
    d.materialize = materialize
    d.sales = d.shared(("sales",), lambda: sales)
    return d
