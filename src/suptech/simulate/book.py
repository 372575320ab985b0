"""A limit order book with price-time priority, continuous matching and a call auction.

Prices are integers (ticks) and quantities integers (shares), so nothing is ever off
the grid. Every state change is written to an `EventLog` as the order events and trades
a venue would report: each trade comes from two orders, and each fill is also an event
(PARTIAL_FILL or FILL) of both orders, with the leaves quantity after it.

Cancelled orders are removed lazily (skipped when they reach the front of their level),
which keeps cancels O(1): market makers cancel far more than they trade.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import polars as pl

BUY, SELL = 1, -1

# Event type codes (index into EVENT_TYPES).
NEW, MODIFY, CANCEL, FILL, PARTIAL_FILL, REJECT, EXPIRE = range(7)
EVENT_TYPES = ("NEW", "MODIFY", "CANCEL", "FILL", "PARTIAL_FILL", "REJECT", "EXPIRE")
LIMIT, MARKET = 0, 1
DAY, IOC, GTC = 0, 1, 3
TIME_IN_FORCE = ("DAY", "IOC", "FOK", "GTC")
EVENT_COLUMNS = ("ts_event", "oid", "et", "acct", "side", "kind", "px", "quantity",
                 "leaves_quantity", "tif")
TRADE_COLUMNS = ("ts_event", "px", "quantity", "buy", "sell", "buy_oid", "sell_oid", "agg")


class Order:
    __slots__ = ("oid", "account", "side", "price", "qty", "leaves", "kind", "tif", "live")

    def __init__(self, oid: int, account: int, side: int, price: int, qty: int,
                 kind: int = LIMIT, tif: int = DAY):
        self.oid, self.account, self.side, self.price = oid, account, side, price
        self.qty, self.leaves, self.kind, self.tif = qty, qty, kind, tif
        self.live = True


@dataclass
class EventLog:
    """Columns of order events and trades, appended as plain ints (cheap in a loop)."""

    instrument: int
    ev: list[list[int]] = field(default_factory=lambda: [[] for _ in range(10)])
    tr: list[list[int]] = field(default_factory=lambda: [[] for _ in range(8)])

    def event(self, ts: int, o: Order, event_type: int) -> None:
        c = self.ev
        c[0].append(ts)
        c[1].append(o.oid)
        c[2].append(event_type)
        c[3].append(o.account)
        c[4].append(o.side)
        c[5].append(o.kind)
        c[6].append(o.price)
        c[7].append(o.qty)
        c[8].append(o.leaves)
        c[9].append(o.tif)

    def trade(self, ts: int, price: int, qty: int, buy: Order, sell: Order,
              aggressor: int) -> None:
        c = self.tr
        c[0].append(ts)
        c[1].append(price)
        c[2].append(qty)
        c[3].append(buy.account)
        c[4].append(sell.account)
        c[5].append(buy.oid)
        c[6].append(sell.oid)
        c[7].append(aggressor)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The log as two integer frames (events, trades), tagged with the instrument;
        `trade_no` numbers the log's trades and names each fill's (a trade's two fill
        events follow it, the buyer's then the seller's: `Book._fill`)."""
        ev = pl.DataFrame(dict(zip(EVENT_COLUMNS, self.ev)),
                          schema={c: pl.Int64 for c in EVENT_COLUMNS})
        tr = pl.DataFrame(dict(zip(TRADE_COLUMNS, self.tr)),
                          schema={c: pl.Int64 for c in TRADE_COLUMNS})
        fill = pl.col("et").is_in([FILL, PARTIAL_FILL])
        ev = ev.with_columns(trade_no=pl.when(fill).then(
            (fill.cast(pl.Int64).cum_sum() - 1) // 2))
        tag = pl.lit(self.instrument, dtype=pl.Int64).alias("i")
        return ev.with_columns(tag), tr.with_row_index("trade_no").with_columns(
            tag, pl.col("trade_no").cast(pl.Int64))


class Book:
    def __init__(self, log: EventLog, low: int, high: int, last: int):
        self.log = log
        self.low, self.high = low, high  # the day's price limits, in ticks
        self.last = last  # last trade price (ticks)
        self.levels: dict[int, dict[int, deque[Order]]] = {BUY: {}, SELL: {}}
        self.heaps: dict[int, list[int]] = {BUY: [], SELL: []}  # BUY stores -price
        self.orders: dict[int, Order] = {}
        self.volume = 0

    # ---- looking -----------------------------------------------------------------

    def best(self, side: int) -> int | None:
        heap, levels = self.heaps[side], self.levels[side]
        while heap:
            price = -heap[0] if side == BUY else heap[0]
            q = levels.get(price)
            while q and not q[0].live:
                q.popleft()
            if q:
                return price
            heapq.heappop(heap)
            levels.pop(price, None)
        return None

    def mid(self) -> float | None:
        b, a = self.best(BUY), self.best(SELL)
        if b is None or a is None:
            return None
        return (a + b) / 2

    def depth(self, side: int, price: int) -> int:
        q = self.levels[side].get(price)
        return sum(o.leaves for o in q if o.live) if q else 0

    # ---- acting ------------------------------------------------------------------

    def submit(self, ts: int, o: Order, match: bool = True) -> Order:
        """A new order: rejected outside the price limits, else matched and/or rested."""
        if o.kind == LIMIT and not (self.low <= o.price <= self.high):
            o.live = False
            self.log.event(ts, o, NEW)
            self.log.event(ts, o, REJECT)
            return o
        self.log.event(ts, o, NEW)
        if match:
            self._match(ts, o)
        if o.leaves and o.live:
            if o.kind == MARKET or o.tif == IOC:
                o.live = False
                self.log.event(ts, o, CANCEL)
            else:
                self._rest(o)
        return o

    def cancel(self, ts: int, oid: int) -> bool:
        o = self.orders.pop(oid, None)
        if o is None or not o.live:
            return False
        o.live = False
        self.log.event(ts, o, CANCEL)
        return True

    def modify(self, ts: int, oid: int, price: int, qty: int, match: bool = True) -> bool:
        """New price and/or quantity; priority is kept only for a smaller quantity. In a
        call auction (`match` off) it rests until the uncross, as a new order does."""
        o = self.orders.get(oid)
        filled = o.qty - o.leaves if o else 0
        if o is None or not o.live or qty <= filled or not (self.low <= price <= self.high):
            return False
        if price == o.price and qty < o.qty:
            o.qty, o.leaves = qty, qty - filled
            self.log.event(ts, o, MODIFY)
            return True
        o.live = False  # leaves its place in the queue; the same order id rests anew
        new = Order(o.oid, o.account, o.side, price, qty, o.kind, o.tif)
        new.leaves = qty - filled
        self.orders[oid] = new
        self.log.event(ts, new, MODIFY)
        if match:
            self._match(ts, new)
        if new.leaves and new.live:
            self._rest(new)
        else:
            self.orders.pop(oid, None)
        return True

    def expire_all(self, ts: int) -> None:
        for o in list(self.orders.values()):
            if o.live and o.tif != GTC:
                o.live = False
                self.log.event(ts, o, EXPIRE)
        self.orders = {k: o for k, o in self.orders.items() if o.live}

    def auction(self, ts: int) -> int | None:
        """Uncross the book at the one price that executes the most volume.

        Ties go to the smallest imbalance, then to the price nearest the last trade. The
        orders then trade in price-time priority, all at that price.
        """
        bids = sorted((p for p, q in self.levels[BUY].items() if q), reverse=True)
        asks = sorted(p for p, q in self.levels[SELL].items() if q)
        if not bids or not asks or bids[0] < asks[0]:
            return None
        candidates = sorted(set(p for p in bids + asks if asks[0] <= p <= bids[0]))
        best_key, best_price = None, None
        for p in candidates:
            demand = sum(self.depth(BUY, b) for b in bids if b >= p)
            supply = sum(self.depth(SELL, a) for a in asks if a <= p)
            key = (min(demand, supply), -abs(demand - supply), -abs(p - self.last))
            if best_key is None or key > best_key:
                best_key, best_price = key, p
        if best_price is None or best_key[0] == 0:
            return None
        remaining = best_key[0]
        while remaining:
            b, a = self.best(BUY), self.best(SELL)
            if b is None or a is None or b < best_price or a > best_price:
                break
            buy, sell = self.levels[BUY][b][0], self.levels[SELL][a][0]
            q = min(buy.leaves, sell.leaves, remaining)
            self._fill(ts, best_price, q, buy, sell, aggressor=BUY)
            remaining -= q
        return best_price

    # ---- inside ------------------------------------------------------------------

    def _rest(self, o: Order) -> None:
        levels = self.levels[o.side]
        q = levels.get(o.price)
        if q is None:
            q = levels[o.price] = deque()
            heapq.heappush(self.heaps[o.side], -o.price if o.side == BUY else o.price)
        q.append(o)
        self.orders[o.oid] = o

    def _match(self, ts: int, o: Order) -> None:
        other = -o.side
        while o.leaves:
            best = self.best(other)
            if best is None:
                return
            if o.kind == LIMIT and (best > o.price if o.side == BUY else best < o.price):
                return
            resting = self.levels[other][best][0]
            q = min(o.leaves, resting.leaves)
            if o.side == BUY:
                self._fill(ts, best, q, o, resting, aggressor=BUY)
            else:
                self._fill(ts, best, q, resting, o, aggressor=SELL)

    def _fill(self, ts: int, price: int, q: int, buy: Order, sell: Order, aggressor: int) -> None:
        buy.leaves -= q
        sell.leaves -= q
        self.log.trade(ts, price, q, buy, sell, aggressor)
        for o in (buy, sell):
            if o.leaves == 0:
                o.live = False
                self.orders.pop(o.oid, None)
                self.log.event(ts, o, FILL)
            else:
                self.log.event(ts, o, PARTIAL_FILL)
        self.last = price
        self.volume += q
