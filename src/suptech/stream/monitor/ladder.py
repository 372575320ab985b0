"""Large resting orders cancelled soon after their owner traded the other way: the state
SPOOFING and LAYERING share (see `suptech.detect.market.spoofing.episodes`).

Per account and instrument it keeps the large resting orders of the last minutes, the
liquidity the account took, and the quickly cancelled orders waiting for a trade. An
episode (a quick cancel and a trade the account took on the other side while the order
rested) is found by whichever of the two arrives second, so a trade committed after the
cancel still counts. An episode's number of levels (distinct prices of the quick
cancels placed within 2 s of it and resting with it) is final once every such order
has been cancelled, or has outlived `max_life_s` without being cancelled.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

import polars as pl

from suptech.detect.base import SECOND
from suptech.detect.market.spoofing import LADDER_LOTS
from suptech.stream.monitor.base import StreamDetector, columns

PEER_WINDOW = 2 * SECOND


@dataclass
class Big:
    order_id: str
    account: str
    isin: str
    side: str
    price: float
    lots: float
    ts_new: int
    day: int
    ts_cancel: int | None = None  # set when cancelled within the life limit
    done: bool = False  # cancelled, filled, expired or past the life limit
    forgotten: bool = False  # evicted: no later report can pair with it
    trades: list[tuple[str, int]] = field(default_factory=list)  # episodes: (trade, ts)


@dataclass
class Verdict:
    order: Big
    levels: int  # distinct prices confirmed so far
    final: bool  # no order still open could add a level


class Ladder:
    def __init__(self, max_life_s: float, lateness: int):
        self.life = int(max_life_s * SECOND)
        self.lateness = lateness
        self.base = LADDER_LOTS
        self.orders: dict[str, Big] = {}  # by order id
        #: Every order followed, in arrival order (about that of ts_new): evicted from
        #: the left.
        self.arrived: deque[Big] = deque()
        #: (account, isin) -> how many of `arrived` it holds
        self.holders: dict[tuple[str, str], int] = defaultdict(int)
        self.by_side: dict[tuple, list[Big]] = defaultdict(list)  # (account, isin, side)
        self.taken: dict[tuple, deque[tuple[int, str, str]]] = defaultdict(deque)  # (acct, isin)
        self.quick: dict[tuple, deque[Big]] = defaultdict(deque)  # (account, isin)
        self.open_episodes: dict[str, Big] = {}  # orders with episodes, levels not final
        self.watermark = 0  # latest order event seen
        self.trade_watermark = 0  # latest trade seen
        self._fed: set[tuple[str, int]] = set()
        self._verdicts: tuple[int, list[Verdict]] = (-1, [])

    def _first_time(self, kind: str, batch: int) -> bool:
        """Both detectors feed each batch; the ladder takes it once."""
        if (kind, batch) in self._fed:
            return False
        self._fed = {k for k in self._fed if k[1] == batch} | {(kind, batch)}
        return True

    @staticmethod
    def shared(store: dict, max_life_s: float, lateness: int) -> "Ladder":
        """One ladder per life limit, fed once, read by both detectors."""
        key = ("ladder", max_life_s, lateness)
        if key not in store:
            store[key] = Ladder(max_life_s, lateness)
        return store[key]

    def feed_orders(self, rows: pl.DataFrame, batch: int) -> None:
        if not self._first_time("orders", batch):
            return
        big = rows.filter((pl.col("event_type") == "NEW") & (pl.col("lots") >= self.base)
                          & (pl.col("order_type") == "LIMIT")
                          & (pl.col("time_in_force") != "IOC"))
        for r in zip(*columns(big.with_columns(pl.col("price").cast(pl.Float64)),
                              "order_id", "account_id", "isin", "side", "price", "lots",
                              "ts_event", "day")):
            b = Big(*r)
            self.orders[b.order_id] = b
            self.arrived.append(b)
            self.holders[(b.account, b.isin)] += 1
            self.by_side[(b.account, b.isin, b.side)].append(b)
        # The ends of orders followed: looked up here, one by one, unless they outnumber
        # the orders followed (the close's expiries), which polars then picks out.
        ends = rows.filter(pl.col("event_type").is_in(["CANCEL", "FILL", "EXPIRE", "REJECT"]))
        orders = self.orders
        if ends.height > 4 * len(orders):
            ends = ends.filter(pl.col("order_id").is_in(list(orders)))
        for order_id, kind, ts in zip(*columns(ends, "order_id", "event_type", "ts_event")):
            b = orders.get(order_id)
            if b is None or b.done:
                continue
            b.done = True
            if kind == "CANCEL" and ts - b.ts_new <= self.life:
                b.ts_cancel = ts
                self.quick[(b.account, b.isin)].append(b)
                for t, side, trade_id in self.taken.get((b.account, b.isin), ()):
                    self._match(b, t, side, trade_id)
        if rows.height:
            self.watermark = max(self.watermark, int(rows["ts_event"].max()))

    def feed_trades(self, rows: pl.DataFrame, batch: int) -> None:
        if not self._first_time("trades", batch):
            return
        buy = pl.col("aggressor_side") == "BUY"
        ag = rows.filter(pl.col("aggressor_side").is_in(["BUY", "SELL"])).select(
            "trade_id", "ts_event", "isin", "aggressor_side",
            account=pl.when(buy).then("buy_account_id").otherwise("sell_account_id"))
        for trade_id, ts, isin, aggressor, account in zip(*columns(ag)):
            # Only an account holding a large order can pair a trade with its cancel:
            # the order is in before any trade during its life.
            if (account, isin) not in self.holders:
                continue
            # As of this trade: later ones in the batch must not prune what it pairs with.
            self.trade_watermark = max(self.trade_watermark, ts)
            taken = self.taken[(account, isin)]
            taken.append((ts, aggressor, trade_id))
            # A quick cancel still to come rested at most `life` before it is cancelled,
            # and cancels arrive at most `lateness` behind: older trades cannot pair.
            while taken and taken[0][0] < self.watermark - self.life - 2 * self.lateness:
                taken.popleft()
            quick = self.quick.get((account, isin))
            if quick:
                while quick and quick[0].ts_cancel < self.trade_watermark - 2 * self.lateness:
                    quick.popleft()  # later trades cannot fall in its life
                for b in quick:
                    self._match(b, ts, aggressor, trade_id)
        if rows.height:
            self.trade_watermark = max(self.trade_watermark, int(rows["ts_event"].max()))

    def _match(self, b: Big, ts: int, side: str, trade_id: str) -> None:
        if side != b.side and b.ts_new <= ts <= b.ts_cancel:
            b.trades.append((trade_id, ts))
            self.open_episodes[b.order_id] = b

    def verdicts(self, batch: int) -> list[Verdict]:
        """Each order with an episode, its levels so far; a final verdict only once.
        Computed once per batch for both detectors."""
        if self._verdicts[0] == batch:
            return self._verdicts[1]
        out = []
        for order_id, b in list(self.open_episodes.items()):
            levels, final = set(), True
            for p in self.by_side[(b.account, b.isin, b.side)]:
                if abs(p.ts_new - b.ts_new) > PEER_WINDOW or p.ts_new >= b.ts_cancel:
                    continue
                if p.ts_cancel is not None:
                    if p.ts_cancel > b.ts_new:
                        levels.add(p.price)
                elif not p.done and self.watermark <= p.ts_new + self.life + self.lateness:
                    final = False  # may still be cancelled in time
            out.append(Verdict(b, len(levels), final))
            if final:
                del self.open_episodes[order_id]
        self._evict()
        self._verdicts = (batch, out)
        return out

    def _evict(self) -> None:
        """Forget what no later report can pair with any more: trades may lag orders (a
        fetch's orders are committed before its trades), so both must have moved on.

        Each pass takes the orders that aged out since the last one, from the oldest on,
        and mends only the lists of the accounts and instruments they belonged to: a
        pass costs what it forgets (walking every list every few batches stalled the
        detectors for 40 ms). The few orders that came out of order wait behind the
        first young one for a later pass; one still in an open episode is looked at
        again once the orders that came after it are gone."""
        horizon = min(self.watermark, self.trade_watermark) \
            - 2 * (self.life + self.lateness + PEER_WINDOW)
        if horizon <= 0:
            return
        arrived, kept, forgotten = self.arrived, [], []
        while arrived and arrived[0].ts_new < horizon:
            b = arrived.popleft()
            if b.order_id in self.open_episodes:
                kept.append(b)
                continue
            b.forgotten = True
            forgotten.append(b)
            if self.orders.get(b.order_id) is b:
                del self.orders[b.order_id]
            key = (b.account, b.isin)
            self.holders[key] -= 1
            if not self.holders[key]:
                del self.holders[key]
        arrived.extend(kept)
        if not forgotten:
            return
        # The lists are in arrival order too: what was forgotten is at their front.
        # One behind an order still followed (out of order, or in an open episode)
        # goes with it: reports arrive at most `lateness` late, so no new one can pair
        # with it meanwhile.
        for key in {(b.account, b.isin, b.side) for b in forgotten}:
            orders = self.by_side[key]
            first = next((i for i, p in enumerate(orders) if not p.forgotten), len(orders))
            if first == len(orders):
                del self.by_side[key]
            else:
                del orders[:first]
        for key in {(b.account, b.isin) for b in forgotten}:
            quick, taken = self.quick.get(key), self.taken.get(key)
            while quick and quick[0].forgotten:
                quick.popleft()
            while taken and taken[0][0] < horizon:
                taken.popleft()
            if not quick and key in self.quick:
                del self.quick[key]
            if not taken and key in self.taken:
                del self.taken[key]


class LadderDetector(StreamDetector):
    """A detector reading the ladder (spoofing, layering): both feed it, it takes each
    batch once; `tick` turns its verdicts into cases."""

    @property
    def ladder(self) -> Ladder:
        return Ladder.shared(self.shared, self.params.max_life_s, self.lateness)

    def orders(self, rows, batch):
        self.ladder.feed_orders(rows, batch)
        return []

    def trades(self, rows, batch):
        self.ladder.feed_trades(rows, batch)
        return []
