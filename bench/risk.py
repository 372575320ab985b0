"""Risk indicators' throughput: every indicator over 3,000 shares and 250 trading days
on DuckDB, with time and peak memory; in the same run, a plain pandas implementation of
two of them (abnormal fluctuation, the order-to-trade ratio) over the same reports as
the baseline, and a check that the two agree.

    .venv/bin/python bench/risk.py [--instruments 3000] [--days 250] [--trades 8]
    .venv/bin/python bench/risk.py --quality --seeds 2302,2303 [--instruments 200]

With --quality, the month's detection quality instead: each seed a simulated market of
`--days` days whose last 22 hold the injected episodes, every risk alert over all the
days scored against the labels (docs/typologies/risk.md says what each episode is).

Each measurement runs in its own process, so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from scan import PEAK, child  # bench/scan.py: a measurement in a process of its own

#: Every risk indicator over every day of a store (argv[1]): its alerts and its levels.
OURS = PEAK + """
import json, sys, time
from suptech.store.database import open_store
from suptech.detect.run import run
from suptech.risk.levels import indicators
store = open_store(sys.argv[1])
t = time.perf_counter()
alerts = run(store, indicators())
seconds = time.perf_counter() - t
store.close()
by = {t: n for t, n in alerts.group_by("typology").len().iter_rows()}
# Abnormal fluctuations by price (the baseline does not count turnover's).
by_price = sum(round(abs(w["value"]) / w["line"], 9) >= 1 for w in map(
    json.loads, alerts.filter(alerts["typology"] == "ABNORMAL_FLUCTUATION")["explanation"]))
print(json.dumps({"seconds": seconds, "alerts": by, "indicators": len(indicators()),
                  "abnormal_by_price": by_price, "peak_mb": peak_mb()}))
"""

#: The baseline: abnormal fluctuation (3-day cumulative deviation from the board's index,
#: main board and ST lines, with the exchanges' count afresh) and the order-to-trade
#: ratio per member, share and day, in pandas over the simulator's files (argv[1]).
PANDAS = PEAK + """
import glob, json, sys, time
import numpy as np, pandas as pd
d = sys.argv[1]
t = time.perf_counter()
trades = pd.concat(pd.read_parquet(f, columns=["ts_event", "isin", "price", "quantity",
        "trade_id", "buy_account_id", "sell_account_id"])
    for f in sorted(glob.glob(d + "/trade-*.parquet")))
events = pd.concat(pd.read_parquet(f, columns=["ts_event", "event_type", "isin",
        "member_lei"]) for f in sorted(glob.glob(d + "/order_event-*.parquet")))
inst = pd.read_parquet(d + "/instrument.parquet")
accounts = pd.read_parquet(d + "/account.parquet")
levels = pd.read_parquet(d + "/index_level.parquet")
day = lambda ts: (ts + 8 * 3600 * 10**9) // (86400 * 10**9)
trades["day"] = day(trades.ts_event)
trades["price"] = trades.price.astype(float)
trades = trades.sort_values("ts_event")
bars = trades.groupby(["isin", "day"]).price.last().reset_index(name="close")
bars["ret"] = bars.groupby("isin").close.pct_change()
bars = bars.merge(inst[["isin", "board", "mic"]], on="isin")
index_of = {("MAIN", "XSHG"): "000001", ("ST", "XSHG"): "000001", ("MAIN", "XSHE"): "399001",
            ("ST", "XSHE"): "399001", ("STAR", "XSHG"): "000688", ("CHINEXT", "XSHE"): "399006"}
bars["index_id"] = [index_of.get(k) for k in zip(bars.board, bars.mic)]
levels["day"] = day(levels.ts_event)
levels["level"] = levels.level.astype(float)
levels = levels.sort_values("day")
levels["index_ret"] = levels.groupby("index_id")["level"].pct_change()
bars = bars.merge(levels[["index_id", "day", "index_ret"]], on=["index_id", "day"], how="left")
bars["dev"] = bars.ret - bars.index_ret
bars = bars.sort_values(["isin", "day"])
g = bars.groupby("isin").dev
bars["cum3"] = g.rolling(3, min_periods=3).sum().reset_index(level=0, drop=True)
line = bars.board.map({"MAIN": 0.20, "ST": 0.12, "CHINEXT": 0.30, "STAR": 0.30})
bars["breach"] = (bars.cum3.abs() / line).round(9) >= 1
abnormal = 0
for _, b in bars.groupby("isin").breach:  # counted afresh after each trigger
    last = -10
    for k, hit in enumerate(b.to_numpy()):
        if hit and (k - last >= 3 or not b.iloc[k - 1]):
            abnormal, last = abnormal + 1, k
events["day"] = day(events.ts_event)
msgs = events[events.event_type.isin(["NEW", "MODIFY", "CANCEL"])] \\
    .groupby(["member_lei", "isin", "day"]).size().rename("messages")
