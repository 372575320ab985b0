"""Payment detection on IBM AMLworld, data none of it was tuned or trained on.

Imports the HI-Small sample with its 370 patterns (../shared/data/amlworld: background
= the sample's non-laundering rows, cases = the patterns' transactions), ingests it,
scans with the rules, with the learned model, and with both, and prints per-typology
recall and precision (EVALUATION.md) and the minority-class F1 over transactions (a
payment counts as flagged when it is in an alert's evidence), beside the published
figures on the full HI-Small set.

    .venv/bin/python bench/amlworld.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from suptech.detect.base import REGISTRY
from suptech.detect.evaluate import score
from suptech.detect.run import run
from suptech.ingest.amlworld import convert
from suptech.ingest.pipeline import ingest_files
from suptech.store.database import open_store

PUBLISHED = "LightGBM+graph features 62.9 %, Multi-PNA+EU 68.2 % (full HI-Small, Altman et al. 2023)"


def transaction_scores(alerts: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    flagged = set(p for ev in alerts["evidence"].drop_nulls() for p in ev.split(";"))
    truth = truth.with_columns(pl.col("payment_id").is_in(list(flagged)).alias("flagged"))
    tp = truth.filter(pl.col("flagged") & pl.col("is_laundering")).height
    n_flagged, n_true = truth["flagged"].sum(), truth["is_laundering"].sum()
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": n_flagged}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path(__file__).parents[2] / "shared")
    args = parser.parse_args()
    folder = args.shared / "data" / "amlworld"
    work = Path(tempfile.mkdtemp(prefix="suptech-amlworld-"))
    try:
        imported = convert(folder / "HI-Small_Trans_sample.csv", work / "aml",
                           folder / "HI-Small_Patterns.json")
        store = open_store(work / "db")
        ingest_files(store, [p for p in imported.files if p.name.startswith("payment")])
        labels = pl.read_csv(work / "aml" / "labels.csv")
        truth = pl.read_parquet(work / "aml" / "truth.parquet")
        payments = [c for c in REGISTRY.detectors.values() if c.domain == "payments"]
        sets = {"rules": [c() for c in payments if c.id != "gbm"],
                "learned": [c() for c in payments if c.id == "gbm"],
                "rules + learned": [c() for c in payments]}
        print(f"AMLworld HI-Small sample: {imported.payments:,} payments, "
              f"{imported.laundering:,} laundering in {imported.cases} patterns\n")
        summary = []
        for name, detectors in sets.items():
            t = time.perf_counter()
            alerts = run(store, detectors)
            seconds = time.perf_counter() - t
            print(f"### {name} ({seconds:.1f} s)\n")
            print("| typology | cases | found | recall | alerts | true | precision |")
            print("|---|---|---|---|---|---|---|")
            for s in score(labels, alerts):
                precision = f"{s.precision:.2f}" if s.alerts else "–"
                print(f"| {s.typology} | {s.cases} | {s.found} | {s.recall:.2f} | {s.alerts} | "
                      f"{s.true_alerts} | {precision} |")
            tx = transaction_scores(alerts, truth)
            summary.append((name, tx))
            print()
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("Minority-class scores over transactions:\n")
    print("| detectors | flagged | precision | recall | F1 |")
    print("|---|---|---|---|---|")
    for name, tx in summary:
        print(f"| {name} | {tx['flagged']:,} | {tx['precision']:.3f} | {tx['recall']:.3f} | "
              f"**{tx['f1']:.3f}** |")
    print(f"\npublished: {PUBLISHED}")


if __name__ == "__main__":
    main()
