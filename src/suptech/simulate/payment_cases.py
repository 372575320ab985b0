"""Injected, labelled laundering in the payment network: one function per typology.

The shapes are AMLworld's (fan-in, fan-out, cycle, scatter-gather, gather-scatter,
stack, bipartite, random) plus the ones supervisors add: structuring cash below the
CNY 50,000 large-value threshold, rapid pass-through, dormant accounts that wake up with
large sums, and corridors to jurisdictions on FATF's lists. Each draws its size,
amounts and timing from ranges; the label's window spans its payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np
import polars as pl

from suptech.simulate.payments import (
    FOREIGN, HIGH_RISK_COUNTRIES, PERSON, Network, payments)

DAY = 86_400.0
REPORTING_THRESHOLD_CENTS = 50_000_00


@dataclass
class Injected:
    typology: str
    accounts: list[int]
    frame: pl.DataFrame  # payments, as `payments()` makes them


class Timeline:
    """Moments of one case: a start, then steps forward, within the simulated days."""

    def __init__(self, net: Network, span_days: float):
        rng = net.rng
        latest = max(0, int(net.days - span_days))
        self.t = int(rng.integers(0, latest + 1)) * DAY + rng.uniform(8, 12) * 3600
        self.rng, self.end = rng, net.days * DAY - 60

    def step(self, low: float, high: float) -> float:
        self.t = min(self.t + self.rng.uniform(low, high), self.end)
        return self.t


def _mules(net: Network, n: int) -> list[int]:
    """Accounts opened for the purpose, as mule accounts usually are: recently."""
    return [int(a) for a in net.add(n, PERSON, opened_after=date(2024, 1, 1),
                                    opened_before=date(2025, 12, 31))]


def _pay(moments: list[float], debtors: list[int], creditors: list[int],
         cents: list[float] | np.ndarray, channel: str = "MOBILE", **kw) -> pl.DataFrame:
    t = np.array(moments)
    return payments((t // DAY).astype(int), t % DAY, np.array(debtors), np.array(creditors),
                    np.round(np.asarray(cents)), channel=channel, **kw)


def _amount(rng: np.random.Generator, n: int, low: float = 1e6, high: float = 5e7) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def fan_out(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 2)
    src, *dst = _mules(net, int(rng.integers(6, 21)))
    moments = [tl.step(60, 3600) for _ in dst]
    return Injected("FAN_OUT", [src, *dst],
                    _pay(moments, [src] * len(dst), dst, _amount(rng, len(dst))))


def fan_in(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 2)
    dst, *src = _mules(net, int(rng.integers(6, 21)))
    moments = [tl.step(60, 3600) for _ in src]
    return Injected("FAN_IN", [dst, *src],
                    _pay(moments, src, [dst] * len(src), _amount(rng, len(src))))


def cycle(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 3)
    ring = _mules(net, int(rng.integers(3, 8)))
    amount = _amount(rng, 1)[0]
    moments, cents = [], []
    for _ in ring:
        moments.append(tl.step(600, 6 * 3600))
        amount *= rng.uniform(0.97, 0.995)  # each hop keeps a little
        cents.append(amount)
    return Injected("CYCLE", ring, _pay(moments, ring, ring[1:] + ring[:1], cents))


def scatter_gather(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 3)
    src, sink, *mid = _mules(net, int(rng.integers(5, 12)))
    a = _amount(rng, len(mid))
    out = [tl.step(60, 1800) for _ in mid]
    back = [tl.step(600, 3600) for _ in mid]
    frame = pl.concat([_pay(out, [src] * len(mid), mid, a),
                       _pay(back, mid, [sink] * len(mid), a * rng.uniform(0.95, 0.99, len(mid)))])
    return Injected("SCATTER_GATHER", [src, sink, *mid], frame)


def gather_scatter(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 3)
    accounts = _mules(net, int(rng.integers(7, 16)))
    hub, rest = accounts[0], accounts[1:]
    k = len(rest) // 2
    src, dst = rest[:k], rest[k:]
    a = _amount(rng, len(src))
    inflow = [tl.step(60, 1800) for _ in src]
    share = a.sum() * rng.uniform(0.9, 0.98) / len(dst)
    outflow = [tl.step(300, 3600) for _ in dst]
    frame = pl.concat([_pay(inflow, src, [hub] * len(src), a),
                       _pay(outflow, [hub] * len(dst), dst, [share] * len(dst))])
    return Injected("GATHER_SCATTER", accounts, frame)


def stack(net: Network) -> Injected:
    """Layers of accounts, each paying the next layer many-to-many."""
    rng, tl = net.rng, Timeline(net, 3)
    layers = [_mules(net, int(rng.integers(2, 5))) for _ in range(3)]
    frames = []
    for a, b in zip(layers, layers[1:]):
        pairs = [(x, y) for x in a for y in b]
        moments = [tl.step(60, 1200) for _ in pairs]
        frames.append(_pay(moments, [x for x, _ in pairs], [y for _, y in pairs],
                           _amount(rng, len(pairs))))
    return Injected("STACK", [x for layer in layers for x in layer], pl.concat(frames))


def bipartite(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 2)
    left, right = _mules(net, int(rng.integers(3, 7))), _mules(net, int(rng.integers(3, 7)))
    pairs = [(x, y) for x in left for y in right if rng.random() < 0.7] or [(left[0], right[0])]
    moments = [tl.step(60, 1800) for _ in pairs]
    return Injected("BIPARTITE", left + right,
                    _pay(moments, [x for x, _ in pairs], [y for _, y in pairs],
                         _amount(rng, len(pairs))))


def random_walk(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 3)
    group = _mules(net, int(rng.integers(4, 9)))
    at, amount, moments, debtors, creditors, cents = group[0], _amount(rng, 1)[0], [], [], [], []
    for _ in range(int(rng.integers(5, 15))):
        nxt = int(rng.choice([g for g in group if g != at]))
        moments.append(tl.step(600, 4 * 3600))
        debtors.append(at)
        creditors.append(nxt)
        amount *= rng.uniform(0.9, 1.0)
        cents.append(amount)
        at = nxt
    return Injected("RANDOM", group, _pay(moments, debtors, creditors, cents))


def structuring(net: Network) -> Injected:
    """Cash split below the large-value threshold, by one person or a few smurfs,
    often at several banks, over a few days."""
    rng, tl = net.rng, Timeline(net, 4)
    smurfs = _mules(net, int(rng.integers(1, 4)))
    n = int(rng.integers(4, 12))
    who = [int(x) for x in rng.choice(smurfs, n)]
    moments = [tl.step(1800, 12 * 3600) for _ in range(n)]
    cents = rng.uniform(0.85, 0.998, n) * REPORTING_THRESHOLD_CENTS
    return Injected("STRUCTURING", smurfs, _pay(moments, who, who, cents, channel="CASH",
                                                 purpose="CASH"))


def rapid_movement(net: Network) -> Injected:
    """Large sums in and straight out again, within minutes to a few hours."""
    rng, tl = net.rng, Timeline(net, 2)
    through, src, dst = _mules(net, 3)
    frames = []
    for _ in range(int(rng.integers(2, 6))):
        a = _amount(rng, 1, 5e6, 1e8)[0]
        t_in = tl.step(600, 7200)
        t_out = tl.step(60, 3 * 3600)
        frames.append(_pay([t_in, t_out], [src, through], [through, dst],
                           [a, a * rng.uniform(0.97, 1.0)], channel="RTGS"))
    return Injected("RAPID_MOVEMENT", [through, src, dst], pl.concat(frames))


def dormant_activation(net: Network) -> Injected:
    """An account opened years ago, silent since, suddenly moving large sums."""
    rng, tl = net.rng, Timeline(net, 1)
    [sleeper] = [int(a) for a in net.add(1, PERSON, opened_before=date(2016, 1, 1))]
    src, dst = _mules(net, 2)
    a = _amount(rng, 1, 2e7, 2e8)[0]
    moments = [tl.step(60, 3600), tl.step(600, 6 * 3600)]
    return Injected("DORMANT_ACTIVATION", [sleeper],
                    _pay(moments, [src, sleeper], [sleeper, dst], [a, a * 0.99],
                         channel="RTGS"))


def high_risk_corridor(net: Network) -> Injected:
    rng, tl = net.rng, Timeline(net, 3)
    [sender] = _mules(net, 1)
    country = str(rng.choice(HIGH_RISK_COUNTRIES))
    k = int(rng.integers(1, 4))
    bank = net.bank_country.index(country)
    receivers = [int(a) for a in net.add(k, FOREIGN, banks=np.full(k, bank), country=country)]
    n = int(rng.integers(2, 7))
    moments = [tl.step(3600, DAY / 2) for _ in range(n)]
    dests = [int(x) for x in rng.choice(receivers, n)]
    return Injected("HIGH_RISK_CORRIDOR", [sender, *receivers],
                    _pay(moments, [sender] * n, dests, _amount(rng, n, 2e6, 3e7),
                         channel="CIPS", currency="USD", purpose="TRAD"))


PAYMENT_TYPOLOGIES: dict[str, Callable[[Network], Injected]] = {
    "FAN_OUT": fan_out, "FAN_IN": fan_in, "CYCLE": cycle, "SCATTER_GATHER": scatter_gather,
    "GATHER_SCATTER": gather_scatter, "STACK": stack, "BIPARTITE": bipartite,
    "RANDOM": random_walk, "STRUCTURING": structuring, "RAPID_MOVEMENT": rapid_movement,
    "DORMANT_ACTIVATION": dormant_activation, "HIGH_RISK_CORRIDOR": high_risk_corridor,
}
