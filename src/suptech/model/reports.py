"""The report types of the reporting specification (spec/REPORTING.md) as plain data.

Everything that ingest validates and the store persists is derived from these
declarations: adding a field here adds its parsing, its checks and its column in the
store. No I/O happens in this module.
"""

from __future__ import annotations

from suptech.model.contract import (  # noqa: F401  (the contract's names, as they were)
    ACTIONS,
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    ENVELOPE,
    IDENTIFIER_KINDS,
    Field,
    Kind,
    Reference,
    ReportType,
    _enum,
)
from suptech.model.reports_risk import (
    EXPOSURE,
    INDEX_LEVEL,
    INSTITUTION_CAPITAL,
    PILOT,
    PILOT_ACTIVITY,
    RISK_COVER,
    SHARE_CAPITAL,
    TECH_APPLICATION,
    TECH_ASSESSMENT,
    TECH_INCIDENT,
)

INSTRUMENT = ReportType(
    "instrument",
    (
        Field("isin", Kind.ISIN),
        Field("mic", Kind.MIC),
        Field("name", Kind.TEXT),
        _enum("asset_class", "EQUITY", "BOND", "FUND", "FUTURE", "OPTION", "FX", "BILL"),
        Field("currency", Kind.CURRENCY),
        Field("tick_size", Kind.DECIMAL, positive=True),
        Field("lot_size", Kind.INTEGER, positive=True),
        Field("board", Kind.TEXT),
        Field("underlying_isin", Kind.ISIN, required=False),
        Field("price_limit_pct", Kind.DECIMAL, required=False, positive=True),
        _enum("product_risk_level", "R1", "R2", "R3", "R4", "R5", required=False),
    ),
    rank=0,
)

PARTY = ReportType(
    "party",
    (
        Field("party_id", Kind.TEXT),
        _enum("party_type", "PERSON", "ENTITY"),
        Field("lei", Kind.LEI, required=False),  # required for ENTITY: a cross-field rule
        Field("region", Kind.REGION),
        _enum("investor_class", "C1", "C2", "C3", "C4", "C5", "PROFESSIONAL", required=False),
        Field("group_id", Kind.TEXT, required=False),
        Field("name", Kind.TEXT, required=False),
    ),
    rank=0,
)

ACCOUNT = ReportType(
    "account",
    (
        Field("account_id", Kind.TEXT),
        Field("owner_party_id", Kind.TEXT),
        Field("member_lei", Kind.LEI),
        _enum("account_type", "CASH", "MARGIN", "PROPRIETARY", "PAYMENT"),
        Field("opened_date", Kind.DATE),
        # The day of the account's last customer-initiated transaction as its bank knows
        # it (banks track idle accounts): an account's history from before the store.
        Field("last_active_date", Kind.DATE, required=False),
    ),
    references=(Reference("owner_party_id", "party", "party_id"),),
    rank=1,
)

ORDER_EVENT = ReportType(
    "order_event",
    (
        Field("order_id", Kind.TEXT),
        _enum("event_type", "NEW", "MODIFY", "CANCEL", "FILL", "PARTIAL_FILL", "REJECT", "EXPIRE",
              "ROUTE"),
        Field("isin", Kind.ISIN),
        Field("mic", Kind.MIC),
        Field("account_id", Kind.TEXT),
        Field("member_lei", Kind.LEI),
        _enum("side", "BUY", "SELL"),
        _enum("order_type", "LIMIT", "MARKET"),
        Field("price", Kind.DECIMAL, required=False, positive=True),  # required for LIMIT
        Field("quantity", Kind.INTEGER, positive=True),
        Field("leaves_quantity", Kind.INTEGER, non_negative=True),
        _enum("time_in_force", "DAY", "IOC", "FOK", "GTC"),
        # What reconciliation pairs and follows (issue 28, `suptech.reconcile`): on a FILL
        # or PARTIAL_FILL, the venue's trade and the execution's own price and quantity;
        # on a ROUTE, where the order was sent (a member's LEI or a venue's MIC) and the
        # id it has there.
        Field("trade_id", Kind.TEXT, required=False),
        Field("fill_price", Kind.DECIMAL, required=False, positive=True),
        Field("fill_quantity", Kind.INTEGER, required=False, positive=True),
        Field("routed_to", Kind.TEXT, required=False),
        Field("routed_order_id", Kind.TEXT, required=False),
    ),
    references=(
        Reference("isin", "instrument", "isin"),
        Reference("account_id", "account", "account_id"),
    ),
    rank=2,
)

