"""Detection quality on fresh simulator seeds: precision, recall and F1 per typology.

The detectors' parameters were set on seeds 1, 2 and 3 (two days each, small scale) and
looked at on seeds 7 and 8 (one full-scale market day each) and 9 and 10 (five days
of a 1,000,000-account payment network each). Score them on other seeds:

    .venv/bin/python bench/detection.py --seeds 101 102 103 104 105 [--days 2] [--scale small]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from suptech.detect.evaluate import matches, score
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.detect.base import REGISTRY
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

TUNING_SEEDS = (1, 2, 3, 7, 8, 9, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--domain", default="market", choices=["market", "payments"])
    parser.add_argument("--accounts", type=int, default=20_000,
                        help="Accounts of the payment network (--domain payments).")
    parser.add_argument("--detectors", help="Comma-separated detector ids (default: all of "
                                            "the domain's).")
    args = parser.parse_args()
    used = sorted(set(args.seeds) & set(TUNING_SEEDS))
    if used:
        print(f"warning: seeds {used} were used to set the parameters")
    work = Path(tempfile.mkdtemp(prefix="suptech-detection-"))
    labels, alerts = [], []
    events, units = 0, 0  # units: instrument-days (market) or days (payments)
    try:
        for seed in args.seeds:
            out = work / f"sim-{seed}"
            if args.domain == "market":
                result = simulate_market(out, seed=seed, days=args.days, scale=args.scale)
                events += result.order_events
            else:
                result = simulate_payments(out, seed=seed, days=args.days,
                                           accounts=args.accounts)
                events += result.payments
            detectors = [c() for c in REGISTRY.detectors.values() if c.domain == args.domain
                         and (not args.detectors or c.id in args.detectors.split(","))]
            store = open_store(work / f"db-{seed}")
            ingest_files(store, sorted(out.glob("*.parquet")))
            t = time.perf_counter()
            found = run(store, detectors)
            units += instrument_days(store) if args.domain == "market" else args.days
            store.close()
            print(f"seed {seed}: {len(result.labels)} "
                  f"cases, {found.height} alerts, scan {time.perf_counter() - t:.1f} s")
            # Scenario and alert ids are per seed: keep them apart.
            labels.append(pl.read_csv(out / "labels.csv").with_columns(
                pl.format("{}-{}", pl.lit(seed), "scenario_id").alias("scenario_id")))
            alerts.append(found.with_columns(
                pl.format("{}-{}", pl.lit(seed), "alert_id").alias("alert_id")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = score(pl.concat(labels), pl.concat(alerts))
    what = (f"{args.scale} scale, {events:,} order events" if args.domain == "market"
            else f"{args.accounts:,} accounts, {events:,} payments")
    print(f"\n{args.domain}: seeds {' '.join(map(str, args.seeds))}, {args.days} days each, "
          f"{what}; parameters set on seeds "
          f"{', '.join(map(str, TUNING_SEEDS))}\n")
    # The analyst's queue: false alerts per instrument-day (per day for payments).
    unit = "instrument-day" if args.domain == "market" else "day"
    print(f"{units:,} {unit}s\n")
    print(f"| typology | cases | found | recall | alerts | true | precision | F1 | "
          f"false per {unit} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in rows:
        print(f"| {s.typology} | {s.cases} | {s.found} | {s.recall:.2f} | {s.alerts} | "
              f"{s.true_alerts} | {s.precision:.2f} | {s.f1:.2f} | "
              f"{(s.alerts - s.true_alerts) / units:.3f} |")
    by_variant(pl.concat(labels), pl.concat(alerts))


def by_variant(labels: pl.DataFrame, alerts: pl.DataFrame) -> None:
    """Recall per way a typology was carried out, where the labels say (`variant`)."""
    if "variant" not in labels.columns or labels["variant"].drop_nulls().is_empty():
        return
    found = set(matches(labels, alerts)["scenario_id"])
    per = (labels.filter(pl.col("variant").is_not_null() & (pl.col("variant") != ""))
           .with_columns(found=pl.col("scenario_id").is_in(list(found)))
           .group_by("typology", "variant").agg(cases=pl.len(), found=pl.col("found").sum())
           .sort("typology", "variant"))
    print("\n| typology | variant | cases | found | recall |\n|---|---|---|---|---|")
    for r in per.iter_rows(named=True):
        print(f"| {r['typology']} | {r['variant']} | {r['cases']} | {r['found']} | "
              f"{r['found'] / r['cases']:.2f} |")


def instrument_days(store) -> int:
    """Instruments times the local days they traded (the scan's clock)."""
    from suptech.detect.market.data import market_data

    t = market_data(store, materialize=False).trades
    return int(t.select("isin", "day").distinct().count().to_pyarrow().as_py())


if __name__ == "__main__":
    main()
