"""The report types the risk monitoring reads (issue 26): index levels, share capital,
institutions' capital and their interbank exposures; the new-technology risk register;
the innovation pilots."""

from __future__ import annotations

from suptech.model.contract import Field, Kind, Reference, ReportType, _enum

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


# The new-technology risk register (the plan's item 17): an institution files each
# application of a new technology to a business, assesses it, reports its incidents and
# what it holds against its losses. An application's state at T is its latest report.
TECHNOLOGIES = ("AI_ML", "BIG_DATA", "BLOCKCHAIN", "CLOUD", "BIOMETRICS", "OPEN_API", "IOT",
                "RPA", "PRIVACY_COMPUTING", "OTHER")
BUSINESSES = ("PAYMENTS", "LENDING", "DEPOSITS", "WEALTH", "INSURANCE", "SECURITIES",
              "RISK_CONTROL", "CUSTOMER_SERVICE", "OTHER")
RATINGS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")

TECH_APPLICATION = ReportType(
    "tech_application",
    (
        Field("application_id", Kind.TEXT),
        Field("institution_lei", Kind.LEI),
        _enum("technology", *TECHNOLOGIES),
        _enum("business", *BUSINESSES),
        Field("description", Kind.TEXT),
        _enum("customer_type", "RETAIL", "SME", "CORPORATE", "INSTITUTIONAL", "MIXED"),
        Field("customers", Kind.INTEGER, non_negative=True),
        Field("volume", Kind.DECIMAL, non_negative=True),  # business a year
        # The largest loss it could cause, as the institution estimates it: what its
        # provisions and insurance are measured against.
        Field("exposure", Kind.DECIMAL, non_negative=True),
        Field("currency", Kind.CURRENCY),
        Field("live_from", Kind.DATE),
    ),
    rank=1,
)

TECH_ASSESSMENT = ReportType(
    "tech_assessment",
    (
        Field("application_id", Kind.TEXT),
        Field("assessed_on", Kind.DATE),
        Field("next_review", Kind.DATE),
        _enum("inherent_risk", *RATINGS),
        _enum("residual_risk", *RATINGS),
        _enum("operational", *RATINGS),
        _enum("cyber", *RATINGS),
        _enum("data_protection", *RATINGS),
        _enum("model", *RATINGS),
        _enum("third_party", *RATINGS),
        _enum("conduct", *RATINGS),
    ),
    references=(Reference("application_id", "tech_application", "application_id"),),
    rank=2,
)

TECH_INCIDENT = ReportType(
    "tech_incident",
    (
        Field("incident_id", Kind.TEXT),
        Field("application_id", Kind.TEXT),
        _enum("severity", *RATINGS),
        _enum("category", "OUTAGE", "DATA_BREACH", "FRAUD", "MODEL_ERROR", "THIRD_PARTY",
              "MIS_SELLING", "OTHER"),
        Field("loss", Kind.DECIMAL, non_negative=True),
        Field("currency", Kind.CURRENCY),
        Field("customers_affected", Kind.INTEGER, non_negative=True),
        Field("description", Kind.TEXT),
        Field("pilot_id", Kind.TEXT, required=False),  # an incident of an innovation pilot
    ),
    references=(Reference("application_id", "tech_application", "application_id"),
                Reference("pilot_id", "pilot", "pilot_id")),
    rank=3,
)

# What an application's losses are covered by, of one kind, from `ts_event` on until
# the next report of that kind (0: none now) or `valid_to` (an insurance's end).
RISK_COVER = ReportType(
    "risk_cover",
    (
        Field("application_id", Kind.TEXT),
        _enum("cover_type", "PROVISION", "INSURANCE", "GUARANTEE"),
        Field("amount", Kind.DECIMAL, non_negative=True),
        Field("currency", Kind.CURRENCY),
        Field("valid_to", Kind.DATE, required=False),
    ),
    references=(Reference("application_id", "tech_application", "application_id"),),
    rank=2,
)

# An innovation pilot (the plan's items 15 and 20) as the supervisor decides it: each
# step of its life a report, the latest in force; admitted with its limits.
PILOT_STATUSES = ("APPLIED", "ADMITTED", "LIVE", "EXTENDED", "EXITED", "REJECTED")
PILOT = ReportType(
    "pilot",
    (
        Field("pilot_id", Kind.TEXT),
        Field("institution_lei", Kind.LEI),
        Field("name", Kind.TEXT),
        _enum("technology", *TECHNOLOGIES),
        _enum("business", *BUSINESSES),
        _enum("status", *PILOT_STATUSES),
        Field("max_customers", Kind.INTEGER, required=False, positive=True),
        Field("max_volume", Kind.DECIMAL, required=False, positive=True),
        Field("currency", Kind.CURRENCY, required=False),
        Field("ends_on", Kind.DATE, required=False),
        Field("conditions", Kind.TEXT, required=False),
    ),
    rank=1,
)

# What a pilot's institution reports of it, as of `ts_event`: customers served and
# business done since it went live.
PILOT_ACTIVITY = ReportType(
    "pilot_activity",
    (
        Field("pilot_id", Kind.TEXT),
        Field("customers", Kind.INTEGER, non_negative=True),
        Field("volume", Kind.DECIMAL, non_negative=True),
        Field("currency", Kind.CURRENCY),
    ),
    references=(Reference("pilot_id", "pilot", "pilot_id"),),
    rank=2,
)
