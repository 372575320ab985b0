"""RAMPING, streaming: bursts of aggressive orders on one side, and no trade on the other
side that day (see `suptech.detect.market.ramping`).

Per account, instrument and side: the aggressive orders of the last `burst_seconds` of
trading time and where the last burst ended; per account, instrument and day: the
sides it traded. A case with enough bursts waits until the trades up to its last burst
have arrived, and is raised only if the account has not traded the other side; a trade
on the other side later that day would undo it, which a stream cannot wait for (the
batch scan, reading the whole day, then disagrees: see the note on precision in
BENCHMARKS.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque

import polars as pl

from suptech.detect.base import SECOND
from suptech.model.calendar import DAY, DEFAULT
from suptech.detect.market.ramping import Ramping
from suptech.stream.monitor.base import Case, StreamDetector, columns, register


@register
class StreamRamping(StreamDetector):
    batch = Ramping

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recent: dict[tuple, deque] = defaultdict(deque)  # (acct, isin, side) -> tt
        self.last_end: dict[tuple, int] = {}
        self.bursts: dict[tuple, list] = {}  # (acct, isin, side, day) -> [count, start, end, ids]
        self.traded: Counter = Counter()  # (account, isin, day, side) -> executions
        self.waiting: dict[tuple, int] = {}  # case key -> ts its trades must reach
        self.trades_seen = 0
        self.today = 0

    def orders(self, rows, batch):
        p = self.params
        window = int(p.burst_seconds * SECOND)
        ag = rows.filter((pl.col("event_type") == "NEW") & (pl.col("lots") >= p.min_lots)
                         & ((pl.col("time_in_force") == "IOC")
                            | (pl.col("order_type") == "MARKET")))
        for order, account, isin, side, day, ts, tt in zip(*columns(
                ag, "order_id", "account_id", "isin", "side", "day", "ts_event", "tt")):
            key = (account, isin, side)
            q = self.recent[key]
            q.append(tt)
            while q[0] < tt - window:
                q.popleft()
            if len(q) < p.burst_orders:
                continue
            b = self.bursts.setdefault((*key, day), [0, ts, ts, []])
            last = self.last_end.get(key)
            if last is None or tt - last > window:
                b[0] += 1
            self.last_end[key] = tt
            b[2] = ts
            b[3].append(order)
            if b[0] >= p.min_bursts:
                self.waiting[(*key, day)] = ts
        return []

    def trades(self, rows, batch):
        if rows.is_empty():
            return []
        # Counted a column at a time (Counter's C loop), not a row at a time.
        isin, day = rows["isin"].to_list(), rows["day"].to_list()
        self.traded.update(zip(rows["buy_account_id"].to_list(), isin, day,
                               ["BUY"] * rows.height))
        self.traded.update(zip(rows["sell_account_id"].to_list(), isin, day,
                               ["SELL"] * rows.height))
        self.trades_seen = max(self.trades_seen, int(rows["ts_event"].max()))
        return []

    def tick(self, watermark, batch):
        cases = []
        for key, ts in list(self.waiting.items()):
            # Trades up to the burst, of every member, have arrived (a fetch's trades are
            # committed after its orders); or none came for half an hour.
            if self.trades_seen < ts + self.lateness and watermark < ts + 30 * 60 * SECOND:
                continue
            del self.waiting[key]
            account, isin, side, day = key
            other = "SELL" if side == "BUY" else "BUY"
            if self.traded[(account, isin, day, other)] > self.params.max_other_side:
                continue
            count, start, end, ids = self.bursts[key]
            cases.append(Case((account,), isin, day, start, end, min(0.4 + 0.15 * count, 1.0),
                              tuple(ids)))
        today = (watermark + DEFAULT.offset_ns) // DAY
        if today != self.today:  # a new day: what is two days old cannot complete a case
            self.today = today
            for key in [k for k in self.bursts if k[3] < today - 1]:
                del self.bursts[key]
            for key in [k for k in self.traded if k[2] < today - 1]:
                del self.traded[key]
        return cases
