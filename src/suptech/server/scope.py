"""What of the report database a user of one jurisdiction may see.

A report belongs to the regions of the parties it involves: a party by its own region,
an account by its owner's, an order by its account's, a trade by either side's, a
payment by either account's, an insider entry, sale, complaint or suitability
assessment by its party's, a complaint's step by its complaint's. Instruments and
announcements are public and seen by all; so are the market's and the institutions'
reports, which are about no investor (index levels, share capital, institutions'
capital and exposures, the new-technology register, the innovation pilots). An alert belongs to the
regions of its accounts' owners; one that names no account (a risk indicator's measure
of a share) is about the market, public, and seen by all. Accounts the register does not know (foreign
counterparties) belong to no region, and what involves only them is seen by no one.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import polars as pl

from suptech.ops.access import JURISDICTIONS

PUBLIC = ("instrument", "announcement", "index_level", "share_capital", "institution_capital",
          "exposure", "tech_application", "tech_assessment", "tech_incident", "risk_cover",
          "pilot", "pilot_activity")
BY_ACCOUNT = {"order_event": ("account_id",), "trade": ("buy_account_id", "sell_account_id"),
              "payment": ("debtor_account_id", "creditor_account_id"),
              "account": ("account_id",)}
BY_PARTY = {"party": ("party_id",), "insider": ("party_id",),
            "product_sale": ("party_id",), "complaint": ("party_id",),
            "investor_assessment": ("party_id",)}
#: Reports seen where the report they belong to is: (its key, that report's type).
BY_REPORT = {"complaint_event": ("complaint_id", "complaint")}


def parties_of(store, jurisdiction: str) -> ir.Table:
    p = store.view("party")
    return p.filter(p.region == jurisdiction).select("party_id")


def accounts_of(store, jurisdiction: str) -> ir.Table:
    a = store.view("account")
    mine = parties_of(store, jurisdiction)
    return a.filter(a.owner_party_id.isin(mine.party_id)).select("account_id")


def reports_in(store, type_name: str, jurisdiction: str, as_of_ns: int | None = None) -> ir.Table:
    t = store.view(type_name, as_of_ns)
    if type_name in PUBLIC:
        return t
    if type_name in BY_PARTY:
        keys = parties_of(store, jurisdiction).party_id
        return t.filter(ibis.or_(*[t[c].isin(keys) for c in BY_PARTY[type_name]]))
    if type_name in BY_REPORT:
        key, owner = BY_REPORT[type_name]
        return t.filter(t[key].isin(reports_in(store, owner, jurisdiction, as_of_ns)[key]))
    keys = accounts_of(store, jurisdiction).account_id
    return t.filter(ibis.or_(*[t[c].isin(keys) for c in BY_ACCOUNT[type_name]]))


def account_register(store, account_ids: pl.Series) -> pl.DataFrame:
    """account_id, region, opened_date, last_active_date: where each of these accounts'
    owners is, and since when the account was open and last used as its bank reports
    it (a dormant account's proof), for the accounts the register knows."""
    # Only these accounts are looked up, in the engine: not the whole register.
    ids = ibis.memtable(pl.DataFrame({"account_id": account_ids.unique()}).to_arrow())
    accounts, parties = store.view("account"), store.view("party")
    owned = accounts.inner_join(ids, accounts.account_id == ids.account_id).select(
        accounts.account_id, accounts.owner_party_id, accounts.opened_date,
        accounts.last_active_date)
    located = owned.left_join(parties, owned.owner_party_id == parties.party_id).select(
        owned.account_id, parties.region, owned.opened_date, owned.last_active_date)
    return pl.from_arrow(located.to_pyarrow()).sort("account_id")


def flow_accounts(store, payments: pl.DataFrame) -> pl.DataFrame:
    """`account_register` of every account a payment flow (`evidence.payment_evidence`)
    pays from or to: what its picture names each account's region by."""
    return account_register(store, pl.concat([payments["debtor_account_id"],
                                              payments["creditor_account_id"]]))


def alert_regions(store, alerts: pl.DataFrame) -> dict[str, set[str]]:
    """The regions of each alert's accounts' owners."""
    if alerts.is_empty():
        return {}
    wanted = alerts.select("alert_id", pl.col("account_ids").str.split(";").alias("account_id")) \
        .explode("account_id")
    pairs = wanted.join(account_register(store, wanted["account_id"]).select(
        "account_id", "region"), on="account_id")
    found: dict[str, set[str]] = {a: set() for a in alerts["alert_id"]}
    for alert_id, region in pairs.select("alert_id", "region").iter_rows():
        if region:
            found[alert_id].add(region)
    for alert_id in alerts.filter(pl.col("account_ids").fill_null("") == "")["alert_id"]:
        found[alert_id] = set(JURISDICTIONS)
    return found


def alerts_in(store, jurisdiction: str) -> pl.DataFrame:
    alerts = store.alerts()
    regions = alert_regions(store, alerts)
    return alerts.filter(pl.col("alert_id").is_in(
        [a for a, r in regions.items() if jurisdiction in r]))
