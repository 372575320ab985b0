"""The episodes `suptech simulate risk` injects, each written from its rule's definition
(docs/typologies/risk.md), in variants, its measures drawn in ranges past the line and
kept clear of every other rule's, except where the episode is by definition also another
typology: then it is labelled as that too.

A plan says, per share and day, what an episode sets (a deviation from the index, a
close at the limit, a day's range, how much is traded, a member's share, extra order
flow) and which labels it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suptech.formats.files import Label
from suptech.model.calendar import DEFAULT
from suptech.risk.rules import rules
from suptech.simulate.market import midnight_ns


@dataclass
class Flow:
    """Extra orders an account sends: `kind` "burst" (new orders in one second), "day"
    (new orders over the day, over many shares), "modify" (new orders, each modified,
    some cancelled) or "cancel" (new orders, nearly all cancelled)."""

    kind: str
    account: int
    share: int
    day: int
    orders: int
    cancelled: float = 0.0
    trades: int = 0  # trades the account takes part in, that day, in that share


@dataclass
class Plan:
    deviation: np.ndarray  # (shares, days): a set deviation from the index, or NaN
    limit_hit: np.ndarray  # +1, -1 or 0: the close at the limit
    volume: np.ndarray  # the day's volume as a multiple of the usual
    turnover: np.ndarray  # the day's turnover of the float, set, or NaN
    trades: np.ndarray  # the day's number of trades as a multiple of the usual
    amplitude: np.ndarray  # a set range (high - low) over the previous close, or NaN
    member_share: np.ndarray  # a set share of the day's value for one member, or NaN
    flows: list[Flow] = field(default_factory=list)
    #: (scenario, typology, share or None, account or None, first day, last day, variant)
    marks: list[tuple] = field(default_factory=list)

    @classmethod
    def empty(cls, shares: int, days: int) -> "Plan":
        nan = np.full((shares, days), np.nan)
        return cls(nan.copy(), np.zeros((shares, days), dtype=np.int8),
                   np.ones((shares, days)), nan.copy(), np.ones((shares, days)), nan.copy(),
                   nan.copy())

    def label(self, scenario: str, typology: str, share, account, first: int, last: int,
              variant: str) -> None:
        self.marks.append((scenario, typology, share, account, first, last, variant))

    def labels(self, u, calendar) -> list[Label]:
        out, seen = [], set()
        for scenario, typology, share, account, first, last, variant in self.marks:
            # An episode that is also other typologies has a label for each, apart.
            scenario = scenario if scenario not in seen else f"{scenario}/{typology}"
            seen.add(scenario)
            start = midnight_ns(calendar[first])
            end = DEFAULT.close(DEFAULT.local_day(midnight_ns(calendar[last])))
            out.append(Label(scenario, typology,
                             [u.account_ids[account]] if account is not None else [],
                             u.isin[share] if share is not None else None, start, end,
                             variant))
        return out


def _fits(u, index_ret, i: int, days, devs) -> bool:
    """Whether share i's returns (its index's plus `devs`) stay 0.6 % inside its limit."""
    ix = index_ret[u.index_of(i)]
    return all(abs(ix[d] + v) <= u.limit[i] / 100 - 0.006 for d, v in zip(days, devs))


#: The sd of the indices' daily returns (`simulate_risk`'s).
INDEX_SD = 0.008


def heavy(u, i: int, move: float) -> float:
    """The day's volume, as a multiple of the usual, for a big move on heavy trading:
    at least 3 times, and enough that the day's Amihud measure stays under a quarter of
    the illiquidity rule's line over the share's usual (its usual absolute return, the
    median of a normal's, 0.674 sd, on its usual value). A big move on too little
    trading is a day of illiquidity by definition: not what these episodes are."""
    usual = 0.674 * np.hypot(u.beta[i] * INDEX_SD, u.sigma[i])
    return max(3.0, abs(move) / usual * 4 / rules().illiquidity.multiple)


def abnormal(rng, u, p: Plan, index_ret, i, d, sid):
    """3 days of deviations the same way adding up past the board's line, each day
    clear of the disclosure list's."""
    per_day = {"MAIN": (0.0672, 0.0688), "ST": (0.0412, 0.0440),
               "STAR": (0.1020, 0.1080), "CHINEXT": (0.1020, 0.1080)}[u.board[i]]
    sign = rng.choice([-1, 1])
    devs = sign * rng.uniform(*per_day, 3)
    days = [d, d + 1, d + 2]
    if not _fits(u, index_ret, i, days, devs):
        return False
    p.deviation[i, days] = devs
    p.volume[i, days] = [heavy(u, i, index_ret[u.index_of(i)][x] + v) for x, v in zip(days, devs)]
    p.label(sid, "ABNORMAL_FLUCTUATION", i, None, d, d + 2, "price")
    return True


def abnormal_turnover(rng, u, p: Plan, index_ret, i, d, sid):
    """3 days each turning over 7-8 % of the float (and 60 times the usual), 20 % or
    more in all: abnormal where the board's rules count turnover."""
    if u.board[i] not in ("MAIN", "ST"):
        return False
    days = [d, d + 1, d + 2]
    p.turnover[i, days] = np.maximum(rng.uniform(0.069, 0.08, 3), 60 * u.turnover[i])
    p.label(sid, "ABNORMAL_FLUCTUATION", i, None, d, d + 2, "turnover")
    return True


def severe(rng, u, p: Plan, index_ret, i, d, sid):
    """10 days of -5.1 to -5.4 % deviations: -50 % or more over 10 days, no 3 days of
    them abnormal."""
    if u.board[i] == "ST":
        return False
    days = list(range(d, d + 10))
    devs = -rng.uniform(0.051, 0.054, 10)
    if not _fits(u, index_ret, i, days, devs):
        return False
    p.deviation[i, days] = devs
    p.volume[i, days] = [heavy(u, i, index_ret[u.index_of(i)][x] + v) for x, v in zip(days, devs)]
    p.label(sid, "SEVERE_ABNORMAL_FLUCTUATION", i, None, d, d + 9, "10 days down")
    return True


def disclosure(rng, u, p: Plan, index_ret, i, d, sid):
    """One day on the disclosure list: by deviation (main board) or change (ChiNext,
    STAR), by range, or by turnover."""
    board, wide = u.board[i], u.board[i] in ("STAR", "CHINEXT")
    variant = rng.choice(["price", "range", "turnover"] if board != "ST" else ["turnover"])
    if variant == "price":
        move = rng.choice([-1, 1]) * (rng.uniform(0.153, 0.17) if wide else rng.uniform(0.072, 0.085))
        dev = move - index_ret[u.index_of(i)][d] if wide else move
        if not _fits(u, index_ret, i, [d], [dev]):
            return False
        p.deviation[i, d] = dev
        p.volume[i, d] = heavy(u, i, move)
    elif variant == "range":
        p.amplitude[i, d] = rng.uniform(0.31, 0.34) if wide else rng.uniform(0.155, 0.17)
    else:
        p.turnover[i, d] = rng.uniform(0.31, 0.35) if wide else rng.uniform(0.21, 0.25)
        if not wide:  # 20 % in 3 days and far over the usual: abnormal by turnover too
            p.label(sid, "ABNORMAL_FLUCTUATION", i, None, d, d + 2, "turnover")
    p.label(sid, "DISCLOSURE_TRIGGER", i, None, d, d, variant)
    return True


def limit_run(rng, u, p: Plan, index_ret, i, d, sid):
    """3 closes in a row at the limit, the same way, on heavy trading: by definition
    also 3 days on the disclosure list and an abnormal fluctuation."""
    if u.board[i] == "ST":
        return False
    sign = rng.choice([-1, 1])
    p.limit_hit[i, [d, d + 1, d + 2]] = sign
    p.volume[i, [d, d + 1, d + 2]] = heavy(u, i, u.limit[i] / 100)
    p.label(sid, "CONSECUTIVE_LIMIT_HITS", i, None, d, d + 2, "up" if sign > 0 else "down")
    p.label(sid, "DISCLOSURE_TRIGGER", i, None, d, d + 2, "limit")
    p.label(sid, "ABNORMAL_FLUCTUATION", i, None, d, d + 3, "limit")
    if sign < 0 and u.limit[i] >= 20:  # -60 % in 3 days: past the 10 days' -50 % too
        p.label(sid, "SEVERE_ABNORMAL_FLUCTUATION", i, None, d, d + 2, "limit")
    return True


def concentration(rng, u, p: Plan, index_ret, i, d, sid):
    """A day when one member's two related accounts hold 60-72 % of the value traded."""
    p.member_share[i, d] = rng.uniform(0.60, 0.72)
    p.trades[i, d] = 6  # a busy day: enough trades to rate (the rule needs 20)
    p.label(sid, "TRADING_CONCENTRATION", i, None, d, d, "one member")
    return True


def illiquidity(rng, u, p: Plan, index_ret, i, d, sid):
    """A day of 3 trades and 1 % of the usual value whose close still moves 1.5-2.5 %
    (the move itself, not its deviation from the index: Amihud's measure reads the
    return): its measure some 70-250 times the usual, the 5 days' mean past 10 times."""
    move = rng.choice([-1, 1]) * rng.uniform(0.015, 0.025)
    dev = move - index_ret[u.index_of(i)][d]
    if not _fits(u, index_ret, i, [d], [dev]):
        return False
    p.deviation[i, d] = dev
    p.volume[i, d] = 0.01
    p.trades[i, d] = 0.0  # the fewest: the close's trade and two more
    p.label(sid, "ILLIQUIDITY", i, None, d, d, "thin day")
    return True


def _account_of(rng, u, member: int) -> int:
    return int(rng.choice(np.flatnonzero(u.account_member == member)))


def high_frequency(rng, u, p: Plan, index_ret, i, d, sid):
    """An account of the largest member sending 300-360 new orders in one second, or
    20,000-21,000 over the day across the shares."""
    a = _account_of(rng, u, 0)
    if rng.random() < 0.5:
        p.flows.append(Flow("burst", a, i, d, int(rng.integers(300, 361))))
        variant = "one second"
    else:
        p.flows.append(Flow("day", a, i, d, int(rng.integers(20_000, 21_001))))
        variant = "one day"
    p.label(sid, "HIGH_FREQUENCY_TRADING", None, a, d, d, variant)
    return True


def order_to_trade(rng, u, p: Plan, index_ret, i, d, sid):
    """A member of its own sending 150-200 orders in a share, modifying each once and
    cancelling 40 %, for one trade: 360-480 messages a trade."""
    a = u.own_account(0)
    p.flows.append(Flow("modify", a, i, d, int(rng.integers(150, 201)), 0.4, trades=1))
    p.label(sid, "ORDER_TO_TRADE_RATIO", i, a, d, d, "modify and cancel")
    return True


def cancellation(rng, u, p: Plan, index_ret, i, d, sid):
    """A member of its own entering 150-250 orders in a share and cancelling 96-100 %,
    with 4 trades (so its order-to-trade ratio stays low)."""
    a = u.own_account(1)
    p.flows.append(Flow("cancel", a, i, d, int(rng.integers(150, 251)),
                        rng.uniform(0.96, 1.0), trades=4))
    p.label(sid, "CANCELLATION_RATIO", i, a, d, d, "cancel nearly all")
    return True


#: Episode kinds, each with the trading days it spans (a label may reach one further).
EPISODES = {"abnormal": (abnormal, 4), "abnormal_turnover": (abnormal_turnover, 3),
            "severe": (severe, 11), "disclosure": (disclosure, 3),
            "limit_run": (limit_run, 4), "concentration": (concentration, 1),
            "illiquidity": (illiquidity, 1), "high_frequency": (high_frequency, 1),
            "order_to_trade": (order_to_trade, 1), "cancellation": (cancellation, 1)}


def plan_episodes(rng, u, index_ret, days: int, month: int, each: int = 2) -> Plan:
    """`each` episodes of every kind, each on a share of its own, starting in the last
    `month` days early enough to end inside them."""
    p = Plan.empty(len(u.isin), days)
    free = list(rng.permutation(len(u.isin)))
    n = 0
    for kind, (make, span) in EPISODES.items():
        made = tries = 0
        while made < each and free and tries < 50:
            tries += 1
            i = int(free[0])
            d = int(rng.integers(days - month, days - span + 1))
            if make(rng, u, p, index_ret, i, d, f"RISK-{n + 1:03d}"):
                free.pop(0)
                made += 1
                n += 1
            else:  # another share next (its board may not take this kind)
                free.append(free.pop(0))
        if made < each:
            raise ValueError(f"no room for {each} {kind} episodes: give more instruments")
    return p
