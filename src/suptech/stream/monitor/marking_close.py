"""MARKING_THE_CLOSE, streaming: an account that takes liquidity repeatedly on one side in
the last minutes of continuous trading, then sends an order on that side into the
closing call (see `suptech.detect.market.marking_close`).

Per account, share, side and day: the orders that took liquidity late, and whether a
closing-call order was sent; raised when both hold, whichever arrived last.
"""

from __future__ import annotations

import polars as pl

from suptech.detect.base import MINUTE
from suptech.model.calendar import DAY, DEFAULT
from suptech.detect.market.marking_close import MarkingTheClose
from suptech.stream.monitor.base import Case, StreamDetector, register


@register
class StreamMarkingTheClose(StreamDetector):
    batch = MarkingTheClose

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.late: dict[tuple, dict[str, int]] = {}  # key -> order -> first late execution
        self.call: dict[tuple, tuple[int, str]] = {}  # key -> latest closing-call order
        self.seen: dict[int, set[str]] = {}  # day -> orders that took liquidity already

    def trades(self, rows, batch):
        start = DEFAULT.close_call_start - int(self.params.minutes * MINUTE)
        buy = pl.col("aggressor_side") == "BUY"
        ag = rows.filter(pl.col("aggressor_side").is_in(["BUY", "SELL"])).select(
            "ts_event", "isin", "day", "aggressor_side",
            account=pl.when(buy).then("buy_account_id").otherwise("sell_account_id"),
            order=pl.when(buy).then("buy_order_id").otherwise("sell_order_id"),
            tod="tod")
        # Orders that took liquidity before the window: in bulk, they are only remembered.
        for (day,), early in ag.filter(pl.col("tod") < start).group_by("day"):
            self.seen.setdefault(day, set()).update(early["order"].to_list())
        late = ag.filter((pl.col("tod") >= start) & (pl.col("tod") < DEFAULT.close_call_start)
                         & pl.col("isin").is_in(list(self.ref.equity)))
        cases = []
        for ts, isin, day, aggressor, account, order, _ in late.iter_rows():
            seen = self.seen.setdefault(day, set())
            if order in seen:
                continue  # an order's first execution decides whether it was late
            seen.add(order)
            key = (account, isin, aggressor, day)
            self.late.setdefault(key, {})[order] = ts
            cases += self._case(key)
        return cases

    def orders(self, rows, batch):
        call = rows.filter((pl.col("event_type") == "NEW")
                           & (pl.col("tod") >= DEFAULT.close_call_start))
        cases = []
        for ts, order, account, isin, side, day in call.select(
                "ts_event", "order_id", "account_id", "isin", "side", "day").iter_rows():
            key = (account, isin, side, day)
            self.call[key] = max(self.call.get(key, (ts, order)), (ts, order))
            cases += self._case(key)
        return cases

    def _case(self, key) -> list[Case]:
        late, call = self.late.get(key, {}), self.call.get(key)
        if len(late) < self.params.min_aggressive or call is None:
            return []
        account, isin, _, day = key
        n = len(late)
        return [Case((account,), isin, day, min(late.values()), call[0],
                     min(0.5 + 0.1 * n, 1.0), (*sorted(late), call[1]))]

    def tick(self, watermark, batch):
        # A new day: the day before last can no longer complete a case (yesterday's
        # trades may still be arriving behind today's first orders).
        keep = (watermark + DEFAULT.offset_ns) // DAY - 1
        if min(self.seen, default=keep) < keep:
            self.late = {k: v for k, v in self.late.items() if k[3] >= keep}
            self.call = {k: v for k, v in self.call.items() if k[3] >= keep}
            self.seen = {d: v for d, v in self.seen.items() if d >= keep}
        return []
