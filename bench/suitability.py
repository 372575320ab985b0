"""Suitability detection on simulated investors: each seed's investors, assessments and
sales with labelled mis-selling of every kind (`suptech simulate investor`), ingested and
scanned by the investor-protection detectors; recall and precision per typology and
per kind (variant), summed over the seeds, and the scan's time.

    .venv/bin/python bench/suitability.py --seeds 2501,2502,2503 [--investors 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from risk import add_scores, print_scores  # bench/risk.py: the per-typology table


def one(seed: int, work: Path, investors: int) -> tuple:
    import polars as pl

    from suptech.detect.base import REGISTRY
    from suptech.detect.evaluate import matches, score
    from suptech.detect.run import run
    from suptech.ingest.pipeline import ingest_files
    from suptech.simulate.investor import simulate_investors
    from suptech.store.database import open_store

    sim = simulate_investors(work / f"sim-{seed}", seed=seed, investors=investors)
    store = open_store(work / f"db-{seed}")
    try:
        rejected = sum(r.summary.rejected for r in ingest_files(
            store, [f for f in sim.files if f.suffix == ".parquet"]))
        t = time.perf_counter()
        alerts = run(store, [c() for c in REGISTRY.detectors.values()
                             if c.domain == "investor"])
        seconds = time.perf_counter() - t
    finally:
        store.close()
    labels = pl.read_csv(work / f"sim-{seed}" / "labels.csv")
    hits = matches(labels, alerts)
    variants = labels.with_columns(found=pl.col("scenario_id").is_in(hits["scenario_id"].implode()))
    # An alert's kind is its reason (UNSUITABLE_SALE's five), else its typology.
    reasons = alerts.select(
        "typology", true=pl.col("alert_id").is_in(hits["alert_id"].implode()),
        reason=pl.col("explanation").str.json_path_match("$.reason"))
    return score(labels, alerts), variants, reasons, sim.sales, rejected, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="2501,2502,2503")
    ap.add_argument("--investors", type=int, default=2_000)
    args = ap.parse_args()
    import polars as pl

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="bench-suit-"))
    totals: dict[str, list[int]] = {}
    kinds, reasons = [], []
    try:
        for seed in [int(s) for s in args.seeds.split(",")]:
            scores, variants, why, sales, rejected, seconds = one(seed, work, args.investors)
            reasons.append(why)
            print(f"seed {seed}: {sales:,} sales ({rejected} rejected), scanned in "
                  f"{seconds:.1f} s", flush=True)
            kinds.append(variants)
            add_scores(totals, scores)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_scores(totals)
    by = pl.concat(kinds).group_by(["typology", "variant"]).agg(
        cases=pl.len(), found=pl.col("found").sum()).sort(["typology", "variant"])
    print("recall per kind:")
    for r in by.iter_rows(named=True):
        print(f"  {r['typology']:26} {r['variant']:22} {r['found']}/{r['cases']}")
    by = pl.concat(reasons).group_by(["typology", "reason"]).agg(
        alerts=pl.len(), true=pl.col("true").sum()).sort(["typology", "reason"])
    print("precision per reason:")
    for r in by.iter_rows(named=True):
        print(f"  {r['typology']:26} {r['reason'] or '':22} {r['true']}/{r['alerts']}")


if __name__ == "__main__":
    main()
