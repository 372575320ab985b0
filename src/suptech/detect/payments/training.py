"""Training the payment model on simulator data, and nothing else.

Each seed is simulated with its per-payment truth, ingested into a fresh store like any
institution's files, and turned into features by the same code the scan runs. The
boosters are fitted on the training seeds; the validation seeds choose when to stop
and the alert threshold (the one that gives the best F1 over their payments). Neither
set is ever a seed that detection is scored on, nor AMLworld.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from suptech.detect.payments.data import payment_data
from suptech.detect.payments.features import FEATURES, payment_features
from suptech.detect.payments.model import save

TRAINING_SEEDS = (1, 2, 3, 4, 5, 6)  # six networks of the family
VALIDATION_SEEDS = (7, 8)
HISTORY_DAYS = 31
BINARY = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 31,
          "min_data_in_leaf": 50, "feature_fraction": 0.9, "bagging_fraction": 0.8,
          "bagging_freq": 1, "lambda_l2": 1.0, "verbosity": -1, "num_threads": 2,
          "deterministic": True, "seed": 1}
TYPOLOGY = {**BINARY, "objective": "multiclass", "num_leaves": 15, "min_data_in_leaf": 5}


@dataclass
class Trained:
    path: Path
    meta: dict


def history_of(seed: int, history: int = HISTORY_DAYS) -> int:
    """Days of ordinary payments stored before a seed's scanned days: `history` for odd
    seeds, none for even ones, so the model learns from stores that know the accounts'
    past (a payroll paid last month) and from stores that do not."""
    return history if seed % 2 else 0


def seed_features(seed: int, days: int, accounts: int, work: Path,
                  history: int = HISTORY_DAYS) -> pl.DataFrame:
    """FEATURES of every payment of one simulated seed's scanned days, with its typology
    (null: benign)."""
    from suptech.ingest.pipeline import ingest_files
    from suptech.simulate.payments_run import simulate_payments
    from suptech.store.database import open_store

    sim = work / f"sim-{seed}"
    history = history_of(seed, history)
    result = simulate_payments(sim, seed=seed, days=history + days, accounts=accounts,
                               truth=True, history=history)
    store = open_store(work / f"db-{seed}")
    try:
        ingest_files(store, [p for p in result.files if p.name != "labels.csv"])
        frame = pl.from_arrow(payment_features(
            payment_data(store, result.scanned_from)).to_pyarrow())
    finally:
        store.close()
    truth = pl.read_parquet(sim / "truth.parquet").select("payment_id", "typology")
    # Sorted: an engine returns rows in any order, and bagging depends on it.
    return frame.join(truth, on="payment_id", how="left").with_columns(
        pl.lit(seed).alias("seed")).sort("payment_id")


def best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """The threshold on P(laundering) with the best F1 over payments, and its scores."""
    best = (0.5, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        flagged = p >= t
        tp = int((flagged & y).sum())
        if tp == 0:
            continue
        precision, recall = tp / int(flagged.sum()), tp / int(y.sum())
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[1]["f1"]:
            best = (float(t), {"precision": round(precision, 4), "recall": round(recall, 4),
                               "f1": round(f1, 4)})
    return best


@dataclass
class Fitted:
    """Boosters fitted on one part of the labelled payments, and what the next part said
    of them: the alert threshold with the best F1 there, its scores."""

    booster: object
    typer: object | None  # None: one typology, nothing to tell apart
    typologies: list[str]
    threshold: float
    scores: dict
    typology_accuracy: float | None

    def described(self, version: str, trained_on: dict, validation: dict) -> dict:
        """The model's description: what the scan needs beside the boosters, and how
        they were made (`trained_on`, `validation`: the payments of each part)."""
        import lightgbm as lgb

        return {"version": version, "features": list(FEATURES),
                "typologies": self.typologies, "threshold": self.threshold,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "lightgbm": lgb.__version__,
                "trained_on": {**trained_on, "rounds": self.booster.num_trees()},
                "validation": {**validation, **self.scores}}


def laundering(frame: pl.DataFrame) -> int:
    """Payments of `frame` labelled as laundering (a `typology` named)."""
    return int(frame["typology"].is_not_null().sum())


def xy(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """FEATURES, and whether each payment is laundering (a `typology` named)."""
    return (frame.select(FEATURES).to_numpy().astype(np.float32),
            frame["typology"].is_not_null().to_numpy())


def fit_boosters(fit: pl.DataFrame, val: pl.DataFrame,
                 progress: Callable[[str], None] = lambda _: None) -> Fitted:
    """The suspicion booster and the typology booster, fitted on `fit` (FEATURES and
    `typology`, null when benign); `val` chooses when to stop and the threshold."""
    import lightgbm as lgb

    progress("fitting the suspicion booster")
    (x, y), (vx, vy) = xy(fit), xy(val)
    train_set = lgb.Dataset(x, y.astype(int), feature_name=list(FEATURES), free_raw_data=False)
    booster = lgb.train(BINARY, train_set, num_boost_round=200,
                        valid_sets=[lgb.Dataset(vx, vy.astype(int), reference=train_set)],
                        callbacks=[lgb.early_stopping(30, verbose=False)])
    threshold, scores = best_threshold(booster.predict(vx), vy)
    typologies = sorted(set(fit["typology"].drop_nulls()))
    if len(typologies) < 2:
        return Fitted(booster, None, typologies, threshold, scores, None)

    progress("fitting the typology booster")
    code = {t: i for i, t in enumerate(typologies)}

    def xt(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        bad = frame.filter(pl.col("typology").is_in(typologies))
        return (bad.select(FEATURES).to_numpy().astype(np.float32),
                bad["typology"].replace_strict(code, return_dtype=pl.Int32).to_numpy())

    (tx, ty), (tvx, tvy) = xt(fit), xt(val)
    params = {**TYPOLOGY, "num_class": len(typologies)}
    typed = lgb.Dataset(tx, ty, feature_name=list(FEATURES), free_raw_data=False)
    valid = [lgb.Dataset(tvx, tvy, reference=typed)] if len(tvy) else []
    typer = lgb.train(params, typed, num_boost_round=200 if valid else 50,
                      valid_sets=valid,
                      callbacks=[lgb.early_stopping(30, verbose=False)] if valid else [])
    accuracy = float((typer.predict(tvx).argmax(axis=1) == tvy).mean()) if len(tvy) else None
    return Fitted(booster, typer, typologies, threshold, scores, accuracy)


def train(out_dir: Path, version: str, seeds=TRAINING_SEEDS, validation=VALIDATION_SEEDS,
          days: int = 3, accounts: int = 20_000, history: int = HISTORY_DAYS,
          progress: Callable[[str], None] = lambda _: None) -> Trained:
    work = Path(tempfile.mkdtemp(prefix="suptech-train-"))
    try:
        frames = {}
        for seed in (*seeds, *validation):
            progress(f"simulating and ingesting seed {seed}")
            frames[seed] = seed_features(seed, days, accounts, work, history)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fit = pl.concat([frames[s] for s in seeds])
    val = pl.concat([frames[s] for s in validation])
    f = fit_boosters(fit, val, progress)
    meta = f.described(
        version, {"simulator_seeds": list(seeds), "days": days, "accounts": accounts,
                  "history_days": {str(s): history_of(s, history) for s in seeds},
                  "payments": fit.height, "laundering": laundering(fit),
                  "typology_rounds": f.typer.current_iteration()},
        {"simulator_seeds": list(validation), "payments": val.height,
         "history_days": {str(s): history_of(s, history) for s in validation},
         "laundering": laundering(val),
         "typology_accuracy": round(f.typology_accuracy, 4)})
    return Trained(save(f.booster, f.typer, meta, out_dir), meta)
