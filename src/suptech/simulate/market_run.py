"""`suptech simulate market`: reference data, days of orders and trades, and labels."""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from suptech.simulate import cases as C
from suptech.simulate.book import EVENT_TYPES, MARKET, TIME_IN_FORCE, Book, EventLog
from suptech.simulate.market import (
    CONTINUOUS_SECONDS, CST, DEFAULT_ACCOUNTS, DEFAULT_CASES, DEFAULT_INSTRUMENTS, DEFAULT_MEMBERS, SCALES,
    MARKETS, BenignAgents, Session, midnight_ns, run_session, trading_days)
from suptech.formats.files import Label, institution_parties, write_labels, write_reports
from suptech.simulate.universe import REGIONS, VENUE_NAMES, VENUES, Universe, build

DEFAULT_START = date(2026, 3, 2)

#: Called after each simulated session: (sessions done, sessions in all).
Progress = Callable[[int, int], None]


@dataclass
class MarketResult:
    files: list[Path]
    labels: list[Label]
    order_events: int
    trades: int
    #: (day, isin) -> (lowest, highest) price allowed that day, in CNY
    bands: dict[tuple[date, str], tuple[Decimal, Decimal]]


def _price(ticks: pl.Expr, tick_cents: pl.Expr) -> pl.Expr:
    """Integer ticks to an exact decimal price in CNY."""
    return (ticks * tick_cents).cast(pl.Decimal(18, 0)) * pl.lit(Decimal("0.01"),
                                                                  dtype=pl.Decimal(18, 2))


def _limits(price: int, pct: int) -> tuple[int, int]:
    low = max(1, math.ceil(price * (100 - pct) / 100))
    return low, math.floor(price * (100 + pct) / 100)


def simulate_market(out: Path, seed: int = 1, days: int = 1, instruments: int | None = None,
                    scale: str = "small", accounts: int | None = None,
                    members: int | None = None, start: date = DEFAULT_START,
                    cases_per_typology: int | None = None, fmt: str = "parquet",
                    progress: Progress | None = None, market: str = "call") -> MarketResult:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: use {', '.join(SCALES)}")
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}: use {', '.join(MARKETS)}")
    rules = MARKETS[market]
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_inst = instruments or DEFAULT_INSTRUMENTS[scale]
    u = build(rng, n_inst, accounts or DEFAULT_ACCOUNTS[scale], members or DEFAULT_MEMBERS[scale])
    stocks = [i for i, x in enumerate(u.instruments) if x.asset_class == "EQUITY"]
    futures_of = {x.underlying: i for i, x in enumerate(u.instruments) if x.underlying is not None}
    plan = C.Plan(u, days, stocks, futures_of, rules=rules)
    per_typology = cases_per_typology or DEFAULT_CASES[scale] * days
    for code, inject in C.TYPOLOGIES.items():
        for _ in range(per_typology):
            inject(plan, rng)
    C.benign_news(plan, rng)
    C.publish(plan)

    calendar = trading_days(start, days)
    budget = SCALES[scale] // len(u.instruments)
    order_ids = itertools.count(1)
    last = {i: x.price for i, x in enumerate(u.instruments)}
    total_sessions, done = days * len(u.instruments), 0
    files: list[Path] = []
    n_events = n_trades = 0
    first_ids = {"order_event": 1, "trade": 1}
    bands: dict[tuple[date, str], tuple[Decimal, Decimal]] = {}
    for d, day in enumerate(calendar):
        base = midnight_ns(day)
        traded: dict[int, tuple[list[float], list[int]]] = {}
        # Shares first: a future's fair value follows its underlying's traded price.
        order = stocks + sorted(futures_of.values())
        logs = []
        for i in order:
            inst = u.instruments[i]
            low, high = _limits(last[i], inst.limit_pct)
            bands[(day, inst.isin)] = (Decimal(low * inst.tick_cents) / 100,
                                       Decimal(high * inst.tick_cents) / 100)
            log = EventLog(i)
            s = Session(i, inst, day, Book(log, low, high, last[i]), float(last[i]),
                        0.02 * last[i] / math.sqrt(CONTINUOUS_SECONDS),
                        np.random.default_rng([seed, d, i]), order_ids, base, rules=rules)
            if inst.underlying is not None and inst.underlying in traded:
                s.fair_path = _follow(traded[inst.underlying], inst.price / u.instruments[inst.underlying].price, last[inst.underlying])
            for wall, action in plan.actions.get((d, i), []):
                s.at(wall, action)
            run_session(s, BenignAgents(s, u, budget))
            last[i] = s.book.last
            if i in futures_of:
                traded[i] = ([(t - base) / 1e9 for t in log.tr[0]], log.tr[1])
            logs.append(log.frames())  # compact: a full day has ten million events
            done += 1
            if progress:
                progress(done, total_sessions)
        events, trades = _frames(logs, u, first_ids)
        stem = day.isoformat()
        files.append(write_reports(events, "order_event", out, f"order_event-{stem}", fmt))
        files.append(write_reports(trades, "trade", out, f"trade-{stem}", fmt))
        n_events += events.height
        n_trades += trades.height
    files = _reference_files(u, plan, calendar, out, fmt) + files
    labels = _labels(plan, u, calendar)
    files.append(write_labels(labels, out))
    return MarketResult(files, labels, n_events, n_trades, bands)


