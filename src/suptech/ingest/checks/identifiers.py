"""E004: identifier checks, with the field's own libraries.

Check digits are computed by python-stdnum (LEI, ISIN, BIC), code lists come from
pycountry (currencies, countries, subdivisions) and iso10383 (market identifier codes).
Identifiers repeat heavily in a report file (a few thousand ISINs in ten million
orders), so each distinct value is checked once and the rows are matched against the
few values that failed, which keeps the check vectorised.
"""

from __future__ import annotations

from functools import cache
from typing import Callable

import polars as pl
import pycountry
from iso10383 import MIC
from stdnum import bic, lei
from stdnum import isin as stdnum_isin

from suptech.ingest.checks.base import Check, Failure, isin, message, register
from suptech.model.findings import Code
from suptech.model.reports import IDENTIFIER_KINDS, Kind

UUID4 = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
REPORT_ID = r"^[A-Za-z0-9._:-]{1,52}$"


@cache
def code_list(kind: Kind) -> frozenset[str]:
    if kind is Kind.MIC:
        return frozenset(m.value.mic for m in MIC)
    if kind is Kind.CURRENCY:
        return frozenset(c.alpha_3 for c in pycountry.currencies)
    if kind is Kind.COUNTRY:
        return frozenset(c.alpha_2 for c in pycountry.countries)
    if kind is Kind.REGION:
        return frozenset(s.code for s in pycountry.subdivisions)
    raise KeyError(kind)


# Upper-case only: the standards define these identifiers in capitals, and a
# lower-case LEI would not match the same entity's reports elsewhere.
def _strict(validate: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda v: v == v.strip().upper() and validate(v)


CHECK_DIGITS: dict[Kind, Callable[[str], bool]] = {
    Kind.LEI: _strict(lei.is_valid),
    Kind.ISIN: _strict(stdnum_isin.is_valid),
    Kind.AGENT: _strict(lambda v: bic.is_valid(v) or lei.is_valid(v)),
}

WHAT = {
    Kind.REPORT_ID: "report_id must be 1 to 52 characters of A-Z a-z 0-9 . _ : -",
    Kind.LEI: "not a valid LEI (ISO 17442: 20 characters, mod-97 check digits)",
    Kind.ISIN: "not a valid ISIN (ISO 6166 check digit)",
    Kind.MIC: "not a market identifier code in ISO 10383",
    Kind.AGENT: "neither a valid BIC (ISO 9362) nor a valid LEI",
    Kind.UUID4: "not a UUID version 4 (UETR)",
    Kind.CURRENCY: "not an ISO 4217 currency code",
    Kind.COUNTRY: "not an ISO 3166-1 alpha-2 country code",
    Kind.REGION: "not an ISO 3166-2 subdivision code (e.g. CN-SH)",
}


#: Values found valid, by kind: a check digit is a pure function of the value, and a
#: stream of small batches names the same instruments and firms again and again.
_VALID: dict[Kind, set[str]] = {}
_VALID_LIMIT = 1_000_000  # per kind; forgotten all at once past it


def _invalid_values(kind: Kind, distinct: list[str]) -> list[str]:
    """The distinct present values that fail a check-digit or code-list check: rows are
    matched against these few (usually none) rather than against every valid value."""
    if kind not in CHECK_DIGITS:
        codes = code_list(kind)
        return [v for v in distinct if v not in codes]
    ok, known = CHECK_DIGITS[kind], _VALID.setdefault(kind, set())
    fresh = [v for v in distinct if v not in known]
    valid = [v for v in fresh if ok(v)]
    if len(known) + len(valid) > _VALID_LIMIT:
        known.clear()
    known.update(valid)
    return [v for v in fresh if v not in known]


#: Identifiers checked by their pattern, row by row; the others value by value.
PATTERNS = {Kind.UUID4: UUID4, Kind.REPORT_ID: REPORT_ID}


def invalid(kind: Kind, col: pl.Expr, distinct: list[str]) -> pl.Expr | None:
    """True where a present value fails the identifier check of `kind`; None where no
    value of `distinct` (the column's present values, each once) can."""
    if kind in PATTERNS:
        return col.is_not_null() & ~col.str.contains(PATTERNS[kind])
    bad = _invalid_values(kind, distinct)
    return isin(col, bad) if bad else None


@register
class Identifiers(Check):
    codes = (Code.E004,)

    def failures(self, batch):
        fields = [f for f in batch.rt.all_fields
                  if f.kind in IDENTIFIER_KINDS and batch.has_column(f.name)]
        # Each column's values made unique, all in one pass: the columns side by side.
        by_value = [f.name for f in fields if f.kind not in PATTERNS]
        distinct = batch.frame.select(pl.col(by_value).drop_nulls().unique().implode()) \
            .row(0, named=True) if by_value and batch.frame.height else {}
        for f in fields:
            failing = invalid(f.kind, pl.col(f.name), distinct.get(f.name, []))
            if failing is not None:
                yield Failure(Code.E004, f.name, batch.applies(f.name) & failing,
                              message(f"{{}}: {WHAT[f.kind]}", pl.col(f.name)))
