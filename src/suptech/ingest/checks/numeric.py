"""E005: numeric rules that need nothing but the row itself.

Values must be positive (or not negative) where the specification says so, may carry
at most nine decimal places (the store's scale), and an amount may carry no more
decimals than its currency's minor unit (ISO 4217 exponent, from the iso4217 package).
Tick and lot rules need the instrument and live in `ticks`.
"""

from __future__ import annotations

from functools import cache

import iso4217
import polars as pl

from suptech.ingest.checks.base import Check, Failure, decimal_text, message, register
from suptech.ingest.parse import raw_name
from suptech.model.findings import Code
from suptech.model.reports import DECIMAL_SCALE, Kind

#: Report types whose `amount` is in the row's `currency`.
AMOUNT_IN_CURRENCY = ("payment", "product_sale")


@cache
def minor_units() -> dict[str, int]:
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


def _too_many_decimals(raw: pl.Expr) -> pl.Expr:
    # Rounding to the store's scale would change the value silently: refuse instead.
    fraction = raw.str.extract(r"\.(\d*?)0*$", 1)
    return fraction.str.len_chars() > DECIMAL_SCALE


@register
class NumericRules(Check):
    codes = (Code.E005,)

    def failures(self, batch):
        for f in batch.rt.all_fields:
            if not batch.has_column(f.name):
                continue
            col, scope = pl.col(f.name), batch.applies(f.name)
            if f.positive:
                yield Failure(Code.E005, f.name, scope & (col <= 0),
                              message(f"{f.name} must be greater than 0, got {{}}", decimal_text(col)))
            if f.non_negative:
                yield Failure(Code.E005, f.name, scope & (col < 0),
                              message(f"{f.name} must not be negative, got {{}}", decimal_text(col)))
            if f.kind is Kind.DECIMAL and batch.raw_is_text(f.name):
                raw = pl.col(raw_name(f.name))
                yield Failure(Code.E005, f.name, scope & col.is_not_null() & _too_many_decimals(raw),
                              message(f"{{}} has more than {DECIMAL_SCALE} decimal places", raw))
        if batch.rt.name in AMOUNT_IN_CURRENCY and batch.has_column("amount"):
            exponent = pl.col("currency").replace_strict(minor_units(), default=None,
                                                         return_dtype=pl.Int64)
            unit = pl.lit(10, dtype=pl.Int64).pow(exponent)
            off = (pl.col("amount") * unit) % 1 != 0
            yield Failure(Code.E005, "amount", batch.applies("amount") & off,
                          message("amount {} has more decimals than {} allows ({})",
                                  decimal_text(pl.col("amount")), pl.col("currency"), exponent))