def _follow(trades: tuple[list[float], list[int]], ratio: float, start: int) -> Callable[[float], float]:
    """A future's fair value in its own ticks: the underlying's last traded price."""
    times, prices = trades

    def fair(t: float) -> float:
        k = bisect.bisect_right(times, t)
        return (prices[k - 1] if k else start) * ratio
    return fair


def _frames(logs: list[tuple[pl.DataFrame, pl.DataFrame]], u: Universe,
            first: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A day's logs as order_event and trade reports; `first` numbers report ids on
    from one day to the next."""
    inst = pl.DataFrame({
        "i": range(len(u.instruments)), "isin": [x.isin for x in u.instruments],
        "mic": [x.mic for x in u.instruments], "tick": [x.tick_cents for x in u.instruments]},
        schema={"i": pl.Int64, "isin": pl.String, "mic": pl.String, "tick": pl.Int64})
    account_ids = pl.Series([a.account_id for a in u.accounts])
    member_leis = pl.Series([u.members[a.member] for a in u.accounts])
    venue = {mic: lei for mic, lei in VENUES.items()}

    def in_time_order(frames: list[pl.DataFrame]) -> pl.DataFrame:
        # Sessions were played one after another; the venue reports them interleaved.
        frames = [f.with_columns(lg=pl.lit(k, dtype=pl.Int64)) for k, f in enumerate(frames)]
        return pl.concat(frames).with_row_index("seq").sort(["ts_event", "seq"]) \
            .join(inst, on="i", how="left", maintain_order="left")

    tr = in_time_order([t for _, t in logs])
    n0 = first["trade"]
    # Each fill names its trade, at the trade's own price and quantity.
    fills = tr.select("lg", "trade_no", f_trade=pl.format("T{}", pl.int_range(n0, n0 + pl.len())),
                      f_px=_price(pl.col("px"), pl.col("tick")), f_qty="quantity")
    ev = in_time_order([e for e, _ in logs]).join(fills, on=["lg", "trade_no"], how="left",
                                                  maintain_order="left")
    n0 = first["order_event"]
    events = ev.select(
        pl.format("OE{}", pl.int_range(n0, n0 + pl.len())).alias("report_id"),
        pl.lit("NEW").alias("action"),
        member_leis.gather(ev["acct"]).alias("submitter"),  # brokers report their orders
        "ts_event",
        pl.format("O{}", "oid").alias("order_id"),
        pl.col("et").replace_strict(list(range(7)), list(EVENT_TYPES)).alias("event_type"),
        "isin", "mic",
        account_ids.gather(ev["acct"]).alias("account_id"),
        member_leis.gather(ev["acct"]).alias("member_lei"),
        pl.when(pl.col("side") == 1).then(pl.lit("BUY")).otherwise(pl.lit("SELL")).alias("side"),
        pl.when(pl.col("kind") == MARKET).then(pl.lit("MARKET")).otherwise(pl.lit("LIMIT"))
        .alias("order_type"),
        pl.when(pl.col("kind") != MARKET).then(_price(pl.col("px"), pl.col("tick"))).alias("price"),
        "quantity", "leaves_quantity",
        pl.col("tif").replace_strict(list(range(4)), list(TIME_IN_FORCE)).alias("time_in_force"),
        pl.col("f_trade").alias("trade_id"), pl.col("f_px").alias("fill_price"),
        pl.col("f_qty").alias("fill_quantity"),
    )
    first["order_event"] = n0 + events.height

    n0 = first["trade"]
    trades = tr.select(
        pl.format("TR{}", pl.int_range(n0, n0 + pl.len())).alias("report_id"),
        pl.lit("NEW").alias("action"),
        pl.col("mic").replace_strict(venue).alias("submitter"),
        "ts_event",
        pl.format("T{}", pl.int_range(n0, n0 + pl.len())).alias("trade_id"),
        "isin", "mic",
        _price(pl.col("px"), pl.col("tick")).alias("price"),
        "quantity",
        account_ids.gather(tr["buy"]).alias("buy_account_id"),
        account_ids.gather(tr["sell"]).alias("sell_account_id"),
        pl.format("O{}", "buy_oid").alias("buy_order_id"),
        pl.format("O{}", "sell_oid").alias("sell_order_id"),
        pl.when(pl.col("agg") == 1).then(pl.lit("BUY")).otherwise(pl.lit("SELL"))
        .alias("aggressor_side"),
    )
    first["trade"] = n0 + trades.height
    return events, trades


def _reference_files(u: Universe, plan: C.Plan, calendar: list[date], out: Path,
                     fmt: str) -> list[Path]:
    """Instruments, parties, accounts, insider lists and announcements."""
    morning = datetime.combine(calendar[0], datetime.min.time(), CST) + timedelta(hours=8)
    ts = int(morning.timestamp()) * 1_000_000_000
    venue_of = lambda mic: VENUES[mic]  # noqa: E731
    instruments = pl.DataFrame([{
        "report_id": f"IN{i + 1}", "action": "NEW", "submitter": venue_of(x.mic), "ts_event": ts,
        "isin": x.isin, "mic": x.mic, "name": x.name, "asset_class": x.asset_class,
        "currency": "CNY", "tick_size": Decimal(x.tick_cents) / 100, "lot_size": x.lot,
        "board": x.board,
        "underlying_isin": u.instruments[x.underlying].isin if x.underlying is not None else None,
        "price_limit_pct": Decimal(x.limit_pct), "product_risk_level": "R4" if x.asset_class == "FUTURE" else "R3",
    } for i, x in enumerate(u.instruments)], schema_overrides={
        "tick_size": pl.Decimal(18, 2), "price_limit_pct": pl.Decimal(18, 0),
        "underlying_isin": pl.String})
    # A party is reported by the member holding its (first) account.
    reporter = {}
    for a in u.accounts:
        reporter.setdefault(a.owner, u.members[a.member])
    parties = pl.DataFrame([{
        "report_id": f"PA{i + 1}", "action": "NEW", "submitter": reporter.get(i, u.members[0]),
        "ts_event": ts, "party_id": p.party_id, "party_type": p.party_type, "lei": p.lei,
        "region": p.region, "investor_class": p.investor_class, "group_id": p.group_id,
    } for i, p in enumerate(u.parties)], schema_overrides={"lei": pl.String, "group_id": pl.String})
    parties = pl.concat([parties, institution_parties(
        [(lei, f"Member {k + 1} Securities Co., Ltd.",
          REGIONS[k % len(REGIONS)]) for k, lei in enumerate(u.members)]
        + [(VENUES[mic], name, region) for mic, (name, region) in VENUE_NAMES.items()], ts)],
        how="diagonal_relaxed")
    accounts = pl.DataFrame([{
        "report_id": f"AC{i + 1}", "action": "NEW", "submitter": u.members[a.member],
        "ts_event": ts, "account_id": a.account_id, "owner_party_id": u.parties[a.owner].party_id,
        "member_lei": u.members[a.member], "account_type": a.account_type, "opened_date": a.opened,
    } for i, a in enumerate(u.accounts)])
    insiders = pl.DataFrame([{
        "report_id": f"IL{k + 1}", "action": "NEW", "submitter": VENUES[u.instruments[inst].mic],
        "ts_event": ts, "isin": u.instruments[inst].isin, "party_id": u.parties[party].party_id,
        "valid_from": calendar[0] - timedelta(days=before), "valid_to": None,
    } for k, (inst, party, before) in enumerate(plan.insiders)],
        schema_overrides={"valid_to": pl.Date})
    announcements = pl.DataFrame([{
        "report_id": f"AN{k + 1}", "action": "NEW", "submitter": VENUES[u.instruments[a.instrument].mic],
        "ts_event": midnight_ns(calendar[a.day]) + int(a.time * 1e9),
        "announcement_id": f"N{k + 1}", "isin": u.instruments[a.instrument].isin,
        "category": a.category, "price_sensitive": a.price_sensitive,
    } for k, a in enumerate(sorted(plan.announcements, key=lambda a: (a.day, a.time)))])
    stem = calendar[0].isoformat()
    return [write_reports(instruments, "instrument", out, "instrument", fmt),
            write_reports(parties, "party", out, "party", fmt),
            write_reports(accounts, "account", out, "account", fmt),
            write_reports(insiders, "insider", out, "insider", fmt),
            write_reports(announcements, "announcement", out, f"announcement-{stem}", fmt)]


def _labels(plan: C.Plan, u: Universe, calendar: list[date]) -> list[Label]:
    labels = []
    for case in plan.cases:
        window = C.label_window(case)
        if window is None:  # scheduled after the close: nothing happened
            continue
        (d0, t0), (d1, t1) = window
        labels.append(Label(
            case.scenario_id, case.typology, [u.accounts[a].account_id for a in case.accounts],
            u.instruments[case.instrument].isin,
            midnight_ns(calendar[d0]) + int(t0 * 1e9), midnight_ns(calendar[d1]) + int(t1 * 1e9),
            case.variant))
    return labels