TRADE = ReportType(
    "trade",
    (
        Field("trade_id", Kind.TEXT),
        Field("isin", Kind.ISIN),
        Field("mic", Kind.MIC),
        Field("price", Kind.DECIMAL, positive=True),
        Field("quantity", Kind.INTEGER, positive=True),
        Field("buy_account_id", Kind.TEXT),
        Field("sell_account_id", Kind.TEXT),
        Field("buy_order_id", Kind.TEXT),
        Field("sell_order_id", Kind.TEXT),
        _enum("aggressor_side", "BUY", "SELL"),
    ),
    references=(
        Reference("isin", "instrument", "isin"),
        Reference("buy_account_id", "account", "account_id"),
        Reference("sell_account_id", "account", "account_id"),
        Reference("buy_order_id", "order_event", "order_id"),
        Reference("sell_order_id", "order_event", "order_id"),
    ),
    rank=3,
)

# Payments are not checked against the account register: most counterparties hold
# their accounts at institutions abroad or outside the supervisor's perimeter.
PAYMENT = ReportType(
    "payment",
    (
        Field("payment_id", Kind.UUID4),
        Field("debtor_account_id", Kind.TEXT),
        Field("creditor_account_id", Kind.TEXT),
        Field("debtor_agent", Kind.AGENT),
        Field("creditor_agent", Kind.AGENT),
        Field("amount", Kind.DECIMAL, positive=True),
        Field("currency", Kind.CURRENCY),
        Field("channel", Kind.TEXT),
        Field("debtor_country", Kind.COUNTRY),
        Field("creditor_country", Kind.COUNTRY),
        Field("purpose", Kind.TEXT, required=False),
    ),
    rank=2,
)

ANNOUNCEMENT = ReportType(
    "announcement",
    (
        Field("announcement_id", Kind.TEXT),
        Field("isin", Kind.ISIN),
        _enum("category", "EARNINGS", "M_AND_A", "DIVIDEND", "GUIDANCE", "OTHER"),
        Field("price_sensitive", Kind.BOOLEAN),
    ),
    references=(Reference("isin", "instrument", "isin"),),
    rank=2,
)

INSIDER = ReportType(
    "insider",
    (
        Field("isin", Kind.ISIN),
        Field("party_id", Kind.TEXT),
        Field("valid_from", Kind.DATE),
        Field("valid_to", Kind.DATE, required=False),  # open-ended while still an insider
    ),
    references=(
        Reference("isin", "instrument", "isin"),
        Reference("party_id", "party", "party_id"),
    ),
    rank=2,
)

PRODUCT_SALE = ReportType(
    "product_sale",
    (
        Field("sale_id", Kind.TEXT),
        Field("party_id", Kind.TEXT),
        Field("isin", Kind.ISIN),
        Field("member_lei", Kind.LEI),
        Field("amount", Kind.DECIMAL, positive=True),
        Field("currency", Kind.CURRENCY),
        # What suitability supervision reads (issue 27): the product's risk level at
        # the sale (else the instrument's), whether the investor asked for it, the
        # special risk warning given and the investor's confirmation of it, the
        # recording of the sale, who sold it, how and in which campaign.
        _enum("product_risk_level", "R1", "R2", "R3", "R4", "R5", required=False),
        Field("investor_initiated", Kind.BOOLEAN, required=False),
        Field("warning_ref", Kind.TEXT, required=False),
        Field("confirmation_ref", Kind.TEXT, required=False),
        Field("recording_id", Kind.TEXT, required=False),
        Field("salesperson_id", Kind.TEXT, required=False),
        _enum("channel", "BRANCH", "ONLINE", "PHONE", "MOBILE_APP", "THIRD_PARTY",
              required=False),
        Field("campaign_id", Kind.TEXT, required=False),
    ),
    references=(
        Reference("party_id", "party", "party_id"),
        Reference("isin", "instrument", "isin"),
    ),
    rank=2,
)

