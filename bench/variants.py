"""Leave one variant out: is a typology's way of being carried out found when the
detector's parameters were chosen without ever seeing it?

For each typology the simulator carries out more than one way (the labels' `variant`,
`docs/typologies/`), and for each of its ways: the detector's main threshold is chosen
from a grid on the tuning seeds, scored on the other ways only (the left-out way's
cases, and the alerts that match them, are not shown to the choice); then the chosen
value is scored on fresh seeds, on the left-out way's cases. Each seed is played in
each kind of market (`suptech.simulate.market.MARKETS`), and a kind of market is left
out the same way: the threshold chosen on the other kinds, scored on this one (there
the precision column is the left-out market's own).

    .venv/bin/python bench/variants.py [--tune 1 2 3] [--score 101 102 103 104 105]
        [--detectors spoofing,marking_the_close]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
from detection import of_run

from suptech.detect.base import REGISTRY
from suptech.detect.evaluate import matches, score
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.market import MARKETS
from suptech.simulate.market_run import simulate_market
from suptech.store.database import open_store

#: Per detector, the threshold chosen and the values tried.
GRIDS = {
    "spoofing": ("min_size", [3, 5, 8, 12]),
    "layering": ("min_size", [2, 3, 4, 6]),
    "ramping": ("min_size", [1.25, 1.5, 2, 3]),
    "wash_trade": ("max_gap_s", [1, 2, 5, 20]),
    "insider_dealing": ("min_move", [0.005, 0.01, 0.02, 0.04]),
    "pump_and_dump": ("min_focus", [0, 0.5, 0.7, 0.9]),
    "front_running": ("min_client_size", [10, 25, 50, 100]),
    "marking_the_close": ("min_move", [1.5, 2, 3, 4]),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tune", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--score", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--detectors", help="Comma-separated detector ids of GRIDS "
                                            "(default: all of them).")
    args = parser.parse_args()
    grids = {d: GRIDS[d] for d in (args.detectors.split(",") if args.detectors else GRIDS)}
    work = Path(tempfile.mkdtemp(prefix="suptech-variants-"))
    try:
        stores = {}
        for seed in args.tune + args.score:
            for market in MARKETS:
                name = f"{seed}-{market}"
                out = work / f"sim-{name}"
                simulate_market(out, seed=seed, days=args.days, scale="small", market=market)
                store = open_store(work / f"db-{name}")
                ingest_files(store, sorted(out.glob("*.parquet")))
                stores[name] = (store, of_run(pl.read_csv(out / "labels.csv"), "scenario_id",
                                              name, market))
        print("| typology | left out | chosen | its cases | found | "
              "recall | precision, all ways |\n|---|---|---|---|---|---|---|")
        for detector, (param, grid) in grids.items():
            leave_out(detector, param, grid, stores, args)
        for store, _ in stores.values():
            store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def leave_out(detector: str, param: str, grid: list, stores: dict, args) -> None:
    cls = REGISTRY.detectors[detector]
    typology = cls.typology
    found = {}  # (value, seed group) -> labels, alerts
    for value in grid:
        d = cls(replace(cls.Params(), **{param: value}))
        for group, seeds in (("tune", args.tune), ("score", args.score)):
            labels, alerts = [], []
            for name, (store, lab) in stores.items():
                if int(name.split("-")[0]) in seeds:
                    labels.append(lab.filter(pl.col("typology") == typology))
                    alerts.append(of_run(run(store, [d]), "alert_id", name, name.split("-")[1]))
            found[value, group] = pl.concat(labels), pl.concat(alerts)
    for market in MARKETS:  # tuned on the other kinds of market, scored on this one
        best = max(grid, key=lambda v: score(*(f.filter(pl.col("market") != market)
                                             for f in found[v, "tune"]))[0].f1)
        labels, alerts = (f.filter(pl.col("market") == market) for f in found[best, "score"])
        s = score(labels, alerts)[0]
        print(f"| {typology} | market: {market} | {param} = {best} | {s.cases} | {s.found} | "
              f"{s.recall:.2f} | {s.precision:.2f} |")
    variants = sorted(set(found[grid[0], "tune"][0]["variant"].drop_nulls()) - {""})
    for left in variants:
        def f1_without(value) -> float:
            labels, alerts = found[value, "tune"]
            hidden = labels.filter(pl.col("variant") == left)
            seen = set(matches(hidden, alerts)["alert_id"])
            return score(labels.filter(pl.col("variant") != left),
                         alerts.filter(~pl.col("alert_id").is_in(list(seen))))[0].f1
        best = max(grid, key=f1_without)
        labels, alerts = found[best, "score"]
        cases = labels.filter(pl.col("variant") == left)
        hit = set(matches(cases, alerts)["scenario_id"])
        overall = score(labels, alerts)[0]
        print(f"| {typology} | {left} | {param} = {best} | {cases.height} | {len(hit)} | "
              f"{len(hit) / max(1, cases.height):.2f} | {overall.precision:.2f} |")


if __name__ == "__main__":
    main()
