"""Trained payment models: versioned files, loaded by the scan, never trained by it.

A model is three files in a models directory: `aml-gbm-<version>.txt`, a binary
LightGBM booster (laundering or not) in LightGBM's text format;
`aml-gbm-<version>-typology.txt`, a multiclass booster that names the typology of a
payment already judged suspicious (none for a model that knows one typology only);
and `aml-gbm-<version>.json`, what they need beside them (feature names, typologies,
the alert threshold) and how they were made (simulator seeds or an institution's own
labels, scores on payments they were not fitted on). Two boosters, because scoring
millions of payments with a 13-class model costs thirteen times the trees; the
typology is asked only of the few flagged. The package ships the models under
`suptech/detect/payments/models/`; `SUPTECH_MODEL_DIR` points at another directory.
`suptech model train` writes new ones.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

PREFIX = "aml-gbm-"


class ModelError(RuntimeError):
    """A model that is missing or does not fit this code; the message says which and why."""


def model_dir() -> Path:
    configured = os.environ.get("SUPTECH_MODEL_DIR")
    return Path(configured) if configured else Path(str(files("suptech.detect.payments") / "models"))


def versions(directory: Path | None = None) -> list[str]:
    directory = directory or model_dir()
    found = [m.group(1) for p in directory.glob(f"{PREFIX}*.json")
             if (m := re.fullmatch(rf"{PREFIX}(\d+)\.json", p.name))]
    return sorted(found, key=int)


@dataclass(frozen=True)
class Model:
    version: str
    booster: object  # lightgbm.Booster, binary
    typer: object | None  # lightgbm.Booster, multiclass over `typologies`; None: one
    features: tuple[str, ...]
    typologies: tuple[str, ...]
    threshold: float  # alert when P(laundering) >= threshold
    meta: dict

    def suspicion(self, x: np.ndarray) -> np.ndarray:
        """P(laundering), one per payment."""
        return np.asarray(self.booster.predict(x, num_threads=2))

    def typology_odds(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of each typology, one row per (suspicious) payment."""
        if self.typer is None:  # a model of one typology
            return np.ones((len(x), 1))
        return np.asarray(self.typer.predict(x, num_threads=2)).reshape(len(x), -1)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """SHAP values of the suspicion, per payment and feature (log-odds)."""
        raw = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=2))
        return raw[:, :-1]  # without the bias term


def _files(folder: Path, version: str) -> tuple[Path, Path, Path]:
    stem = folder / f"{PREFIX}{version}"
    return (Path(f"{stem}.txt"), Path(f"{stem}-typology.txt"), Path(f"{stem}.json"))


def load(version: str | None = None, directory: str | None = None) -> Model:
    """A model version (default: the newest) from `directory` (default: model_dir())."""
    return _load(version, str(directory or model_dir()))


@lru_cache(maxsize=4)
def _load(version: str | None, directory: str) -> Model:
    import lightgbm as lgb

    folder = Path(directory)
    known = versions(folder)
    if not known:
        raise ModelError(f"no payment model in {folder}: run `suptech model train`")
    version = version or known[-1]
    if version not in known:
        raise ModelError(f"no payment model version {version} in {folder} "
                         f"(there: {', '.join(known)})")
    binary, typology, description = _files(folder, version)
    meta = json.loads(description.read_text())
    booster = lgb.Booster(model_file=str(binary))
    # A model of one typology has nothing to tell apart, and no typology booster.
    typer = lgb.Booster(model_file=str(typology)) if len(meta["typologies"]) > 1 else None
    for b in (booster, typer) if typer is not None else (booster,):
        if tuple(b.feature_name()) != tuple(meta["features"]):
            raise ModelError(f"model {version}: a booster and the description name "
                             "different features")
    return Model(version, booster, typer, tuple(meta["features"]),
                 tuple(meta["typologies"]), float(meta["threshold"]), meta)


def own(version: str | None = None, directory: str | None = None) -> bool:
    """Whether the model (default: the newest) was fitted on an institution's own labels
    or its analysts' decisions, not on the simulator; False when there is none."""
    folder = Path(directory or model_dir())
    known = versions(folder)
    version = version or (known[-1] if known else None)
    if version not in known:
        return False
    meta = json.loads(_files(folder, version)[2].read_text())
    return "labels" in meta.get("trained_on", {})


def save(booster, typer, meta: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    binary, typology, description = _files(directory, meta["version"])
    booster.save_model(str(binary))
    if typer is not None:
        typer.save_model(str(typology))
    description.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return description
