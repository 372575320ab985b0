"""Injected, labelled laundering in the payment network: one function per typology.

The shapes are AMLworld's (fan-in, fan-out, cycle, scatter-gather, gather-scatter,
stack, bipartite, random) plus the ones supervisors add: structuring cash below the
CNY 50,000 large-value threshold, rapid pass-through, dormant accounts that wake up with
large sums, and corridors to jurisdictions on FATF's lists. Each draws its size,
amounts and timing from ranges, and one of at least three ways it is carried out (its
variant, in the label), so that detection can be scored on ways it was not set on; the
label's window spans its payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np
import polars as pl

from suptech.simulate.payments import (
    COMPANY, FOREIGN, HIGH_RISK_COUNTRIES, PERSON, Network, payments)

DAY = 86_400.0
REPORTING_THRESHOLD_CENTS = 50_000_00


@dataclass
class Injected:
    typology: str
    accounts: list[int]
    frame: pl.DataFrame  # payments, as `payments()` makes them
    variant: str = ""


#: Ways most shapes are carried out: by mule accounts opened for the purpose, moving the
#: money within hours ("fresh", the only way before the simulator became a family); by
#: accounts that also make and receive ordinary payments ("existing": people who lend
#: their accounts, as in the FCA's and Europol's money-mule cases); spread over days
#: ("slow", as AMLworld's patterns are); or by companies set up for the purpose
#: ("shell": FATF's and the PBoC's cases of corporate accounts of shell companies
#: used to move funds), so that no rule may take an entity's account for business.
SHAPE_VARIANTS = ("fresh", "existing", "slow", "shell")


class Timeline:
    """Moments of one case: a start, then steps forward, within the simulated days;
    `stretch` lengthens every step (a case carried out slowly)."""

    def __init__(self, net: Network, span_days: float, stretch: float = 1.0):
        rng = net.rng
        latest = max(net.first_case_day, int(net.days - span_days * stretch))
        start = rng.uniform(8, 12) + net.shape.hours  # in the network's business hours
        self.t = int(rng.integers(net.first_case_day, latest + 1)) * DAY + start * 3600
        self.rng, self.end, self.stretch = rng, net.days * DAY - 60, stretch

    def step(self, low: float, high: float) -> float:
        # A case that runs into the end of the simulated days is hurried, not stopped:
        # its steps still follow one another (a ring's hops cannot share a moment).
        t = self.t + self.rng.uniform(low, high) * self.stretch
        self.t = t if t < self.end else self.t + (self.end - self.t) / 2
        return self.t


class Case:
    """One injected case: its variant (drawn from `variants`), its time line and where
    its accounts come from."""

    def __init__(self, net: Network, span_days: float, variants=SHAPE_VARIANTS):
        self.net, self.rng = net, net.rng
        self.variant = str(self.rng.choice(variants))
        stretch = self.rng.uniform(4, 10) if self.variant == "slow" else 1.0
        self.tl = Timeline(net, span_days, stretch)

    def step(self, low: float, high: float) -> float:
        return self.tl.step(low, high)

    def accounts(self, n: int) -> list[int]:
        if self.variant == "existing":
            return [int(a) for a in self.rng.choice(self.net.ordinary, n, replace=False)]
        return _mules(self.net, n, COMPANY if self.variant == "shell" else PERSON)

    def injected(self, typology: str, accounts: list[int], frame: pl.DataFrame) -> Injected:
        return Injected(typology, accounts, frame, self.variant)


def _mules(net: Network, n: int, kind: int = PERSON) -> list[int]:
    """Accounts opened for the purpose, as mule accounts usually are: recently; a
    person's, or (`kind` COMPANY) a shell company's."""
    return [int(a) for a in net.add(n, kind, opened_after=date(2024, 1, 1),
                                    opened_before=date(2025, 12, 31))]


def _pay(moments: list[float], debtors: list[int], creditors: list[int],
         cents: list[float] | np.ndarray, channel: str = "MOBILE", **kw) -> pl.DataFrame:
    t = np.array(moments)
    return payments((t // DAY).astype(int), t % DAY, np.array(debtors), np.array(creditors),
                    np.round(np.asarray(cents)), channel=channel, **kw)


def _amount(net: Network, n: int, low: float = 1e6, high: float = 5e7) -> np.ndarray:
    """Amounts in cents, log-uniform, at the network's scale of money."""
    return np.exp(net.rng.uniform(np.log(low), np.log(high), n)) * net.shape.scale


def fan_out(net: Network) -> Injected:
    c = Case(net, 2)
    src, *dst = c.accounts(int(c.rng.integers(6, 21)))
    moments = [c.step(60, 3600) for _ in dst]
    return c.injected("FAN_OUT", [src, *dst],
                      _pay(moments, [src] * len(dst), dst, _amount(net, len(dst))))


def fan_in(net: Network) -> Injected:
    c = Case(net, 2)
    dst, *src = c.accounts(int(c.rng.integers(6, 21)))
    moments = [c.step(60, 3600) for _ in src]
    return c.injected("FAN_IN", [dst, *src],
                      _pay(moments, src, [dst] * len(src), _amount(net, len(src))))


