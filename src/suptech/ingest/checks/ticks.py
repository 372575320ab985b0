"""E005 for orders: the price on the instrument's tick grid, the quantity in whole lots.

Needs the instrument's reference data, so it runs with the reference checks; an order
for an unknown instrument gets E009 there and nothing here.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, Stage, decimal_text, message, register
from suptech.model.findings import Code


@register
class TickAndLot(Check):
    codes = (Code.E005,)
    stage = Stage.REFERENCE

    def failures(self, batch):
        if batch.rt.name != "order_event" or not batch.has_column("isin"):
            return
        isins = batch.frame["isin"].unique().drop_nulls()
        sizes = batch.lookup.instrument_sizes(isins)  # isin, tick_size, lot_size
        batch.join_columns(sizes.rename({"tick_size": "ref__tick_size",
                                         "lot_size": "ref__lot_size"}), on="isin")
        tick, lot = pl.col("ref__tick_size"), pl.col("ref__lot_size")
        price, qty = pl.col("price"), pl.col("quantity")
        # Both are decimals of the store's one scale, so their integer representations
        # divide exactly as the values do, and several times faster.
        off_grid = (tick > 0) & (price.to_physical() % tick.to_physical() != 0)
        yield Failure(Code.E005, "price", batch.applies("price") & off_grid,
                      message("price {} is not on the tick grid of {}", decimal_text(price), decimal_text(tick)))
        yield Failure(Code.E005, "quantity", batch.applies("quantity") & (qty % lot != 0),
                      message("quantity {} is not a multiple of the lot size {}", qty, lot))
