"""The report types of the reporting specification (spec/REPORTING.md) as plain data.

Everything that ingest validates and the store persists is derived from these
declarations: adding a field here adds its parsing, its checks and its column in the
store. No I/O happens in this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a field holds; decides how it is parsed, checked and stored."""

    TEXT = "text"
    REPORT_ID = "report_id"  # [A-Za-z0-9._:-]{1,52}
    ENUM = "enum"
    LEI = "lei"
    ISIN = "isin"
    MIC = "mic"
    AGENT = "agent"  # BIC (ISO 9362) or LEI
    UUID4 = "uuid4"
    CURRENCY = "currency"
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    REGION = "region"  # ISO 3166-2 subdivision
    TIMESTAMP = "timestamp"  # stored as int64 nanoseconds since epoch, UTC
    DATE = "date"
    DECIMAL = "decimal"  # stored as decimal(38, 9): money and prices, never float
    INTEGER = "integer"
    BOOLEAN = "boolean"


#: Identifier kinds: a failed check on one of them is E004.
IDENTIFIER_KINDS = frozenset(
    {Kind.REPORT_ID, Kind.LEI, Kind.ISIN, Kind.MIC, Kind.AGENT, Kind.UUID4,
     Kind.CURRENCY, Kind.COUNTRY, Kind.REGION}
)

#: Decimal values are stored with this many fractional digits.
DECIMAL_SCALE = 9
DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = True
    values: tuple[str, ...] = ()  # allowed set, for Kind.ENUM
    positive: bool = False  # numeric rule: > 0 (E005)
    non_negative: bool = False  # numeric rule: >= 0 (E005)


@dataclass(frozen=True)
class Reference:
    """A field whose value must name an accepted record of another type (E009)."""

    field: str
    target: str  # report type
    target_field: str


@dataclass(frozen=True)
class ReportType:
    name: str
    fields: tuple[Field, ...]  # the body, after the envelope
    references: tuple[Reference, ...] = ()
    #: Files are loaded in ascending rank so that reference data lands before the
    #: events that use it, whatever order the files were named in.
    rank: int = 2

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return ENVELOPE + self.fields

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.all_fields)

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _enum(name: str, *values: str, required: bool = True) -> Field:
    return Field(name, Kind.ENUM, required=required, values=values)


ACTIONS = ("NEW", "CORR", "CANC")

ENVELOPE: tuple[Field, ...] = (
    Field("report_id", Kind.REPORT_ID),
    _enum("action", *ACTIONS),
    Field("submitter", Kind.LEI),
    Field("ts_event", Kind.TIMESTAMP),
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
        _enum("event_type", "NEW", "MODIFY", "CANCEL", "FILL", "PARTIAL_FILL", "REJECT", "EXPIRE"),
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
    ),
    references=(
        Reference("party_id", "party", "party_id"),
        Reference("isin", "instrument", "isin"),
    ),
    rank=2,
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
    ),
    references=(
        Reference("party_id", "party", "party_id"),
        Reference("isin", "instrument", "isin"),
    ),
    rank=2,
)

# An index's level as its provider publishes it: the day's last is its close, which a
# share's daily deviation is measured against (the exchanges' fluctuation rules).
INDEX_LEVEL = ReportType(
    "index_level",
    (
        Field("index_id", Kind.TEXT),
        Field("level", Kind.DECIMAL, positive=True),
    ),
    rank=2,
)

# A share's capital from `ts_event` on, until the next report: its free float is what
# turnover is measured against.
SHARE_CAPITAL = ReportType(
    "share_capital",
    (
        Field("isin", Kind.ISIN),
        Field("total_shares", Kind.INTEGER, positive=True),
        Field("float_shares", Kind.INTEGER, positive=True),
    ),
    references=(Reference("isin", "instrument", "isin"),),
    rank=1,
)

# An institution's capital (tier 1) from `ts_event` on, until its next report: what its
# losses on exposures are measured against (DebtRank's relative equity loss).
INSTITUTION_CAPITAL = ReportType(
    "institution_capital",
    (
        Field("institution_lei", Kind.LEI),
        Field("tier1_capital", Kind.DECIMAL, positive=True),
        Field("currency", Kind.CURRENCY),
    ),
    rank=1,
)

# What a lender has outstanding on a borrower, of one kind, from `ts_event` on until the
# next report on the same lender, borrower and kind (0: none left). Interbank exposures
# as large-exposure reporting collects them.
EXPOSURE = ReportType(
    "exposure",
    (
        Field("lender_lei", Kind.LEI),
        Field("borrower_lei", Kind.LEI),
        _enum("exposure_type", "LOAN", "DEPOSIT", "REPO", "SECURITIES", "DERIVATIVE",
              "OTHER"),
        Field("amount", Kind.DECIMAL, non_negative=True),
        Field("currency", Kind.CURRENCY),
    ),
    rank=2,
)

REPORT_TYPES: dict[str, ReportType] = {
    t.name: t
    for t in (INSTRUMENT, PARTY, ACCOUNT, ORDER_EVENT, TRADE, PAYMENT, ANNOUNCEMENT,
              INSIDER, PRODUCT_SALE, COMPLAINT, INDEX_LEVEL, SHARE_CAPITAL,
              INSTITUTION_CAPITAL, EXPOSURE)
}


def report_type(name: str) -> ReportType:
    try:
        return REPORT_TYPES[name]
    except KeyError:
        known = ", ".join(REPORT_TYPES)
        raise ValueError(f"unknown report type {name!r} (known: {known})") from None
