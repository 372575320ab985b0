"""Scores that mean what they say: an alert's score is the share of such alerts that
were true on simulated markets and payment networks the fit did not see.

A detector's own score (`raw`) ranks its alerts but means nothing across detectors: a
stack of three layers scores 0.8, a wash-trade ring 1.0, and a third of the queue sat
at 1.00. Each detector's raw score is mapped to a probability by a logistic curve with
an intercept and a slope of its own (Platt scaling), fitted on labelled alerts of
development seeds by `bench/calibrate.py` and shipped in `calibration.json` beside this
module. The curves are fitted together with an L2 penalty on each detector's departure
from the common curve, so a detector with few alerts stays near the common curve
rather than at 0 or 1; a detector the fit never saw gets the common curve.

`bench/calibrate.py report` prints the reliability table (predicted against observed,
on held-out seeds) that BENCHMARKS.md quotes. On another market than the simulator's the
shares differ; an institution refits on its analysts' decisions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

PATH = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Calibration:
    common: tuple[float, float]  # intercept, slope on the raw score
    curves: dict[str, tuple[float, float]] = field(default_factory=dict)  # per detector
    fitted_on: str = ""  # which seeds, said in the file

    def probability(self, detector: str, raw: np.ndarray | float) -> np.ndarray:
        a, b = self.curves.get(detector, self.common)
        return 1.0 / (1.0 + np.exp(-(a + b * np.asarray(raw, dtype=float))))

    def apply(self, alerts: pl.DataFrame) -> pl.DataFrame:
        """`alerts` with each score replaced by its calibrated one, to 4 places."""
        if alerts.is_empty():
            return alerts
        raw = alerts["score"].to_numpy()
        out = np.empty(len(raw))
        detectors = alerts["detector"].to_numpy()
        for d in set(detectors):
            mine = detectors == d
            out[mine] = self.probability(d, raw[mine])
        return alerts.with_columns(pl.Series("score", out.round(4)))

    def to_json(self) -> str:
        return json.dumps({"fitted_on": self.fitted_on, "common": self.common,
                           "curves": self.curves}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        d = json.loads(text)
        return cls(tuple(d["common"]), {k: tuple(v) for k, v in d["curves"].items()},
                   d.get("fitted_on", ""))


@cache
def shipped() -> Calibration | None:
    """The calibration the package ships, or None where there is none (raw scores)."""
    return Calibration.from_json(PATH.read_text()) if PATH.exists() else None


def fit(alerts: pl.DataFrame, fitted_on: str, penalty: float = 1.0) -> Calibration:
    """Curves from labelled alerts (`detector`, `raw`, `true`). Needs scikit-learn,
    which only the benches (the test extra) install."""
    from sklearn.linear_model import LogisticRegression

    names = sorted(set(alerts["detector"]))
    which = alerts["detector"].to_numpy()
    raw = alerts["raw"].to_numpy().astype(float)
    one_hot = np.stack([which == d for d in names], axis=1).astype(float)
    # Columns: the common slope, then each detector's intercept and slope departures.
    x = np.column_stack([raw, one_hot, one_hot * raw[:, None]])
    model = LogisticRegression(C=penalty, max_iter=10_000)
    model.fit(x, alerts["true"].to_numpy().astype(int))
    a0, w = float(model.intercept_[0]), model.coef_[0]
    b0, k = float(w[0]), len(names)
    curves = {d: (round(a0 + float(w[1 + i]), 6), round(b0 + float(w[1 + k + i]), 6))
              for i, d in enumerate(names)}
    return Calibration((round(a0, 6), round(b0, 6)), curves, fitted_on)


def reliability(predicted: np.ndarray, true: np.ndarray, bins: int = 10) -> list[dict]:
    """Per tenth of the score: alerts, mean predicted score, share true."""
    edges = np.minimum((predicted * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mine = edges == b
        if mine.any():
            rows.append({"from": b / bins, "to": (b + 1) / bins, "alerts": int(mine.sum()),
                         "predicted": float(predicted[mine].mean()),
                         "observed": float(true[mine].mean())})
    return rows
