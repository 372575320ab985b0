"""`suptech simulate risk`: a market of many shares over many days, at the daily grain
the risk indicators read, with labelled episodes injected.

Each share follows its board's index (one per board and venue, as the exchanges' rules
name them) with a beta and a noise of its own; its day's trades run from the previous
close to the close with small moves between, among accounts of many members; resting
orders are entered and some cancelled. The noise is kept far below every rule's line:
an ordinary day raises nothing, so that every alert on the month is an injected
episode's or a false alarm.

Episodes (`EPISODES`) are written from the rules' definitions, each in variants and with
its measures drawn in ranges past its line: the days it covers are labelled with what
it is. Where an episode is by definition also another typology (three limit-up closes
are three days on the disclosure list and an abnormal fluctuation), those labels go
with it. An episode's big moves come with heavy trading, as they do on a market, so
that they are not also days of illiquidity.

Beside the market, `banks` institutions report their capital and interbank exposures,
with episodes of exposure contagion of their own (`suptech.simulate.exposures`), and
their new technologies and innovation pilots, with breaches (`suptech.simulate.register`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from suptech.formats import ids
from suptech.formats.files import Label, write_labels, write_reports
from suptech.risk.rules import rules
from suptech.simulate.market import midnight_ns, trading_days
from suptech.simulate.risk_day import SECOND, day as one_day
from suptech.simulate.exposures import simulate_exposures
from suptech.simulate.register import simulate_register
from suptech.simulate.risk_episodes import INDEX_SD, Plan, plan_episodes

DEFAULT_START = date(2026, 1, 5)
#: Boards, their share of the listing, venues, price limits (%) and indices.
BOARDS = {
    "MAIN": (0.55, ("XSHG", "XSHE"), 10),
    "ST": (0.10, ("XSHG", "XSHE"), 5),
    "STAR": (0.15, ("XSHG",), 20),
    "CHINEXT": (0.20, ("XSHE",), 20),
}
INDEX = {("MAIN", "XSHG"): "000001", ("ST", "XSHG"): "000001", ("MAIN", "XSHE"): "399001",
         ("ST", "XSHE"): "399001", ("STAR", "XSHG"): "000688", ("CHINEXT", "XSHE"): "399006"}
VENUE = {"XSHG": ids.lei("SSEX", 1), "XSHE": ids.lei("SZSE", 1)}
OWN_MEMBERS = 3


@dataclass
class RiskResult:
    files: list[Path]
    labels: list[Label]
    trades: int
    order_events: int


def simulate_risk(out: Path, seed: int = 1, instruments: int = 60, days: int = 44,
                  month: int = 22, trades: float = 40.0, accounts: int = 2_000,
                  members: int = 20, each: int = 2, fmt: str = "parquet",
                  start: date = DEFAULT_START, progress=None, banks: int = 40) -> RiskResult:
    """`days` trading days; `each` episodes of every kind (0: none) fall in the last
    `month` of them (the days before are the shares' history). `trades`: mean trades a
    share a day. `banks`: institutions reporting exposures (0: none).
    `progress(done, days)` after each day."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    calendar = trading_days(start, days)
    u = _universe(rng, instruments, accounts, members)
    index_ret = {ix: rng.normal(0.0, INDEX_SD, days) for ix in sorted(set(INDEX.values()))}
    plan = plan_episodes(rng, u, index_ret, days, month, each) if each \
        else Plan.empty(instruments, days)
    closes = _closes(rng, u, plan, index_ret)
    files = _reference(u, calendar, index_ret, out, fmt)
    day_trades, day_events = [], []
    first_trade = first_event = 0
    for d, day in enumerate(calendar):
        t, e = one_day(rng, u, plan, closes, d, midnight_ns(day), trades, first_trade,
                       first_event)
        first_trade += t.height
        first_event += e.height
        files.append(write_reports(t, "trade", out, f"trade-{day}", fmt))
        files.append(write_reports(e, "order_event", out, f"order_event-{day}", fmt))
        day_trades.append(t.height)
        day_events.append(e.height)
        if progress:
            progress(d + 1, days)
    labels = plan.labels(u, calendar)
    if banks:
        ex = simulate_exposures(rng, calendar, month, banks, each, rules().debtrank.line)
        files.append(write_reports(ex.capital, "institution_capital", out,
                                   "institution_capital", fmt))
        files.append(write_reports(ex.exposures, "exposure", out, "exposure", fmt))
        labels += ex.labels
        reg = simulate_register(rng, calendar, month, banks, each)
        for kind, frame in reg.frames().items():
            files.append(write_reports(frame, kind, out, kind, fmt))
        labels += reg.labels
    files.append(write_labels(labels, out))
    return RiskResult(files, labels, sum(day_trades), sum(day_events))


@dataclass
class Universe:
    isin: list[str]
    board: np.ndarray  # of str
    mic: np.ndarray
    limit: np.ndarray  # %
    float_shares: np.ndarray
    first_price: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    turnover: np.ndarray  # a day's usual share of the float traded
    account_ids: list[str]
    account_member: np.ndarray
    member_leis: list[str]
    #: Members that trade for themselves alone, two accounts each, of one owner: where
    #: an episode's own member sends its orders, so that its ratios are its own.
    own_members: list[int]

    def index_of(self, i: int) -> str:
        return INDEX[(self.board[i], self.mic[i])]

    def own_account(self, j: int, k: int = 0) -> int:
        """Account k (0 or 1) of own member j."""
        return int(np.flatnonzero(self.account_member == self.own_members[j])[k])

    @property
    def ordinary(self) -> int:
        """How many accounts trade the ordinary flow (the own members' come after)."""
        return int((self.account_member < self.own_members[0]).sum())


def _universe(rng, n: int, n_accounts: int, n_members: int) -> Universe:
    names = list(BOARDS)
    board = rng.choice(names, n, p=[BOARDS[b][0] for b in names])
    mic = np.array([rng.choice(BOARDS[b][1]) for b in board])
    limit = np.array([BOARDS[b][2] for b in board])
    # Members' weights fall off (a few large brokers): the member HHI of a day is
    # about 0.1, far from the concentration rule's floor of 0.25.
    weights = 1.0 / np.arange(1, n_members + 1) ** 0.6
    own = list(range(n_members, n_members + OWN_MEMBERS))
    member = np.concatenate([rng.choice(n_members, n_accounts, p=weights / weights.sum()),
                             np.repeat(own, 2)])
    return Universe(
        isin=[ids.isin_code("CN", 100_000 + i, "R") for i in range(n)], board=board, mic=mic,
        limit=limit, float_shares=rng.integers(50, 500, n) * 1_000_000,
        first_price=rng.uniform(20, 150, n), beta=rng.uniform(0.8, 1.2, n),
        sigma=rng.uniform(0.006, 0.012, n), turnover=rng.uniform(0.0005, 0.002, n),
        account_ids=[f"RA{k:06d}" for k in range(n_accounts + 2 * OWN_MEMBERS)],
        account_member=member,
        member_leis=[ids.lei("MEMB", m + 1) for m in range(n_members + OWN_MEMBERS)],
        own_members=own)


def _closes(rng, u: Universe, plan: Plan, index_ret: dict) -> np.ndarray:
    """Each share's close each day, in ticks of 0.01: its index's return times its beta
    plus its noise, within its price limit; an episode sets a day's deviation itself."""
    n, days = len(u.isin), plan.deviation.shape[1]
    closes = np.zeros((n, days), dtype=np.int64)
    for i in range(n):
        ix = index_ret[u.index_of(i)]
        price = round(u.first_price[i] * 100)
        closes[i, 0] = price
        for d in range(1, days):
            set_dev = plan.deviation[i, d]
            if plan.limit_hit[i, d]:
                # The exchanges' limit price: the previous close moved by the limit,
                # rounded half up to the tick (in whole ticks, exactly).
                moved = price * (100 + int(u.limit[i]) * int(plan.limit_hit[i, d]))
                new = (2 * moved + 100) // 200
            else:
                noise = rng.normal(0, u.sigma[i])
                ret = ix[d] + set_dev if not np.isnan(set_dev) else u.beta[i] * ix[d] + noise
                cap = u.limit[i] / 100 - 0.01  # an ordinary day stays off the limit
                new = round(price * (1 + float(np.clip(ret, -cap, cap))))
            closes[i, d] = price = max(new, 1)
    return closes


def _reference(u: Universe, calendar: list[date], index_ret: dict, out: Path,
               fmt: str) -> list[Path]:
    """Shares, parties, accounts, share capital and index levels."""
    morning = midnight_ns(calendar[0]) + 8 * 3600 * SECOND
    n, venue = len(u.isin), [VENUE[m] for m in u.mic]
    instruments = pl.DataFrame({
        "report_id": [f"RI{i}" for i in range(n)], "action": "NEW", "submitter": venue,
        "ts_event": morning, "isin": u.isin, "mic": list(u.mic),
        "name": [f"Share {i}" for i in range(n)], "asset_class": "EQUITY", "currency": "CNY",
        "tick_size": "0.01", "lot_size": 100, "board": list(u.board),
        "price_limit_pct": [str(x) for x in u.limit]})
    capital = pl.DataFrame({
        "report_id": [f"RC{i}" for i in range(n)], "action": "NEW", "submitter": venue,
        "ts_event": morning, "isin": u.isin, "total_shares": 2 * u.float_shares,
        "float_shares": u.float_shares})
    accounts = len(u.account_ids)
    owner = [f"RP{k}" if u.account_member[k] < u.own_members[0]
             else f"RP-OWN{u.account_member[k]}" for k in range(accounts)]
    submitter = [u.member_leis[m] for m in u.account_member]
    first = dict(zip(owner, submitter))
    parties = pl.DataFrame({
        "report_id": [f"RPR{k}" for k in range(len(first))], "action": "NEW",
        "submitter": list(first.values()), "ts_event": morning, "party_id": list(first),
        "party_type": "PERSON", "region": "CN-SH"})
    account = pl.DataFrame({
        "report_id": [f"RAC{k}" for k in range(accounts)], "action": "NEW",
        "submitter": submitter, "ts_event": morning, "account_id": u.account_ids,
        "owner_party_id": owner, "member_lei": submitter,
        "account_type": ["CASH" if m < u.own_members[0] else "PROPRIETARY"
                         for m in u.account_member],
        "opened_date": date(2020, 1, 2)})
    levels = []
    for ix, rets in index_ret.items():
        level = 3000 * np.cumprod(1 + rets)
        levels.append(pl.DataFrame({
            "index_id": ix, "level": [f"{x:.4f}" for x in level],
            "ts_event": [midnight_ns(d) + 15 * 3600 * SECOND for d in calendar]}))
    levels = pl.concat(levels).with_row_index("k").select(
        pl.format("RL{}", "k").alias("report_id"), pl.lit("NEW").alias("action"),
        pl.lit(ids.lei("CSIX", 1)).alias("submitter"), "ts_event", "index_id", "level")
    return [write_reports(instruments, "instrument", out, "instrument", fmt),
            write_reports(parties, "party", out, "party", fmt),
            write_reports(account, "account", out, "account", fmt),
            write_reports(capital, "share_capital", out, "share_capital", fmt),
            write_reports(levels, "index_level", out, "index_level", fmt)]


def one_file_a_type(files: list[Path], out: Path) -> list[Path]:
    """A simulated market's files with the days' orders and trades as one file a type in
    `out` (a file's fixed cost, day after day, is not what a test or the demo is about);
    no labels."""
    kept = [f for f in files if f.suffix == ".parquet"
            and not f.stem.startswith(("trade-", "order_event-"))]
    for kind in ("trade", "order_event"):
        days = sorted(f for f in files if f.stem.startswith(f"{kind}-"))
        pl.concat([pl.read_parquet(f) for f in days]).write_parquet(out / f"{kind}.parquet")
        kept.append(out / f"{kind}.parquet")
    return kept
