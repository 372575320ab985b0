"""A simulated stock market: one order book per instrument, benign agents, injected cases.

A day follows the Shanghai and Shenzhen timetable: continuous trading 09:30-11:30 and
13:00-14:57, a closing call auction 14:57-15:00 (orders collected, one uncrossing at
15:00), then every DAY order expires. A market of another kind (`MARKETS`) trades
continuously to 15:00 with no call, as many venues do, and there takers move the
price for good. Prices stay within the day's limit band around the previous close
(±10 %, ±20 % on STAR).

Benign agents are the ones whose behaviour looks like abuse, because false positives
come from them: market makers that quote and cancel all day, high-frequency traders
that cancel within a second, institutions slicing large orders, index funds piling into
the close (in the call, or in its last minutes where there is none), and families
whose members trade the same stock on their own. The abusive cases are injected by
`suptech.simulate.cases` and labelled.

Everything is drawn from one seeded generator, so a seed gives the same files.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import numpy as np

from suptech.model.calendar import CN_EQUITY
from suptech.simulate.book import BUY, DAY, IOC, LIMIT, MARKET, SELL, Book, Order
from suptech.simulate.universe import Instrument, Universe

CST = timezone(timedelta(hours=8))
MORNING, AFTERNOON = CN_EQUITY.sessions
CLOSE_CALL = CN_EQUITY.closing_call
CONTINUOUS_SECONDS = (MORNING[1] - MORNING[0]) + (AFTERNOON[1] - AFTERNOON[0])

#: Order events a day, by scale, before injected cases ("tiny" is for tests and quick
#: looks: every typology still has its cases, among fewer bystanders).
SCALES = {"tiny": 25_000, "small": 100_000, "medium": 1_000_000, "full": 10_000_000}
DEFAULT_INSTRUMENTS = {"tiny": 3, "small": 10, "medium": 40, "full": 200}
#: Investor accounts by scale: about twenty order events per account and day at every
#: scale, so that an ordinary account is as active in a full day as in a small one.
DEFAULT_ACCOUNTS = {"tiny": 1_250, "small": 5_000, "medium": 50_000, "full": 500_000}
DEFAULT_MEMBERS = {"tiny": 20, "small": 40, "medium": 150, "full": 300}
#: Injected cases of each typology per simulated day.
DEFAULT_CASES = {"tiny": 1, "small": 3, "medium": 5, "full": 10}

Action = Callable[["Session", float], None]


@dataclass(frozen=True)
class Rules:
    """How a simulated market trades: the detectors must hold on each kind."""

    #: shares close with a call auction (14:57-15:00); without, they trade on to 15:00
    closing_call: bool = True
    #: the share of the move of the traded price that a taker causes which the fair
    #: value keeps: with none, the crowd trades the price back at once (a resilient
    #: market); with some, taking liquidity moves the price for good, as in most
    impact: float = 0.0

    @property
    def trading_seconds(self) -> float:
        """Seconds of continuous trading a day (the call is not continuous)."""
        return CONTINUOUS_SECONDS + (0 if self.closing_call else CLOSE_CALL[1] - CLOSE_CALL[0])


MARKETS = {"call": Rules(), "continuous": Rules(closing_call=False, impact=0.3)}


def wall_time(trading_second: float) -> float:
    """Seconds since local midnight for a second of continuous trading (0..14220)."""
    morning = MORNING[1] - MORNING[0]
    if trading_second < morning:
        return MORNING[0] + trading_second
    return AFTERNOON[0] + (trading_second - morning)


def trading_days(start: date, n: int) -> list[date]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def midnight_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp()) * 1_000_000_000


#: The span (seconds) over which agents judge a move against the instrument's own
#: volatility: a fund's limit, how far a marker of the close pushes the price.
USUAL_SPAN_S = 300


@dataclass
class Session:
    """One instrument on one day: its book, its fair value and its timetable of actions."""

    inst_index: int
    inst: Instrument
    day: date
    book: Book
    fair: float  # ticks
    sigma: float  # ticks per sqrt(second)
    rng: np.random.Generator
    order_ids: itertools.count
    base_ns: int
    actions: list = field(default_factory=list)  # heap of (wall second, seq, Action)
    seq: itertools.count = field(default_factory=itertools.count)
    now: float = 0.0
    #: fair value overrides, e.g. a future follows the traded price of its underlying
    fair_path: Callable[[float], float] | None = None
    rules: Rules = MARKETS["call"]

    def at(self, t: float, action: Action) -> None:
        if MORNING[1] <= t < AFTERNOON[0]:  # nothing happens over lunch: after it
            t += AFTERNOON[0] - MORNING[1]
        heapq.heappush(self.actions, (t, next(self.seq), action))

    def ns(self, t: float) -> int:
        return self.base_ns + int(t * 1e9)

    def in_call(self, t: float) -> bool:
        """Shares close with a call auction where the market has one; futures trade
        continuously to 15:00."""
        return (self.rules.closing_call and t >= CLOSE_CALL[0]
                and self.inst.asset_class == "EQUITY")

    def clip(self, price: int) -> int:
        return min(max(price, self.book.low), self.book.high)

    def order(self, t: float, account: int, side: int, price: int | None, qty: int,
              kind: int = LIMIT, tif: int = DAY) -> Order:
        o = Order(next(self.order_ids), account, side,
                  0 if kind == MARKET else self.clip(int(price)), qty, kind, tif)
        if self.in_call(t) and kind == MARKET:  # the closing call takes limit orders only
            o.kind, o.price = LIMIT, self.book.high if side == BUY else self.book.low
        last = self.book.last
        self.book.submit(self.ns(t), o, match=not self.in_call(t))
        if self.rules.impact:  # the price the taker moved: part of it stays
            self.fair += self.rules.impact * (self.book.last - last)
        return o

    def modify(self, t: float, oid: int, price: int, qty: int) -> bool:
        return self.book.modify(self.ns(t), oid, price, qty, match=not self.in_call(t))

    def cancel(self, t: float, oid: int) -> bool:
        return self.book.cancel(self.ns(t), oid)

    def touch(self, side: int) -> int:
        """Best price on `side`, or the fair value's nearest tick on an empty side."""
        best = self.book.best(side)
        if best is not None:
            return best
        return self.clip(math.floor(self.fair) if side == BUY else math.ceil(self.fair))

    def ticks(self, moves: float) -> int:
        """`moves` standard deviations of the fair value over `USUAL_SPAN_S`, in ticks
        (at least one): a move as large as the instrument usually makes that often."""
        return max(1, round(moves * self.sigma * math.sqrt(USUAL_SPAN_S)))

    def lots(self, n: int) -> int:
        return max(1, int(n)) * self.inst.lot


