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


def uptick(account: int, side: int, lots: int) -> Action:
    """An order that takes the other side up to a tick beyond the last trade: each
    one prints a price a tick higher (lower, selling) than the one before."""
    def act(s: Session, t: float) -> None:
        price = side * max(side * s.touch(-side), side * (s.book.last + side))
        s.order(t, account, side, price, s.lots(lots), tif=IOC)
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