def cycle(net: Network) -> Injected:
    c = Case(net, 3)
    ring = c.accounts(int(c.rng.integers(3, 8)))
    amount = _amount(net, 1)[0]
    moments, cents = [], []
    for _ in ring:
        moments.append(c.step(600, 6 * 3600))
        amount *= c.rng.uniform(0.97, 0.995)  # each hop keeps a little
        cents.append(amount)
    return c.injected("CYCLE", ring, _pay(moments, ring, ring[1:] + ring[:1], cents))


def scatter_gather(net: Network) -> Injected:
    c = Case(net, 3)
    src, sink, *mid = c.accounts(int(c.rng.integers(5, 12)))
    a = _amount(net, len(mid))
    out = [c.step(60, 1800) for _ in mid]
    back = [c.step(600, 3600) for _ in mid]
    frame = pl.concat([_pay(out, [src] * len(mid), mid, a),
                       _pay(back, mid, [sink] * len(mid), a * c.rng.uniform(0.95, 0.99, len(mid)))])
    return c.injected("SCATTER_GATHER", [src, sink, *mid], frame)


def gather_scatter(net: Network) -> Injected:
    c = Case(net, 3)
    accounts = c.accounts(int(c.rng.integers(7, 16)))
    hub, rest = accounts[0], accounts[1:]
    k = len(rest) // 2
    src, dst = rest[:k], rest[k:]
    a = _amount(net, len(src))
    inflow = [c.step(60, 1800) for _ in src]
    share = a.sum() * c.rng.uniform(0.9, 0.98) / len(dst)
    outflow = [c.step(300, 3600) for _ in dst]
    frame = pl.concat([_pay(inflow, src, [hub] * len(src), a),
                       _pay(outflow, [hub] * len(dst), dst, [share] * len(dst))])
    return c.injected("GATHER_SCATTER", accounts, frame)


def stack(net: Network) -> Injected:
    """Layers of accounts, each paying the next layer many-to-many."""
    c = Case(net, 3)
    layers = [c.accounts(int(c.rng.integers(2, 5))) for _ in range(3)]
    frames = []
    for a, b in zip(layers, layers[1:]):
        pairs = [(x, y) for x in a for y in b]
        moments = [c.step(60, 1200) for _ in pairs]
        frames.append(_pay(moments, [x for x, _ in pairs], [y for _, y in pairs],
                           _amount(net, len(pairs))))
    return c.injected("STACK", [x for layer in layers for x in layer], pl.concat(frames))


def bipartite(net: Network) -> Injected:
    c = Case(net, 2)
    left = c.accounts(int(c.rng.integers(3, 7)))
    right = c.accounts(int(c.rng.integers(3, 7)))
    pairs = [(x, y) for x in left for y in right if c.rng.random() < 0.7]
    # Every account drawn for the block takes part in it (the case names it): one that
    # drew no pair pays, or is paid by, one of the other side.
    pairs += [(x, int(c.rng.choice(right))) for x in left if all(x != a for a, _ in pairs)]
    pairs += [(int(c.rng.choice(left)), y) for y in right if all(y != b for _, b in pairs)]
    moments = [c.step(60, 1800) for _ in pairs]
    return c.injected("BIPARTITE", left + right,
                      _pay(moments, [x for x, _ in pairs], [y for _, y in pairs],
                           _amount(net, len(pairs))))


def random_walk(net: Network) -> Injected:
    """Money walked at random among a group. The case names the accounts the walk
    took in; a walk that happens to close a simple ring, each account once and back to
    the first, is a cycle by its shape, so such a walk goes on a step."""
    c = Case(net, 3)
    group = c.accounts(int(c.rng.integers(4, 9)))
    path = [group[0]]
    steps = int(c.rng.integers(5, 15))
    while len(path) <= steps or path[-1] == path[0] and len(set(path)) == len(path) - 1:
        path.append(int(c.rng.choice([g for g in group if g != path[-1]])))
    moments = [c.step(600, 4 * 3600) for _ in path[1:]]
    cents = _amount(net, 1)[0] * np.cumprod(c.rng.uniform(0.9, 1.0, len(moments)))
    return c.injected("RANDOM", list(dict.fromkeys(path)),
                      _pay(moments, path[:-1], path[1:], cents))