class BenignAgents:
    """The day's background flow for one session, drawn in bulk for speed."""

    def __init__(self, s: Session, u: Universe, budget: int):
        self.s, self.u = s, u
        rng = s.rng
        # An order of the crowd leads to about 2.6 events (its NEW, a fill or cancel or
        # expiry, and fills of the orders it meets); quotes and HFT orders to about 2.
        n = int(rng.poisson(0.55 * budget / 2.6))
        seconds = s.rules.trading_seconds
        self.times = np.sort(rng.uniform(0, seconds, n))
        self.side = np.where(rng.random(n) < 0.5, BUY, SELL)
        self.u01 = rng.random(n)
        self.offset = rng.geometric(0.25, n) - 1
        self.size = np.minimum(rng.geometric(0.3, n), 50) * np.where(rng.random(n) < 0.05, 10, 1)
        self.life = rng.exponential(240, n)
        self.z = rng.standard_normal(n)
        fam = [a for g, accts in u.families.items() if u.favourite[g] == s.inst_index
               for a in accts]
        self.pool = pool = u.retail_array()
        family_pick = rng.random(n) < (0.15 if fam else 0)
        self.account = np.where(family_pick, rng.choice(fam or [0], n), rng.choice(pool, n))
        self.mm_interval = seconds / max(1, 0.25 * budget / 4 / 2)
        self.hft_interval = seconds / max(1, 0.2 * budget / 2)
        self.quotes: dict[int, list[int]] = {}

    def schedule(self) -> None:
        s, u, rng = self.s, self.u, self.s.rng
        for mm in rng.choice(u.proprietary, 2, replace=False):
            s.at(wall_time(rng.uniform(0, 5)), self._quote(int(mm)))
        hft = int(rng.choice(u.institutions))
        s.at(wall_time(rng.uniform(0, 5)), self._hft(hft))
        for _ in range(int(rng.integers(0, 3))):
            start = rng.uniform(0, s.rules.trading_seconds * 0.7)
            parent = int(rng.integers(20, 200)) * 10
            s.at(wall_time(start), self._slice(int(rng.choice(u.institutions)),
                                               BUY if rng.random() < 0.5 else SELL, parent))
        for _ in range(int(rng.integers(1, 3))):  # index funds rebalancing at the close
            if s.rules.closing_call:
                s.at(rng.uniform(*CLOSE_CALL), self._closing(int(rng.choice(u.institutions))))
            else:  # no call: they work the order in the last minutes, to the close
                s.at(CLOSE_CALL[1] - rng.uniform(120, 900),
                     self._to_the_close(int(rng.choice(u.institutions))))

    def run_crowd(self, i: int, t: float) -> None:
        s = self.s
        dt = t - s.now if s.now else 1.0
        s.now = t
        s.fair += s.sigma * math.sqrt(max(dt, 1e-6)) * self.z[i]
        # Past a price limit the stock is limit-up (or down); its value stays near it.
        s.fair = min(max(s.fair, s.book.low * 0.98), s.book.high * 1.02)
        if s.fair_path is not None:
            s.fair = s.fair_path(t)
        side, u01 = int(self.side[i]), self.u01[i]
        qty = s.lots(self.size[i])
        account = int(self.account[i])
        if u01 < 0.04:
            s.order(t, account, side, None, qty, kind=MARKET)
            return
        if u01 < 0.30:  # marketable limit: takes what the other side offers
            price = s.touch(-side) + side * int(self.offset[i] % 3)
            s.order(t, account, side, price, qty, tif=IOC if u01 < 0.1 else DAY)
            return
        anchor = round(s.fair)
        price = anchor - side * (1 + int(self.offset[i]))
        o = s.order(t, account, side, price, qty)
        if o.live and u01 < 0.75:
            life = float(self.life[i])
            if u01 < 0.36:  # some chase the market instead of leaving
                s.at(t + life, lambda s2, t2, oid=o.oid, sd=side: s2.modify(
                    t2, oid, s2.clip(s2.touch(sd)), s2.book.orders[oid].qty)
                    if oid in s2.book.orders else None)
            else:
                s.at(t + life, lambda s2, t2, oid=o.oid: s2.cancel(t2, oid))

    def _quote(self, mm: int) -> Action:
        def act(s: Session, t: float) -> None:
            for oid in self.quotes.pop(mm, []):
                s.cancel(t, oid)
            if s.in_call(t):
                return
            half = int(s.rng.integers(0, 3))
            size = s.lots(s.rng.integers(5, 20))
            bid_price = s.clip(math.floor(s.fair) - half)
            ask_price = s.clip(max(math.ceil(s.fair) + half, bid_price + 1))
            quotes = []
            # At a price limit both quotes would meet: quote only the side that can trade.
            if bid_price < ask_price or bid_price < s.book.high:
                quotes.append(s.order(t, mm, BUY, bid_price, size))
            if bid_price < ask_price:
                quotes.append(s.order(t, mm, SELL, ask_price, size))
            self.quotes[mm] = [o.oid for o in quotes if o.live]
            s.at(t + s.rng.exponential(self.mm_interval), act)
        return act

    def _hft(self, account: int) -> Action:
        def act(s: Session, t: float) -> None:
            if s.in_call(t):
                return
            side = BUY if s.rng.random() < 0.5 else SELL
            o = s.order(t, account, side, s.touch(side), s.lots(s.rng.integers(1, 4)))
            if o.live:
                s.at(t + s.rng.exponential(0.8), lambda s2, t2, oid=o.oid: s2.cancel(t2, oid))
            s.at(t + s.rng.exponential(self.hft_interval), act)
        return act

    def _slice(self, account: int, side: int, parent_lots: int) -> Action:
        left = [parent_lots]

        def act(s: Session, t: float) -> None:
            if left[0] <= 0 or s.in_call(t):
                return
            child = min(left[0], int(s.rng.integers(2, 12)))
            left[0] -= child
            aggressive = s.rng.random() < 0.5
            price = s.touch(-side) if aggressive else s.touch(side)
            s.order(t, account, side, price, s.lots(child), tif=IOC if aggressive else DAY)
            s.at(t + s.rng.exponential(60), act)
        return act

    def _closing(self, account: int) -> Action:
        def act(s: Session, t: float) -> None:
            side = BUY if s.rng.random() < 0.5 else SELL
            limit = s.book.high if side == BUY else s.book.low
            s.order(t, account, side, limit, s.lots(s.rng.integers(50, 300)))
        return act

    def _to_the_close(self, account: int) -> Action:
        """A fund that must trade at the closing price of a market with no call: it
        works a large order in child orders to the close, at the touch, and takes the
        other side when time runs short (it must be done), but not beyond its limit: a
        usual five-minute move past the last price when it started."""
        rng = self.s.rng
        side = BUY if rng.random() < 0.5 else SELL
        left = [int(rng.integers(50, 300))]
        limit: list[int] = []

        def act(s: Session, t: float) -> None:
            if left[0] <= 0:
                return
            if not limit:  # from the last price: the other side may be thin or empty
                limit.append(s.book.last + side * s.ticks(1))
            remaining = CLOSE_CALL[1] - t
            child = min(left[0], max(1, int(left[0] * s.rng.uniform(0.1, 0.3))))
            left[0] -= child
            if s.rng.random() < (0.4 if remaining > 60 else 0.8):
                price = side * min(side * s.touch(-side), side * limit[0])
                s.order(t, account, side, price, s.lots(child), tif=IOC)
            else:
                s.order(t, account, side, s.touch(side), s.lots(child))
            s.at(t + max(1.0, s.rng.exponential(remaining / 6)), act)
        return act