member = accounts.set_index("account_id")["member_lei"]
sides = pd.concat([  # a member's trades, on either side, each once
    trades[["trade_id", "isin", "day"]].assign(member_lei=trades.buy_account_id.map(member)),
    trades[["trade_id", "isin", "day"]].assign(member_lei=trades.sell_account_id.map(member))])
done = sides.drop_duplicates().groupby(["member_lei", "isin", "day"]).size().rename("trades")
otr = pd.concat([msgs, done], axis=1).fillna(0)
otr = otr[otr.messages >= 100]
over = int(((otr.messages / otr.trades.clip(lower=1)) / 250).round(9).ge(1).sum())
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "abnormal": abnormal, "otr_over": over,
                  "peak_mb": peak_mb()}))
"""


def build(work: Path, seed: int, instruments: int, days: int, trades: float) -> tuple[Path, Path]:
    """A simulated market ingested into a store; its days end more than a week before
    today (later ones would be refused as reports from the future)."""
    import datetime as dt

    from suptech.ingest.pipeline import ingest_files
    from suptech.simulate.risk_run import simulate_risk
    from suptech.store.database import open_store

    sim, db = work / f"sim-{seed}", work / f"db-{seed}"
    t = time.perf_counter()
    start = dt.date.today() - dt.timedelta(days=days * 7 // 5 + 30)
    made = simulate_risk(sim, seed=seed, instruments=instruments, days=days, trades=trades,
                         start=start - dt.timedelta(days=start.weekday()))
    print(f"simulated {instruments} shares x {days} days: {made.trades:,} trades, "
          f"{made.order_events:,} order events in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    store = open_store(db)
    results = ingest_files(store, sorted(sim.glob("*.parquet")))
    store.close()
    rejected = sum(r.summary.rejected for r in results)
    print(f"ingested in {time.perf_counter() - t:.0f} s ({rejected} rejected)", flush=True)
    return sim, db


def speed(args, work: Path) -> None:
    sim, db = work / f"sim-{args.seed}", work / f"db-{args.seed}"
    if not (args.keep and db.exists()):  # --keep a built one: measure it again
        sim, db = build(work, args.seed, args.instruments, args.days, args.trades)
    ours = child(OURS, str(db))
    base = child(PANDAS, str(sim))
    print(f"suptech (DuckDB), all {ours['indicators']} indicators: "
          f"{ours['seconds']:.1f} s, peak {ours['peak_mb']:.0f} MB; alerts {ours['alerts']}")
    print(f"pandas baseline, abnormal fluctuation and order-to-trade only: "
          f"{base['seconds']:.1f} s, peak {base['peak_mb']:.0f} MB")
    same = (base["abnormal"] == ours["abnormal_by_price"],
            base["otr_over"] == ours["alerts"].get("ORDER_TO_TRADE_RATIO", 0))
    print(f"the two agree: abnormal fluctuations by price {base['abnormal']} "
          f"({'same' if same[0] else 'DIFFERENT'}), order-to-trade over the line "
          f"{base['otr_over']} ({'same' if same[1] else 'DIFFERENT'})")


def quality(args, work: Path) -> None:
    import polars as pl

    from suptech.detect.evaluate import score

    totals: dict[str, list[int]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        sim, db = build(work, seed, args.instruments, args.days, args.trades)
        from suptech.detect.run import run
        from suptech.risk.levels import indicators
        from suptech.store.database import open_store

        store = open_store(db)
        alerts = run(store, indicators())
        store.close()
        add_scores(totals, score(pl.read_csv(sim / "labels.csv"), alerts))
    print_scores(totals)


def add_scores(totals: dict[str, list[int]], scores) -> None:
    """Seeds' scores summed per typology: cases, found, alerts, true alerts."""
    for s in scores:
        t = totals.setdefault(s.typology, [0, 0, 0, 0])
        for k, v in enumerate((s.cases, s.found, s.alerts, s.true_alerts)):
            t[k] += v


def print_scores(totals: dict[str, list[int]]) -> None:
    """The summed scores as a table, recall and precision beside, ALL last."""
    print(f"{'typology':30} {'cases':>5} {'found':>5} {'alerts':>6} {'true':>5} "
          f"{'recall':>6} {'precision':>9}")
    for name, (cases, found, alerts, true) in sorted(totals.items(), key=lambda x: x[0] == "ALL"):
        r = found / cases if cases else float("nan")
        p = true / alerts if alerts else float("nan")
        print(f"{name:30} {cases:5} {found:5} {alerts:6} {true:5} {r:6.2f} {p:9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instruments", type=int, default=3000)
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--trades", type=float, default=8.0, help="mean trades a share a day")
    ap.add_argument("--seed", type=int, default=2401)
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--seeds", default="2302,2303,2304")
    ap.add_argument("--keep", type=Path, help="work here, and keep it (a store built "
                    "there before is measured again)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-risk-"))
    try:
        (quality if args.quality else speed)(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
