"""WASH_TRADE, streaming: trades between related accounts whose orders were entered
seconds apart (see `suptech.detect.market.wash_trade`).

Keeps the day's order entry times (a frame per batch, searched only for the rare
trades between related accounts) and, per control group, instrument and day, the
qualifying trades; raised when there are `min_trades` of them.
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from suptech.detect.base import SECOND
from suptech.detect.market.wash_trade import WashTrade
from suptech.stream.monitor.base import Case, StreamDetector, register


@register
class StreamWashTrade(StreamDetector):
    batch = WashTrade

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered: dict[int, list[pl.DataFrame]] = defaultdict(list)  # day -> order_id, ts_new
        self.found: dict[tuple, dict] = {}  # (group, isin, day) -> trades, accounts, window

    def orders(self, rows, batch):
        new = rows.filter(pl.col("event_type") == "NEW").select("order_id", "ts_event", "day")
        for (day,), part in new.group_by("day"):
            # Searched as a few large frames, not thousands of small: each at least
            # twice the next, so a batch's orders are merged with the small ones only
            # (merging into the day's whole frame every few batches stalled the
            # detectors for a tenth of a second by the afternoon).
            frames = self.entered[day]
            part = part.select("order_id", ts_new="ts_event")
            while frames and frames[-1].height <= 2 * part.height:
                part = pl.concat([frames.pop(), part]).rechunk()
            frames.append(part)
        for day in sorted(self.entered)[:-2]:  # the day before is kept for late trades
            del self.entered[day]
        return []

    def trades(self, rows, batch):
        groups = self.ref.groups
        related = rows.join(groups.rename({"account_id": "buy_account_id", "group_key": "g"}),
                            on="buy_account_id").join(
            groups.rename({"account_id": "sell_account_id", "group_key": "g2"}),
            on="sell_account_id").filter(pl.col("g") == pl.col("g2"))
        if related.is_empty():
            return []
        wanted = pl.concat([related["buy_order_id"], related["sell_order_id"]]).unique()
        known = pl.concat([f.filter(pl.col("order_id").is_in(wanted.implode()))
                           for frames in self.entered.values() for f in frames]
                          or [pl.DataFrame(schema={"order_id": pl.String, "ts_new": pl.Int64})])
        j = related.join(known.rename({"order_id": "buy_order_id", "ts_new": "buy_new"}),
                         on="buy_order_id").join(
            known.rename({"order_id": "sell_order_id", "ts_new": "sell_new"}), on="sell_order_id")
        j = j.filter((pl.col("buy_new") - pl.col("sell_new")).abs()
                     <= int(self.params.max_gap_s * SECOND))
        cases = []
        for trade_id, ts, isin, day, buyer, seller, group in j.select(
                "trade_id", "ts_event", "isin", "day", "buy_account_id",
                "sell_account_id", "g").iter_rows():
            key = (group, isin, day)
            f = self.found.setdefault(key, {"trades": [], "accounts": set(),
                                            "start": ts, "end": ts})
            f["trades"].append(trade_id)
            f["accounts"] |= {buyer, seller}
            f["start"], f["end"] = min(f["start"], ts), max(f["end"], ts)
            n = len(set(f["trades"]))
            if n >= self.params.min_trades:
                cases.append(Case(tuple(sorted(f["accounts"])), isin, day, f["start"],
                                  f["end"], min(0.5 + 0.1 * n, 1.0), tuple(f["trades"]), key))
        for key in [k for k in self.found if k[2] < max(self.entered, default=0) - 1]:
            del self.found[key]
        return cases