def run_session(s: Session, agents: BenignAgents) -> None:
    """Play one session: crowd arrivals and scheduled actions in time order, the close."""
    agents.schedule()
    times = agents.times
    walls = [wall_time(x) for x in times]
    i, n = 0, len(walls)
    call_crowd = s.rng.uniform(*CLOSE_CALL, max(1, n // 200)) if s.rules.closing_call else []
    for t in call_crowd:  # the crowd sends a few orders into the closing call as well
        s.at(float(t), lambda s2, t2: s2.order(
            t2, int(s2.rng.choice(agents.pool)), BUY if s2.rng.random() < .5 else SELL,
            round(s2.fair) + int(s2.rng.integers(-3, 4)), s2.lots(s2.rng.integers(1, 10))))
    while i < n or s.actions:
        if s.actions and (i >= n or s.actions[0][0] <= walls[i]):
            t, _, action = heapq.heappop(s.actions)
            if t >= CLOSE_CALL[1]:
                continue
            s.now = max(s.now, t)
            action(s, t)
        else:
            agents.run_crowd(i, walls[i])
            i += 1
    close_ns = s.ns(CLOSE_CALL[1])
    if s.in_call(CLOSE_CALL[1]):
        s.book.auction(close_ns)
    s.book.expire_all(close_ns + 1_000_000)