def structuring(net: Network) -> Injected:
    """Cash split below the large-value threshold over a few days: by one person alone,
    by a few smurfs opened for it, or by people who otherwise bank normally. (The
    threshold is the law's, in CNY: not at the network's scale.)"""
    c = Case(net, 4, ("alone", "smurfs", "existing"))
    n_smurfs = 1 if c.variant == "alone" else int(c.rng.integers(2, 5))
    smurfs = c.accounts(n_smurfs)
    n = int(c.rng.integers(4, 12))
    who = [int(x) for x in c.rng.choice(smurfs, n)]
    moments = [c.step(1800, 12 * 3600) for _ in range(n)]
    cents = c.rng.uniform(0.85, 0.998, n) * REPORTING_THRESHOLD_CENTS
    deposits = _pay(moments, who, who, cents, channel="CASH", purpose="CASH")
    if n_smurfs == 1:
        return c.injected("STRUCTURING", smurfs, deposits)
    # Smurfs work for someone: each sends what it deposited on to the organiser's
    # account, an hour to a day and a half after its last deposit (FATF: placement by
    # many, then consolidation).
    [organiser] = _mules(net, 1)
    sent = [(max(t for t, w in zip(moments, who) if w == smurf),
             sum(x for x, w in zip(cents, who) if w == smurf), smurf)
            for smurf in sorted(set(who))]
    after = [t + c.rng.uniform(3600, 36 * 3600) for t, _, _ in sent]
    end = c.tl.end  # hurried, not dropped, where the simulated days run out (as `step`)
    on = _pay([a if a < end else t + (end - t) / 2 for a, (t, _, _) in zip(after, sent)],
              [smurf for *_, smurf in sent], [organiser] * len(sent),
              [total * c.rng.uniform(0.9, 0.99) for _, total, _ in sent])
    return c.injected("STRUCTURING", smurfs + [organiser], pl.concat([deposits, on]))


def rapid_movement(net: Network) -> Injected:
    """Large sums in and straight out again, within minutes to a few hours; "slow": the
    same conduit used now and then over days, each pass still quick."""
    c = Case(net, 2)
    through, src, dst = c.accounts(3)
    frames = []
    hold = 1 / c.tl.stretch  # each pass stays quick, however slowly the conduit is used
    for _ in range(int(c.rng.integers(2, 6))):
        a = _amount(net, 1, 5e6, 1e8)[0]
        t_in = c.step(600, 7200)
        t_out = c.step(60 * hold, 3 * 3600 * hold)
        frames.append(_pay([t_in, t_out], [src, through], [through, dst],
                           [a, a * c.rng.uniform(0.97, 1.0)], channel="RTGS"))
    return c.injected("RAPID_MOVEMENT", [through, src, dst], pl.concat(frames))


def dormant_activation(net: Network) -> Injected:
    """An account opened years ago, silent since, suddenly moving large sums: relayed
    from one account to another, collected from several and sent on, or received and
    paid out to several."""
    c = Case(net, 1, ("relay", "collect", "cash-out"))
    [sleeper] = [int(a) for a in net.add(1, PERSON, opened_before=date(2016, 1, 1))]
    idle = c.rng.integers(net.opened[sleeper].toordinal(), date(2020, 1, 1).toordinal())
    net.idle_since[sleeper] = date.fromordinal(int(idle))
    a = _amount(net, 1, 2e7, 2e8)[0]
    k = int(c.rng.integers(2, 6))
    srcs = _mules(net, k if c.variant == "collect" else 1)
    dsts = _mules(net, k if c.variant == "cash-out" else 1)
    ins = [c.step(60, 3600) for _ in srcs]
    outs = [c.step(600, 6 * 3600 / len(dsts)) for _ in dsts]
    channel = str(c.rng.choice(["RTGS", "MOBILE"]))
    return c.injected("DORMANT_ACTIVATION", [sleeper], pl.concat([
        _pay(ins, srcs, [sleeper] * len(srcs), [a / len(srcs)] * len(srcs), channel=channel),
        _pay(outs, [sleeper] * len(dsts), dsts, [a * 0.99 / len(dsts)] * len(dsts),
             channel=channel)]))


def high_risk_corridor(net: Network) -> Injected:
    """Payments to accounts in a listed country ("out"), from them ("in"), or from an
    account that otherwise pays normally ("existing")."""
    c = Case(net, 3, ("out", "in", "existing"))
    [sender] = c.accounts(1) if c.variant == "existing" else _mules(net, 1)
    country = str(c.rng.choice(HIGH_RISK_COUNTRIES))
    k = int(c.rng.integers(1, 4))
    bank = net.bank_country.index(country)
    foreign = [int(a) for a in net.add(k, FOREIGN, banks=np.full(k, bank), country=country)]
    n = int(c.rng.integers(2, 7))
    moments = [c.step(3600, DAY / 2) for _ in range(n)]
    there = [int(x) for x in c.rng.choice(foreign, n)]
    here = [sender] * n
    debtors, creditors = (there, here) if c.variant == "in" else (here, there)
    currency = str(c.rng.choice(["USD", "EUR", "CNY"]))
    return c.injected("HIGH_RISK_CORRIDOR", [sender, *foreign],
                      _pay(moments, debtors, creditors, _amount(net, n, 2e6, 3e7),
                           channel="CIPS", currency=currency, purpose="TRAD"))


PAYMENT_TYPOLOGIES: dict[str, Callable[[Network], Injected]] = {
    "FAN_OUT": fan_out, "FAN_IN": fan_in, "CYCLE": cycle, "SCATTER_GATHER": scatter_gather,
    "GATHER_SCATTER": gather_scatter, "STACK": stack, "BIPARTITE": bipartite,
    "RANDOM": random_walk, "STRUCTURING": structuring, "RAPID_MOVEMENT": rapid_movement,
    "DORMANT_ACTIVATION": dormant_activation, "HIGH_RISK_CORRIDOR": high_risk_corridor,
}
