"""Fit the alert scores' calibration on development seeds; report its reliability on
held-out seeds (`suptech.detect.calibration`).

Labelled alerts come from bench/detection.py's `--save` (each alert's own score and
whether it matched a case):

    .venv/bin/python bench/detection.py --seeds 1 2 3 201 202 203 --save market-dev.parquet
    .venv/bin/python bench/detection.py --domain payments --seeds 601 ... --save pay-dev.parquet
    .venv/bin/python bench/calibrate.py fit market-dev.parquet pay-dev.parquet
    .venv/bin/python bench/calibrate.py report market-held.parquet pay-held.parquet

`fit` writes src/suptech/detect/calibration.json. `report` prints, per tenth of the
score, the alerts, their mean score and the share that were true, for the calibrated
scores and, as the baseline in the same run, for the detectors' own scores; and refuses
seeds the calibration was fitted on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

from suptech.detect.run import REGISTRY
from suptech.detect.calibration import PATH, Calibration, fit, reliability


def read(files: list[Path]) -> pl.DataFrame:
    domain = {c.id: c.domain for c in REGISTRY.detectors.values()}
    alerts = pl.concat([pl.read_parquet(f, columns=["detector", "typology", "raw", "true",
                                                    "seeds"]) for f in files])
    return alerts.with_columns(domain=pl.col("detector").replace_strict(domain))


def seeds_of(alerts: pl.DataFrame) -> set[str]:
    return {s for text in alerts["seeds"].unique() for s in text.split()}


def queue_precision(predicted: np.ndarray, true: np.ndarray) -> float:
    """The average precision of the queue worked from the top score down (ties broken
    against the scores: false alerts first)."""
    order = np.lexsort((true, -predicted))
    hits = np.cumsum(true[order])
    return float(np.mean((hits / np.arange(1, len(true) + 1))[true[order] == 1]))


def table(name: str, predicted: np.ndarray, true: np.ndarray) -> None:
    brier = float(np.mean((predicted - true) ** 2))
    gap = sum(r["alerts"] * abs(r["predicted"] - r["observed"])
              for r in reliability(predicted, true)) / len(true)
    print(f"\n{name}: {len(true)} alerts, {int(true.sum())} true; Brier score {brier:.3f}, "
          f"expected calibration error {gap:.3f}, average precision of the queue "
          f"{queue_precision(predicted, true):.2f}\n")
    print("| score | alerts | mean score | true | share true |\n|---|---|---|---|---|")
    for r in reliability(predicted, true):
        n_true = round(r["observed"] * r["alerts"])
        print(f"| {r['from']:.1f}-{r['to']:.1f} | {r['alerts']} | {r['predicted']:.2f} | "
              f"{n_true} | {r['observed']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["fit", "report"])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=PATH)
    parser.add_argument("--penalty", type=float, default=1.0,
                        help="Inverse strength of the pull towards the common curve.")
    args = parser.parse_args()
    alerts = read(args.files)
    seeds = seeds_of(alerts)
    if args.what == "fit":
        by_domain = {d: sorted(seeds_of(part), key=int)
                     for (d,), part in alerts.group_by("domain")}
        said = "; ".join(f"{d} seeds {' '.join(s)}" for d, s in sorted(by_domain.items()))
        calibration = fit(alerts, said, args.penalty)
        args.out.write_text(calibration.to_json() + "\n")
        print(f"fitted on {alerts.height} alerts ({said}); written to {args.out}")
        unseen = sorted({c.id for c in REGISTRY.detectors.values()} - set(calibration.curves))
        if unseen:
            print(f"no alerts of {', '.join(unseen)}: scored by the common curve")
        return
    if not args.out.exists():
        sys.exit(f"no calibration at {args.out}: run `fit` first")
    calibration = Calibration.from_json(args.out.read_text())
    fitted = {s for part in calibration.fitted_on.split(";") for s in part.split()[2:]}
    if seeds & fitted:
        sys.exit(f"seeds {sorted(seeds & fitted, key=int)} were fitted on: report on others")
    print(f"calibration fitted on {calibration.fitted_on}; reported on seeds "
          f"{' '.join(sorted(seeds, key=int))}")
    true = alerts["true"].to_numpy().astype(float)
    calibrated = calibration.apply(alerts.with_columns(score=pl.col("raw")))["score"].to_numpy()
    table("Calibrated scores", calibrated, true)
    table("Baseline: the detectors' own scores", alerts["raw"].to_numpy().clip(0, 1), true)
    for domain in ("market", "payments"):
        mine = (alerts["domain"] == domain).to_numpy()
        if mine.any():
            table(f"Calibrated scores, {domain} only", calibrated[mine], true[mine])


if __name__ == "__main__":
    main()
