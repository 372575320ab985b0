"""E010: rules across fields of one row."""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.model.findings import Code

c = pl.col
#: A risk rating's rank (model.reports_risk.RATINGS), to compare two.
RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}
ADMITTED = ("ADMITTED", "LIVE", "EXTENDED")


def _rank(name: str) -> pl.Expr:
    return c(name).replace_strict(RANK, default=None, return_dtype=pl.Int8)

#: report type -> (field blamed, failing condition, message)
RULES: dict[str, list[tuple[str, pl.Expr, str]]] = {
    "order_event": [
        ("leaves_quantity", c("leaves_quantity") > c("quantity"),
         "leaves_quantity is greater than quantity"),
        ("leaves_quantity", (c("event_type") == "FILL") & (c("leaves_quantity") != 0),
         "a FILL leaves nothing: leaves_quantity must be 0"),
        ("price", (c("order_type") == "MARKET") & c("price").is_not_null(),
         "price must be empty for MARKET orders"),
        *((f, ~c("event_type").is_in(["FILL", "PARTIAL_FILL"]) & c(f).is_not_null(),
           f"{f} belongs to a FILL or PARTIAL_FILL only")
          for f in ("trade_id", "fill_price", "fill_quantity")),
        ("fill_quantity", c("fill_quantity") > c("quantity"),
         "fill_quantity is greater than the order's quantity"),
        *((f, (c("event_type") == "ROUTE") & c(f).is_null(),
           f"a ROUTE names where the order went: {f} is missing")
          for f in ("routed_to", "routed_order_id")),
    ],
    "trade": [
        ("sell_order_id", c("buy_order_id") == c("sell_order_id"),
         "buy_order_id and sell_order_id are the same order"),
    ],
    "share_capital": [
        ("float_shares", c("float_shares") > c("total_shares"),
         "float_shares is greater than total_shares"),
    ],
    "exposure": [
        ("borrower_lei", c("borrower_lei") == c("lender_lei"),
         "borrower_lei is the lender itself"),
    ],
    "tech_assessment": [
        ("next_review", c("next_review") < c("assessed_on"), "next_review is before assessed_on"),
        ("residual_risk", _rank("residual_risk") > _rank("inherent_risk"),
         "residual_risk is higher than inherent_risk (what is left after the controls)"),
    ],
    "pilot": [
        *((f, c("status").is_in(ADMITTED) & c(f).is_null(),
           f"an admitted pilot states its limits: {f} is missing")
          for f in ("max_customers", "max_volume", "ends_on")),
        ("currency", c("max_volume").is_not_null() & c("currency").is_null(),
         "max_volume without its currency"),
    ],
    "product_sale": [
        ("confirmation_ref", c("confirmation_ref").is_not_null() & c("warning_ref").is_null(),
         "confirmation_ref confirms a warning never given (warning_ref is missing)"),
    ],
    "investor_assessment": [
        ("valid_until", c("valid_until") < c("assessed_on"), "valid_until is before assessed_on"),
        ("lowest_category", c("lowest_category") & (c("category") != "C1"),
         "lowest_category is a part of C1 only"),
    ],
    "complaint_event": [
        ("extended_to", (c("event") == "EXTENDED") & ~c("extended_to").is_in([30, 60]),
         "an extension is to 30 or 60 days"),
        ("notice_ref", (c("event") == "EXTENDED") & c("notice_ref").is_null(),
         "an extension is noticed to the complainant: notice_ref is missing"),
        ("decision", (c("event") == "DECIDED") & c("decision").is_null(),
         "a decision says what was decided: decision is missing"),
    ],
    "insider": [
        ("valid_to", c("valid_to") < c("valid_from"), "valid_to is before valid_from"),
    ],
}


@register
class CrossField(Check):
    codes = (Code.E010,)

    def failures(self, batch):
        for field, failing, text in RULES.get(batch.rt.name, []):
            yield Failure(Code.E010, field, batch.applies(field) & failing, message(text))
