"""Injected, labelled cases of market abuse: one function per typology, in a registry.

Each injector picks where and when its case happens, creates the parties and accounts
it needs, and schedules its orders into the sessions it touches. Sizes, timings and
numbers of accounts are drawn from ranges. The label's time window is what actually
happened: every action records the moment it ran.

Docs: docs/typologies/<typology>.md say how each is injected and which benign agents
look like it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from suptech.simulate.actions import cancel_all, clear, post, sweep, take, uptick
from suptech.simulate.book import BUY, IOC, SELL
from suptech.simulate.market import (
    AFTERNOON, CLOSE_CALL, CONTINUOUS_SECONDS, MARKETS, Action, Rules, Session, wall_time)
from suptech.simulate.universe import Universe


@dataclass
class Case:
    scenario_id: str
    typology: str
    accounts: list[int]
    instrument: int
    day: int
    times: list[tuple[int, float]] = field(default_factory=list)  # (day, wall second)
    #: a fixed end of the window (insider dealing ends at the announcement)
    end: tuple[int, float] | None = None
    #: how it was carried out, where a typology is injected more than one way
    variant: str = ""


@dataclass
class Announcement:
    instrument: int
    day: int
    time: float  # wall second
    category: str
    price_sensitive: bool
    jump: float  # relative move of the fair value when published (0 for none)


@dataclass
class Plan:
    """What the day loop must play besides the benign flow."""

    u: Universe
    days: int
    stocks: list[int]
    futures_of: dict[int, int]  # stock index -> its future's index
    actions: dict[tuple[int, int], list[tuple[float, Action]]] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    insiders: list[tuple[int, int, int]] = field(default_factory=list)  # (instrument, party, days before)
    rules: Rules = MARKETS["call"]

    def at(self, case: Case | None, day: int, inst: int, wall: float, action: Action) -> None:
        def run(s: Session, t: float) -> None:
            if case is not None:
                case.times.append((day, t))
            action(s, t)
        self.actions.setdefault((day, inst), []).append((wall, run))

    def new_case(self, typology: str, accounts: list[int], inst: int, day: int) -> Case:
        case = Case(f"{typology}-{len(self.cases) + 1:04d}", typology, accounts, inst, day)
        self.cases.append(case)
        return case

    def session(self, rng: np.random.Generator) -> tuple[int, int]:
        return int(rng.integers(0, self.days)), int(rng.choice(self.stocks))

    def start(self, rng: np.random.Generator, room: float) -> float:
        """A trading second with `room` seconds of continuous trading after it."""
        return float(rng.uniform(600, CONTINUOUS_SECONDS - room - 300))

    def investor(self, rng: np.random.Generator, party_type: str = "PERSON",
                 group: str | None = None, member: int | None = None) -> int:
        return self.u.add_account(rng, self.u.add_party(rng, party_type, group_id=group), member)


# ---- typologies ------------------------------------------------------------------------

def spoofing(p: Plan, rng: np.random.Generator, layers: tuple[int, int] = (1, 3),
             typology: str = "SPOOFING") -> Case:
    """Large orders on one side that are never meant to trade, then withdrawn within
    seconds, while a small genuine order works the other side. Two ways: the genuine
    order takes liquidity at the price the large ones pulled ("sweep"), or it rests at
    the other side's best price, posted first, and is withdrawn with them if it did
    not fill ("rest": the spoofer waits to be hit, and often is not)."""
    day, inst = p.session(rng)
    acct = p.investor(rng)
    case = p.new_case(typology, [acct], inst, day)
    side = BUY if rng.random() < 0.5 else SELL
    rests = rng.random() < 0.5
    case.variant = "rest" if rests else "sweep"
    t = p.start(rng, 1800)
    for _ in range(int(rng.integers(1, 4))):  # a spoofer repeats the trick
        resting: list[int] = []
        if rests:
            p.at(case, day, inst, wall_time(t - rng.uniform(1, 10)),
                 post(acct, -side, int(rng.integers(2, 10)), 0, resting))
        for level in range(int(rng.integers(*layers))):
            lots = int(rng.integers(30, 150)) if typology == "SPOOFING" else int(rng.integers(15, 60))
            p.at(case, day, inst, wall_time(t + 0.05 * level),
                 post(acct, side, lots, level, resting))
        t_trade = t + rng.uniform(2, 20)
        if not rests:
            p.at(case, day, inst, wall_time(t_trade),
                 sweep(acct, -side, int(rng.integers(2, 10)), 0))
        t_cancel = t_trade + rng.uniform(0.5, 15)
        p.at(case, day, inst, wall_time(t_cancel), cancel_all(resting))
        t = t_cancel + rng.uniform(30, 300)
    return case


def layering(p: Plan, rng: np.random.Generator) -> Case:
    """Spoofing with a ladder: three to six orders on successive price levels."""
    return spoofing(p, rng, layers=(3, 7), typology="LAYERING")


def wash_trade(p: Plan, rng: np.random.Generator) -> Case:
    """Trades with no change of owner: two accounts of one person ("owner"), or a ring
    of related accounts (one household's group_id: "ring"), crossing with each other
    inside the spread at once; or either, the buyer taking the seller's resting order
    one to twenty seconds after it was entered ("delayed", as if by chance)."""
    day, inst = p.session(rng)
    variant = str(rng.choice(["owner", "ring", "delayed"]))
    if variant == "owner" or (variant == "delayed" and rng.random() < 0.5):
        owner = p.u.add_party(rng)
        accounts = [p.u.add_account(rng, owner) for _ in range(2)]
    else:
        group = f"G{len(p.u.families) + len(p.cases):06d}W"
        accounts = [p.investor(rng, group=group) for _ in range(int(rng.integers(2, 5)))]
    case = p.new_case("WASH_TRADE", accounts, inst, day)
    case.variant = variant
    t = p.start(rng, 3600)
    for _ in range(int(rng.integers(3, 11))):
        seller, buyer = rng.choice(accounts, 2, replace=False)
        lots = int(rng.integers(5, 40))
        delay = float(rng.uniform(1, 20)) if variant == "delayed" else 0.001

        def cross(s: Session, t0: float, seller=int(seller), buyer=int(buyer), lots=lots,
                  delay=delay, tries=[0]) -> None:
            bid, ask = s.book.best(BUY), s.book.best(SELL)
            if bid is not None and ask is not None and ask - bid < 2 and tries[0] < 20:
                tries[0] += 1  # no room inside the spread yet: try again shortly
                s.at(t0 + s.rng.uniform(1, 5), lambda s2, t2: (case.times.append((day, t2)),
                                                               cross(s2, t2)))
                return
            price = (bid + 1) if bid is not None else s.touch(SELL)
            o = s.order(t0, seller, SELL, price, s.lots(lots))
            s.at(t0 + delay, lambda s2, t2: (case.times.append((day, t2)), s2.order(
                t2, buyer, BUY, o.price, s2.lots(lots), tif=IOC)))
        p.at(case, day, inst, wall_time(t), cross)
        t += rng.uniform(60, 420)
    return case


def marking_the_close(p: Plan, rng: np.random.Generator) -> Case:
    """Buying (or selling) at the end of the day to move the closing price: with a call,
    aggressive orders in the last minutes and a large order into the call ("call");
    without, the marker moves the last prices itself, further than the price usually
    goes in five minutes (`Session.ticks`), by orders clearing the other side 0.5-1.5
    such moves deep in the last five minutes ("sweeps"), small orders each printing
    0.2-0.6 of one beyond its own last print ("upticks"), or orders clearing 1.5-4 in
    the last half minute ("final")."""
    day, inst = p.session(rng)
    acct = p.investor(rng)
    case = p.new_case("MARKING_THE_CLOSE", [acct], inst, day)
    side = BUY if rng.random() < 0.7 else SELL
    if p.rules.closing_call:
        case.variant = "call"
        t = AFTERNOON[1] - rng.uniform(120, 300)
        for _ in range(int(rng.integers(2, 6))):
            p.at(case, day, inst, t, sweep(acct, side, int(rng.integers(5, 30)),
                                            int(rng.integers(1, 4))))
            t += rng.uniform(10, 50)
        lots = int(rng.integers(40, 200))

        def into_call(s: Session, t0: float) -> None:
            s.order(t0, acct, side, s.book.high if side == BUY else s.book.low, s.lots(lots))
        p.at(case, day, inst, rng.uniform(CLOSE_CALL[1] - 120, CLOSE_CALL[1] - 5), into_call)
        return case
    close = CLOSE_CALL[1]
    case.variant = str(rng.choice(["sweeps", "upticks", "final"]))
    if case.variant == "sweeps":
        n = int(rng.integers(2, 6))
        times = np.sort(rng.uniform(close - 300, close - 2, n))
        for t in times:
            p.at(case, day, inst, float(t), clear(acct, side, rng.uniform(0.5, 1.5),
                                                   int(rng.integers(40, 200))))
    elif case.variant == "upticks":
        n = int(rng.integers(5, 15))
        times = np.sort(rng.uniform(close - 120, close - 1, n))
        last: list[int] = []
        for t in times:
            p.at(case, day, inst, float(t), uptick(acct, side, int(rng.integers(2, 8)),
                                                    rng.uniform(0.2, 0.6), last))
    else:
        for t in np.sort(rng.uniform(close - 30, close - 1, int(rng.integers(1, 3)))):
            p.at(case, day, inst, float(t), clear(acct, side, rng.uniform(1.5, 4),
                                                   int(rng.integers(100, 400))))
    return case


def insider_dealing(p: Plan, rng: np.random.Generator) -> Case:
    """Buying (or selling) by an insider ("insider"), or by an insider's relative
    ("relative"), taking liquidity in the hour before a price-sensitive announcement
    that then moves the price; or by either with day orders at its own side's best
    price, filled when others come to them ("resting")."""
    day, inst = p.session(rng)
    group = f"G{len(p.u.families) + len(p.cases):06d}I"
    insider = p.u.add_party(rng, group_id=group)
    p.insiders.append((inst, insider, int(rng.integers(30, 400))))
    own = rng.random() < 0.5
    trader = p.u.add_account(rng, insider) if own else p.investor(rng, group=group)
    case = p.new_case("INSIDER_DEALING", [trader], inst, day)
    case.variant = "resting" if rng.random() < 1 / 3 else ("insider" if own else "relative")
    good_news = rng.random() < 0.7
    side = BUY if good_news else SELL
    t_news = float(rng.uniform(3600, CONTINUOUS_SECONDS - 1200))
    t = t_news - rng.uniform(1800, 3500)
    for _ in range(int(rng.integers(3, 9))):
        lots = int(rng.integers(10, 60))
        p.at(case, day, inst, wall_time(t), post(trader, side, lots, 0, [])
             if case.variant == "resting" else sweep(trader, side, lots, 0))
        t += rng.uniform(60, 400)
        if t >= t_news - 30:
            break
    jump = (1 if good_news else -1) * rng.uniform(0.05, 0.09)
    p.announcements.append(Announcement(inst, day, wall_time(t_news),
                                        "M_AND_A" if rng.random() < 0.4 else "EARNINGS",
                                        True, jump))
    case.end = (day, wall_time(t_news))
    return case


def front_running(p: Plan, rng: np.random.Generator) -> Case:
    """A member's proprietary account trading ahead of its own client's large order,
    and unwinding after the client's order has moved the price."""
    day, inst = p.session(rng)
    member = int(rng.integers(0, len(p.u.members)))
    prop = p.u.proprietary[member]
    client = p.investor(rng, "ENTITY", member=member)
    case = p.new_case("FRONT_RUNNING", [prop], inst, day)
    side = BUY if rng.random() < 0.5 else SELL
    t = p.start(rng, 1800)
    lots = int(rng.integers(5, 25))
    p.at(case, day, inst, wall_time(t), sweep(prop, side, lots, 1))
    t += rng.uniform(5, 60)
    for _ in range(int(rng.integers(3, 7))):  # the client's order, worked by the member
        p.at(None, day, inst, wall_time(t), sweep(client, side, int(rng.integers(20, 80)), 2))
        t += rng.uniform(10, 60)
    p.at(case, day, inst, wall_time(t + rng.uniform(30, 300)), sweep(prop, -side, lots, 0))
    return case


def pump_and_dump(p: Plan, rng: np.random.Generator) -> Case:
    """A group accumulates quietly, ramps the price with aggressive buying, and sells
    into the rise: from accounts that trade nothing else that day ("focused"), or from
    accounts that also trade a few other shares as anyone does ("active")."""
    day, inst = p.session(rng)
    accounts = [p.investor(rng) for _ in range(int(rng.integers(3, 7)))]
    case = p.new_case("PUMP_AND_DUMP", accounts, inst, day)
    case.variant = "active" if rng.random() < 0.5 else "focused"
    others = [x for x in p.stocks if x != inst]
    if case.variant == "active" and others:  # their ordinary trading, not labelled
        for a in accounts:
            for _ in range(int(rng.integers(4, 12))):
                either = BUY if rng.random() < 0.5 else SELL
                p.at(None, day, int(rng.choice(others)),
                     wall_time(float(rng.uniform(0, CONTINUOUS_SECONDS))),
                     sweep(a, either, int(rng.integers(1, 6)), 0))
    t = p.start(rng, 10500)
    bought = {a: 0 for a in accounts}
    end_accumulation = t + rng.uniform(3600, 5400)
    while t < end_accumulation:
        a = int(rng.choice(accounts))
        lots = int(rng.integers(5, 20))
        bought[a] += lots
        p.at(case, day, inst, wall_time(t), post(a, BUY, lots, 0, []))
        t += rng.uniform(60, 300)
    end_ramp = t + rng.uniform(600, 1800)
    while t < end_ramp:
        a = int(rng.choice(accounts))
        p.at(case, day, inst, wall_time(t), sweep(a, BUY, int(rng.integers(10, 40)),
                                                   int(rng.integers(1, 4))))
        t += rng.uniform(20, 90)

    def lift(s: Session, t0: float, rise=float(rng.uniform(0.02, 0.05))) -> None:
        s.fair *= 1 + rise  # others chase the move
    p.at(case, day, inst, wall_time(t), lift)
    for a, lots in bought.items():
        for _ in range(3):
            t += rng.uniform(30, 180)
            p.at(case, day, inst, wall_time(t), sweep(a, SELL, max(1, lots // 3), 0))
    return case


def cross_market(p: Plan, rng: np.random.Generator) -> Case:
    """A position in the future, then the underlying share pushed in its favour, then
    the future sold: the profit is in the derivative, the manipulation in the share."""
    day = int(rng.integers(0, p.days))
    stock = int(rng.choice(list(p.futures_of)))
    future = p.futures_of[stock]
    acct = p.investor(rng, "ENTITY")
    case = p.new_case("CROSS_MARKET_MANIPULATION", [acct], stock, day)
    side = BUY if rng.random() < 0.6 else SELL
    t = p.start(rng, 3600)
    contracts = int(rng.integers(10, 50))
    p.at(case, day, future, wall_time(t), sweep(acct, side, contracts, 1))
    t += rng.uniform(300, 1200)
    for _ in range(int(rng.integers(4, 11))):
        p.at(case, day, stock, wall_time(t), sweep(acct, side, int(rng.integers(20, 80)),
                                                     int(rng.integers(1, 4))))
        t += rng.uniform(20, 120)
    p.at(case, day, future, wall_time(t + rng.uniform(60, 600)),
         sweep(acct, -side, contracts, 0))
    return case


def ramping(p: Plan, rng: np.random.Generator) -> Case:
    """Bursts of aggressive orders that take several price levels in seconds, to move
    the price and draw others in. Three ways: IOC orders 1-3 ticks through the book
    from an account that does nothing else ("sweeps"); the same from an account that
    otherwise trades as anyone does, both sides, all day ("active"); marketable day
    orders at the touch, whatever does not fill resting there, from an active account
    ("limits")."""
    day, inst = p.session(rng)
    acct = p.investor(rng)
    case = p.new_case("RAMPING", [acct], inst, day)
    case.variant = str(rng.choice(["sweeps", "active", "limits"]))
    side = BUY if rng.random() < 0.8 else SELL
    t = p.start(rng, 1800)
    for _ in range(int(rng.integers(2, 6))):
        for _ in range(int(rng.integers(3, 7))):
            if case.variant == "limits":
                action = take(acct, side, int(rng.integers(5, 25)))
            else:
                action = sweep(acct, side, int(rng.integers(10, 40)), int(rng.integers(1, 4)))
            p.at(case, day, inst, wall_time(t), action)
            t += rng.uniform(1, 5)
        t += rng.uniform(60, 300)
    if case.variant != "sweeps":  # its ordinary trading that day, not labelled
        for when in rng.uniform(0, CONTINUOUS_SECONDS, int(rng.integers(4, 12))):
            either = BUY if rng.random() < 0.5 else SELL
            action = (sweep(acct, either, int(rng.integers(1, 6)), 0) if rng.random() < 0.5
                      else post(acct, either, int(rng.integers(1, 6)), 1, []))
            p.at(None, day, inst, wall_time(float(when)), action)
    return case


TYPOLOGIES: dict[str, Callable[[Plan, np.random.Generator], Case]] = {
    "SPOOFING": spoofing,
    "LAYERING": layering,
    "WASH_TRADE": wash_trade,
    "MARKING_THE_CLOSE": marking_the_close,
    "INSIDER_DEALING": insider_dealing,
    "FRONT_RUNNING": front_running,
    "PUMP_AND_DUMP": pump_and_dump,
    "CROSS_MARKET_MANIPULATION": cross_market,
    "RAMPING": ramping,
}


def benign_news(p: Plan, rng: np.random.Generator) -> None:
    """Announcements nobody traded on early, and insiders who never traded ahead of
    one: the look-alikes an insider-dealing detector must not flag."""
    for day in range(p.days):
        for inst in rng.choice(p.stocks, max(1, len(p.stocks) // 5), replace=False):
            sensitive = rng.random() < 0.4
            jump = float(rng.uniform(-0.06, 0.06)) if sensitive else 0.0
            t = wall_time(float(rng.uniform(1800, CONTINUOUS_SECONDS - 1800)))
            category = "EARNINGS" if sensitive else str(rng.choice(["DIVIDEND", "OTHER", "GUIDANCE"]))
            p.announcements.append(Announcement(int(inst), day, t, category, sensitive, jump))
    for inst in p.stocks:
        for _ in range(int(rng.integers(1, 4))):
            p.insiders.append((inst, p.u.add_party(rng), int(rng.integers(30, 900))))


def publish(p: Plan) -> None:
    """Schedule each announcement's effect on its share's fair value."""
    for a in p.announcements:
        if a.jump:
            def move(s: Session, t: float, jump=a.jump) -> None:
                s.fair *= 1 + jump
            p.at(None, a.day, a.instrument, a.time, move)


def label_window(case: Case) -> tuple[tuple[int, float], tuple[int, float]] | None:
    """(day, wall second) of the case's first and last moment; None if nothing ran."""
    times = sorted(case.times + ([case.end] if case.end else []))
    return (times[0], times[-1]) if case.times else None