# An investor's suitability assessment (the CSRC's Measures for the Suitability
# Management of Securities and Futures Investors): a professional investor, or an
# ordinary one of risk tolerance C1-C5, `lowest_category` marking the lowest (C1 only);
# in force from `assessed_on` until the next assessment or `valid_until`.
INVESTOR_ASSESSMENT = ReportType(
    "investor_assessment",
    (
        Field("party_id", Kind.TEXT),
        _enum("category", "C1", "C2", "C3", "C4", "C5", "PROFESSIONAL"),
        Field("lowest_category", Kind.BOOLEAN),
        Field("assessed_on", Kind.DATE),
        Field("valid_until", Kind.DATE, required=False),
        _enum("age_band", "UNDER_60", "60_TO_69", "70_PLUS", required=False),
    ),
    references=(Reference("party_id", "party", "party_id"),),
    rank=1,
)

COMPLAINT = ReportType(
    "complaint",
    (
        Field("complaint_id", Kind.TEXT),
        Field("party_id", Kind.TEXT),
        Field("member_lei", Kind.LEI),
        Field("isin", Kind.ISIN, required=False),
        Field("category", Kind.TEXT),
        Field("description", Kind.TEXT),
        Field("pilot_id", Kind.TEXT, required=False),  # a complaint of an innovation pilot
    ),
    references=(
        Reference("party_id", "party", "party_id"),
        Reference("isin", "instrument", "isin"),
        Reference("pilot_id", "pilot", "pilot_id"),
    ),
    rank=2,
)

# A step of a complaint's handling, as its institution reports it (the clock:
# `suptech.investor.complaints`).
COMPLAINT_EVENT = ReportType(
    "complaint_event",
    (
        Field("complaint_id", Kind.TEXT),
        _enum("event", "ACKNOWLEDGED", "EXTENDED", "DECIDED", "REVIEWED", "WITHDRAWN"),
        Field("extended_to", Kind.INTEGER, required=False, positive=True),  # days
        Field("notice_ref", Kind.TEXT, required=False),  # the notice of an extension
        _enum("decision", "UPHELD", "PARTLY_UPHELD", "REJECTED", required=False),
        Field("sale_id", Kind.TEXT, required=False),  # the sale complained of
        Field("alert_id", Kind.TEXT, required=False),  # an alert it led to or came from
    ),
    references=(Reference("complaint_id", "complaint", "complaint_id"),),
    rank=3,
)

REPORT_TYPES: dict[str, ReportType] = {
    t.name: t
    for t in (INSTRUMENT, PARTY, ACCOUNT, ORDER_EVENT, TRADE, PAYMENT, ANNOUNCEMENT,
              INSIDER, PRODUCT_SALE, INVESTOR_ASSESSMENT, COMPLAINT, COMPLAINT_EVENT, INDEX_LEVEL, SHARE_CAPITAL,
              INSTITUTION_CAPITAL, EXPOSURE, TECH_APPLICATION, TECH_ASSESSMENT,
              TECH_INCIDENT, RISK_COVER, PILOT, PILOT_ACTIVITY)
}


def report_type(name: str) -> ReportType:
    try:
        return REPORT_TYPES[name]
    except KeyError:
        known = ", ".join(REPORT_TYPES)
        raise ValueError(f"unknown report type {name!r} (known: {known})") from None
