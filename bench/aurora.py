"""Siloed against collaborative detection of laundering that spans regions (BIS Project
Aurora's comparison, on the simulator's four-region payment network).

Siloed: each region scans only the payments it supervises (those with an account of an
owner in the region at either end, as `server.scope` decides what a region sees), with
the whole party and account register, and its alerts are pooled afterwards. Pooled: one
scan over every region's payments, the most a collaboration that loses nothing could
see (the federation's privacy-preserving jobs aim at it without pooling). Cases are
split by whether their accounts' owners are in one region or several; alerts count
once per region that raised them (siloed, two regions raising one case is two alerts
to work). Collaborative: the siloed alerts, and each region's leads from secure risk
propagation over the four regions' frontier (`federation.propagation`: risk 1 for the
accounts a region's own rules named, passed along the payments, each region learning
its own accounts' risk); computed here in plaintext, which the secure protocol equals
(tests/test_federation.py). A lead names one account and no typology: it counts for a
case when its account is one of the case's.

    .venv/bin/python bench/aurora.py --seeds 2201 2202 2203 2204 [--accounts 20000] [--days 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from suptech.detect.evaluate import matches, read_timestamps
from suptech.detect.run import REGISTRY, run
from suptech.federation import propagation
from suptech.federation.regions import account_regions, split
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store


def scan(files: list[Path], db: Path, start: int | None) -> pl.DataFrame:
    store = open_store(db)
    try:
        ingest_files(store, files)
        detectors = [c() for c in REGISTRY.detectors.values()
                     if c.domain == "payments" and c().by_default()]
        return run(store, detectors, start_ns=start)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[2201, 2202, 2203, 2204])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="suptech-aurora-"))
    rows: dict[str, list[tuple[int, int, int, int]]] = {}
    part_rows: dict[str, list[tuple[int, int]]] = {}
    try:
        for seed in args.seeds:
            t = time.perf_counter()
            sim = work / f"sim-{seed}"
            result = simulate_payments(sim, seed=seed, days=args.days, accounts=args.accounts)
            where = account_regions(sim)
            labels = read_timestamps(pl.read_csv(sim / "labels.csv"))
            span = labels.select("scenario_id", pl.col("account_ids").str.split(";")).explode(
                "account_ids").join(where, left_on="account_ids", right_on="account_id") \
                .group_by("scenario_id").agg(pl.col("region").n_unique().alias("regions"))
            labels = labels.join(span, on="scenario_id", how="left").with_columns(
                pl.col("regions").fill_null(1))
            pooled = scan(sorted(sim.glob("*.parquet")), work / f"db-{seed}", None)
            siloed, risks, edges = [], [], []
            split_files = split(sim, work / f"silo-{seed}")
            regions = sorted(split_files)
            for region, files in split_files.items():
                own = scan(files, work / f"db-{seed}-{region}", None)
                siloed.append(own.with_columns(pl.format("{}-{}", pl.lit(region), "alert_id")
                                               .alias("alert_id")))
                risk, e = propagation.region_inputs(
                    region, regions, pl.read_parquet(files[-1]), where, own, b"aurora")
                risks.append(risk)
                edges.append(e)
            siloed = pl.concat(siloed)
            propagated = propagation.propagate(pl.concat(risks), pl.concat(edges).unique())
            lead_accounts = pl.concat([
                propagation.leads(propagated, r).join(r.select("id", "account_id"), on="id")
                for r in risks])["account_id"]
            hit = labels.select("scenario_id", pl.col("account_ids").str.split(";")) \
                .explode("account_ids").filter(pl.col("account_ids").is_in(lead_accounts.implode()))
            # A case's parts: (case, region) for each region holding one of its accounts.
            parts = labels.filter(pl.col("regions") > 1).select(
                "scenario_id", pl.col("account_ids").str.split(";")).explode("account_ids") \
                .join(where, left_on="account_ids", right_on="account_id") \
                .select("scenario_id", "region").unique()
            part_set = set(parts.iter_rows())
            for name, alerts, leads in (("siloed", siloed, None), ("pooled", pooled, None),
                                        ("collaborative", siloed, hit)):
                m = matches(labels, alerts)
                found, true, raised = set(m["scenario_id"]), m["alert_id"].n_unique(), alerts.height
                known = {(c, a[:5]) for c, a in m.iter_rows()} if name != "pooled" else set()
                if leads is not None:
                    found |= set(leads["scenario_id"])
                    true += leads["account_ids"].n_unique()
                    raised += lead_accounts.len()
                    known |= set(leads.join(where, left_on="account_ids", right_on="account_id")
                                 .select("scenario_id", "region").iter_rows())
                part_rows.setdefault(name, []).append((len(part_set), len(known & part_set)))
                across = labels.filter(pl.col("regions") > 1)["scenario_id"]
                within = labels.filter(pl.col("regions") == 1)["scenario_id"]
                rows.setdefault(name, []).append((
                    within.len(), len(found & set(within)), across.len(),
                    len(found & set(across)), raised, true))
            print(f"seed {seed}: {result.payments:,} payments, {labels.height} cases "
                  f"({(labels['regions'] > 1).sum()} across regions), "
                  f"{time.perf_counter() - t:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{len(args.seeds)} seeds ({' '.join(map(str, args.seeds))}), {args.accounts:,} "
          f"accounts, {args.days} days each; every payment rule at its defaults\n")
    print("Collaborative: the siloed alerts and the leads of risk propagation (delta "
          f"{propagation.DELTA}, {propagation.ITERATIONS} rounds, lead from risk "
          f"{propagation.LEAD_RISK}).\n")
    print("| detection | cases in one region | found | recall | cases across regions | found "
          "| recall | alerts | true | precision |\n|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in rows.items():
        c1, f1, c2, f2, a, t = (sum(x) for x in zip(*runs))
        print(f"| {name} | {c1} | {f1} | {f1 / c1:.2f} | {c2} | {f2} | {f2 / c2:.2f} | {a} | {t} | "
              f"{t / a if a else float('nan'):.2f} |")
    print("\nParts of cross-region cases (a case's accounts in one region) that their own "
          "region knows of (raised an alert that matches the case, or a lead on one of "
          "them):\n\n| detection | parts | known | share |\n|---|---|---|---|")
    for name in ("siloed", "collaborative"):
        n, k = (sum(x) for x in zip(*part_rows[name]))
        print(f"| {name} | {n} | {k} | {k / n:.2f} |")


if __name__ == "__main__":
    main()
