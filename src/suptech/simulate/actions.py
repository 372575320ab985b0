"""The orders injected cases are made of: each an `Action` a session plays at its time."""

from __future__ import annotations

from suptech.simulate.book import IOC
from suptech.simulate.market import Action, Session


def sweep(account: int, side: int, lots: int, levels: int) -> Action:
    """An order priced `levels` ticks through the other side: it takes what is there."""
    def act(s: Session, t: float) -> None:
        s.order(t, account, side, s.touch(-side) + side * levels, s.lots(lots), tif=IOC)
    return act


def take(account: int, side: int, lots: int) -> Action:
    """A day order at the other side's best price: it takes what is there and rests."""
    def act(s: Session, t: float) -> None:
        s.order(t, account, side, s.touch(-side), s.lots(lots))
    return act


def uptick(account: int, side: int, lots: int, moves: float, last: list[int]) -> Action:
    """An order that prints `moves` of the usual move (`Session.ticks`) beyond the
    account's own last print (`last`, shared by the orders of one case), taking
    everything the other side offers up to that price (at least `lots`): each prints
    higher (lower, selling) than the one before, whatever traded between."""
    def act(s: Session, t: float) -> None:
        start = s.touch(-side)
        price = start
        if last:
            price = side * max(side * start, side * (last[0] + side * s.ticks(moves)))
        ahead = sum(s.book.depth(-side, p) for p in range(start, price + side, side))
        o = s.order(t, account, side, price, max(s.lots(lots), ahead), tif=IOC)
        if o.qty > o.leaves:
            last[:] = [s.book.last]
    return act


def clear(account: int, side: int, moves: float, most: int) -> Action:
    """An order that takes everything the other side offers from its best price to
    `moves` of the usual move beyond it (`Session.ticks`; at most `most` lots): it moves
    the price that far."""
    def act(s: Session, t: float) -> None:
        start = s.touch(-side)
        depth = s.ticks(moves)
        qty = sum(s.book.depth(-side, start + side * k) for k in range(depth + 1))
        qty = min(max(qty, s.lots(1)), s.lots(most))
        s.order(t, account, side, start + side * depth, qty, tif=IOC)
    return act


def post(account: int, side: int, lots: int, away: int, into: list[int]) -> Action:
    """A resting order `away` ticks behind the best price of its own side."""
    def act(s: Session, t: float) -> None:
        o = s.order(t, account, side, s.touch(side) - side * away, s.lots(lots))
        into.append(o.oid)
    return act


def cancel_all(oids: list[int]) -> Action:
    def act(s: Session, t: float) -> None:
        for oid in oids:
            s.cancel(t, oid)
    return act
