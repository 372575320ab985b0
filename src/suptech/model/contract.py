"""The shape of the reporting contract: what a field holds, a reference, a report type,
and the envelope every report carries (spec/REPORTING.md). The types themselves are in
`suptech.model.reports`."""

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
