"""E010: rules across fields of one row."""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, message, register
from suptech.model.findings import Code

c = pl.col

#: report type -> (field blamed, failing condition, message)
RULES: dict[str, list[tuple[str, pl.Expr, str]]] = {
    "order_event": [
        ("leaves_quantity", c("leaves_quantity") > c("quantity"),
         "leaves_quantity is greater than quantity"),
        ("leaves_quantity", (c("event_type") == "FILL") & (c("leaves_quantity") != 0),
         "a FILL leaves nothing: leaves_quantity must be 0"),
        ("price", (c("order_type") == "MARKET") & c("price").is_not_null(),
         "price must be empty for MARKET orders"),
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
