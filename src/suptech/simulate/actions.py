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


def _through(s: Session, side: int, start: int, ticks: int) -> tuple[int, int]:
    """The price and size of an order that takes everything the other side offers from
    `start` to `ticks` beyond it and prints there or beyond: where nothing rests that
    far, on to the first level that has something (within as far again), taking a lot
    of it. A marker wants the last print moved, not only the book."""
    qty = sum(s.book.depth(-side, start + side * k) for k in range(ticks))
    for k in range(ticks, 2 * ticks + 1):
        there = s.book.depth(-side, start + side * k)
        if there:
            return start + side * k, qty + min(there, s.lots(1))
    return start + side * ticks, qty


def uptick(account: int, side: int, lots: int, moves: float, last: list[int]) -> Action:
    """An order that prints `moves` of the usual move (`Session.ticks`) beyond the
    account's own last print (`last`, shared by the orders of one case), taking
    everything the other side offers up to that price (at least `lots`): each prints
    higher (lower, selling) than the one before, whatever traded between."""
    def act(s: Session, t: float) -> None:
        start = s.touch(-side)
        ahead = 0
        if last:
            ahead = max(0, side * (last[0] - start) + s.ticks(moves))
        price, qty = _through(s, side, start, ahead)
        o = s.order(t, account, side, price, max(s.lots(lots), qty), tif=IOC)
        if o.qty > o.leaves:
            last[:] = [s.book.last]
    return act


def clear(account: int, side: int, moves: float, most: int) -> Action:
    """An order that takes everything the other side offers from its best price to
    `moves` of the usual move beyond it (`Session.ticks`; at most `most` lots) and
    prints there or beyond (`_through`): it moves the price that far."""
    def act(s: Session, t: float) -> None:
        start = s.touch(-side)
        price, qty = _through(s, side, start, s.ticks(moves))
        s.order(t, account, side, price, min(max(qty, s.lots(1)), s.lots(most)), tif=IOC)
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
