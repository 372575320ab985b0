"""Simplified Chinese and English: the words of the dashboard, its messages and charts.

Words are written in English in the code, marked `_("...")` (or `N_("...")` where they
are translated later, as the typologies' names are); their Chinese is in a Babel
message catalogue, `locale/zh/LC_MESSAGES/messages.po`, compiled when first used.
`scripts/messages.sh` extracts the marked words into the catalogue; a test says that
every one of them has its Chinese.

A page's language is the user's own setting, else the language the user last chose on
this browser (the login page's), else the best the browser's Accept-Language asks for,
else English. The typologies are named as the CSRC (market abuse) and the PBoC
(suspicious payments) name them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE = Path(__file__).parent / "locale"
#: How words are marked for the catalogue: `_()` in templates; in Python, `w()` (a
#: `Words`), `N_()` and our errors' templates (`suptech.ops.access.Said`).
KEYWORDS = ("N_", "w", "Refused", "Conflict", "NotFound")
#: The languages, each named in itself.
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT = "en"


def N_(message: str) -> str:
    """Marks `message` for the catalogue; it is translated where it is shown."""
    return message


#: Each typology's name: the CSRC's and the PBoC's terms in the Chinese catalogue.
TYPOLOGIES = {
    "CROSS_MARKET_MANIPULATION": N_("Cross-market manipulation"),
    "FRONT_RUNNING": N_("Front running"),
    "INSIDER_DEALING": N_("Insider dealing"),
    "LAYERING": N_("Layering"),
    "MARKING_THE_CLOSE": N_("Marking the close"),
    "PUMP_AND_DUMP": N_("Pump and dump"),
    "RAMPING": N_("Ramping"),
    "SPOOFING": N_("Spoofing"),
    "WASH_TRADE": N_("Wash trading"),
    "BIPARTITE": N_("Many-to-many transfers"),
    "CYCLE": N_("Circular transfers"),
    "DORMANT_ACTIVATION": N_("Dormant account suddenly active"),
    "FAN_IN": N_("Funds gathered from many accounts"),
    "FAN_OUT": N_("Funds scattered to many accounts"),
    "GATHER_SCATTER": N_("Gathered in, then scattered out"),
    "HIGH_RISK_CORRIDOR": N_("Transfers with high-risk jurisdictions"),
    "RANDOM": N_("Funds passed through a chain of accounts"),
    "RAPID_MOVEMENT": N_("Funds in and straight out"),
    "SCATTER_GATHER": N_("Scattered out, then gathered in"),
    "STACK": N_("Layers of accounts"),
    "STRUCTURING": N_("Structuring below the reporting threshold"),
    "ABNORMAL_FLUCTUATION": N_("Abnormal fluctuation"),
    "SEVERE_ABNORMAL_FLUCTUATION": N_("Severe abnormal fluctuation"),
    "DISCLOSURE_TRIGGER": N_("Daily disclosure list trigger"),
    "CONSECUTIVE_LIMIT_HITS": N_("Consecutive price-limit closes"),
    "ORDER_TO_TRADE_RATIO": N_("Excessive order-to-trade ratio"),
    "CANCELLATION_RATIO": N_("Excessive cancellation ratio"),
    "HIGH_FREQUENCY_TRADING": N_("High-frequency trading"),
    "TRADING_CONCENTRATION": N_("Concentrated trading"),
    "ILLIQUIDITY": N_("Illiquidity"),
    "EXPOSURE_CONTAGION": N_("Exposure contagion (DebtRank)"),
    "TECH_COVER_SHORTFALL": N_("New technology: cover short of exposure"),
    "TECH_REVIEW_OVERDUE": N_("New technology: reassessment overdue"),
    "TECH_INCIDENTS": N_("New technology: serious incidents"),
    "PILOT_LIMIT_BREACH": N_("Innovation pilot past its limits"),
    "UNSUITABLE_SALE": N_("Unsuitable sale"),
    "MISSING_RECORDING": N_("High-risk sale not recorded"),
    "REASSESSMENT_GAMING": N_("Risk tolerance raised just before a sale"),
    "ELDERLY_HIGH_RISK_SALE": N_("High-risk product sold to an investor of 70 or more"),
    "ABOVE_LEVEL_PROMOTION": N_("Products promoted above investors' levels"),
    "COMPLAINT_OVERDUE": N_("Complaint undecided past its deadline"),
    "MIS_SELLING_RATE": N_("Institution mis-selling far more than its peers"),
    "STALE_ASSESSMENT": N_("Sale on an assessment past its review"),
    "RISK_PROFILE_MISMATCH": N_("Investor acting far from their risk category"),
    "COMPLAINT_RATE": N_("Institution drawing far more complaints than its peers"),
}

#: Codes shown as words (the codes stay in the data and the API): alerts' statuses,
#: cases' states, roles, kinds of timeline entries, report types, evidence tables.
#: The regions, by their ISO 3166-2 codes (the jurisdictions).
REGIONS = {"CN-SH": N_("Shanghai"), "CN-JS": N_("Jiangsu"), "CN-ZJ": N_("Zhejiang"),
           "CN-AH": N_("Anhui")}

CODES = [N_("OPEN"), N_("ACKNOWLEDGED"), N_("EXTENDED"), N_("DECIDED"), N_("REVIEWED"),
         N_("WITHDRAWN"),  # a complaint's states and steps
         N_("sales"), N_("assessments"), N_("complaints"), N_("steps"),  # evidence tables
         N_("new"), N_("assigned"), N_("dismissed"), N_("escalated"), N_("open"),
         N_("investigating"), N_("closed-no-action"), N_("closed-referred"),
         N_("analyst"), N_("supervisor"), N_("submitter"), N_("admin"),
         N_("comment"), N_("state"), N_("alerts"),
         N_("order_event"), N_("trade"), N_("payment"),
         N_("orders"), N_("trades"), N_("announcements"), N_("insiders"), N_("payments"),
         N_("accounts"),
         # a sale's suitability (`investor.suitability.REASONS`, and an allowed exception),
         # an investor's age band, a profile's mismatch
         N_("PROHIBITED_LOWEST"), N_("NO_ASSESSMENT"), N_("UNSOLICITED"), N_("NO_WARNING"),
         N_("NO_CONFIRMATION"), N_("ALLOWED_EXCEPTION"), N_("UNDER_60"), N_("60_TO_69"),
         N_("70_PLUS")]


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of `language`, compiled from its .po file in memory."""
    po = LOCALE / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


@dataclass(frozen=True)
class Words:
    """The words of one language: call it on an English message for its translation."""
    language: str

    def __call__(self, message: str, **values) -> str:
        text = translations(self.language).ugettext(message)
        return text.format(**values) if values else text

    def typology(self, code: str | None) -> str:
        return self(TYPOLOGIES[code]) if code in TYPOLOGIES else (code or "")

    def region(self, code: str | None) -> str:
        return self(REGIONS[code]) if code in REGIONS else (code or "")

    def code(self, code: str | None) -> str:
        return self(code) if code in CODES else (code or "")


def words(language: str | None) -> Words:
    return Words(language if language in LANGUAGES else DEFAULT)


def negotiate(accept_language: str | None) -> str | None:
    """The language the browser's Accept-Language header asks for most, of ours."""
    asked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > 0:
            asked.append((-weight, i, tag))
    for *_, tag in sorted(asked):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return None
