"""The payment model trained on an institution's own labels and on its analysts'
decisions, not on the simulator.

BIS Project Hertha's lesson: what raises detection is labelled data and a feedback loop
from investigations. Two sources of labels, one way of training:

- a file of the institution's labelled history (`read_labels`): `payment_id` and
  `typology` (empty: benign), as `suptech import amlworld` writes `truth.parquet`;
- the analysts' decisions on payment alerts (`labels_from_decisions`): an alert
  escalated, or in a case closed as referred, marks its payments as laundering of the
  alert's typology; one dismissed, or in a case closed with no action, as benign. A
  case's closing outweighs the alert's triage, and laundering outweighs benign where
  a payment is in alerts decided both ways.

Payments no label names count as benign: most payments are. The split is by time, as
an institution would use its past to judge what comes next (`train_on_labels`): the
boosters are fitted on the payments before `fit_until`, the payments up to
`validate_until` choose when to stop and the alert threshold, and the payments after
it, never seen, are scored; their scores go into the model's description. By default
the split falls at 60 % and 80 % of the laundering labelled, in time order, so that
each part holds some.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
import sqlalchemy as sa

from suptech.detect.base import REGISTRY
from suptech.detect.evaluate import PaymentScore
from suptech.detect.payments.data import payment_data
from suptech.detect.payments.features import payment_features
from suptech.detect.payments.model import save
from suptech.detect.payments.training import Trained, fit_boosters, laundering, xy

#: The time line's split by default: fitted up to the payment 60 % of the way through the
#: laundering labelled (in time), validated up to 80 %, so that each part holds some.
SPLIT = (0.6, 0.8)
LABELS = {"payment_id": pl.String, "typology": pl.String}


class LabelError(ValueError):
    """Labels that cannot train a model; the message says which and why."""


def read_labels(path: Path) -> pl.DataFrame:
    """`payment_id`, `typology` (null: benign) of a CSV or Parquet file."""
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else \
            pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise LabelError(f"{path}: cannot be read as CSV or Parquet ({e})") from None
    missing = [c for c in LABELS if c not in frame.columns]
    if missing:
        raise LabelError(f"{path}: no column {', '.join(missing)} (a label is a payment_id "
                         "and its typology, empty when benign)")
    return checked(frame.select(pl.col(c).cast(t) for c, t in LABELS.items())
                   .with_columns(pl.col("typology").replace("", None)), str(path))


def checked(labels: pl.DataFrame, where: str) -> pl.DataFrame:
    """Labels whose typologies are payment typologies a detector raises, one per payment."""
    known = REGISTRY.typologies("payments")
    unknown = sorted(set(labels["typology"].drop_nulls()) - set(known))
    if unknown:
        raise LabelError(f"{where}: unknown payment typology {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    # A payment labelled twice: laundering outweighs benign.
    return labels.sort("typology", nulls_last=True).unique("payment_id", keep="first")


def labels_from_decisions(alerts: pl.DataFrame, ops: sa.Engine) -> pl.DataFrame:
    """Labels of the payments of decided payment alerts (module docstring)."""
    from suptech.ops.db import case_alerts, cases, triage

    with ops.connect() as con:
        status = dict(con.execute(sa.select(triage.c.alert_id, triage.c.status)).all())
        closed = dict(con.execute(
            sa.select(case_alerts.c.alert_id, cases.c.state)
            .join(cases, cases.c.case_id == case_alerts.c.case_id)
            .where(cases.c.state.in_(["closed-referred", "closed-no-action"]))).all())
    payments = REGISTRY.typologies("payments")
    rows = []
    for alert_id, typology, evidence in alerts.select(
            "alert_id", "typology", "evidence").iter_rows():
        decided = closed.get(alert_id) or status.get(alert_id)
        if typology not in payments or not evidence or decided not in (
                "escalated", "closed-referred", "dismissed", "closed-no-action"):
            continue
        bad = decided in ("escalated", "closed-referred")
        rows += [(p, typology if bad else None) for p in evidence.split(";")]
    return checked(pl.DataFrame(rows, schema=LABELS, orient="row"), "decisions")


def split_times(store, labels: pl.DataFrame, fit_until: int | None = None,
                validate_until: int | None = None) -> tuple[int, int]:
    """(fit_until, validate_until), ns: by default at `SPLIT` of the laundering labelled,
    in time order."""
    p = store.view("payment").select("payment_id", "ts_event")
    times = pl.from_arrow(p.to_pyarrow())
    first = int(times["ts_event"].min())
    bad = times.join(labels.filter(pl.col("typology").is_not_null()), on="payment_id")
    if bad.is_empty():
        raise LabelError("no payment labelled as laundering is in the report database")
    at = bad["ts_event"].sort()
    fit_until = fit_until if fit_until is not None else int(at[int(SPLIT[0] * len(at))])
    validate_until = validate_until if validate_until is not None \
        else int(at[min(int(SPLIT[1] * len(at)), len(at) - 1)])
    if not first < fit_until < validate_until:
        raise LabelError("the time line must split as payments fitted on, then payments "
                         "validated on (fit-until before validate-until, after the first)")
    return fit_until, validate_until


def labelled_features(store, labels: pl.DataFrame, end_ns: int | None = None) -> pl.DataFrame:
    """FEATURES of the store's payments before `end_ns` (computed over those alone, as a
    scan of that time would), with `typology` from `labels` (null: benign)."""
    frame = pl.from_arrow(payment_features(payment_data(store, end_ns=end_ns)).to_pyarrow())
    # Sorted: an engine returns rows in any order, and bagging depends on it.
    return frame.join(labels, on="payment_id", how="left").sort("payment_id")


def train_on_labels(store, labels: pl.DataFrame, out_dir: Path, version: str, source: str,
                    fit_until: int | None = None, validate_until: int | None = None,
                    progress: Callable[[str], None] = lambda _: None) -> Trained:
    if labels["typology"].is_null().all():
        raise LabelError(f"{source}: no payment is labelled as laundering")
    fit_until, validate_until = split_times(store, labels, fit_until, validate_until)
    progress("computing the features of the payments fitted and validated on")
    seen = labelled_features(store, labels, validate_until)
    fit = seen.filter(pl.col("ts_event") < fit_until)
    val = seen.filter(pl.col("ts_event") >= fit_until)
    for part, name in ((fit, "fitted on"), (val, "validated on")):
        if not laundering(part):
            raise LabelError(f"{source}: the payments {name} hold no laundering; move the "
                             "split (--fit-until, --validate-until)")
    f = fit_boosters(fit, val, progress)
    meta = f.described(
        version, {"labels": source, "before": _iso(fit_until), "payments": fit.height,
                  "laundering": laundering(fit), "labelled": labels.height},
        {"from": _iso(fit_until), "before": _iso(validate_until), "payments": val.height,
         "laundering": laundering(val)})
    progress("scoring the payments after the validation")
    later = labelled_features(store, labels).filter(pl.col("ts_event") >= validate_until)
    if later.height:
        x, y = xy(later)
        meta["held_out"] = {"from": _iso(validate_until), "payments": later.height,
                            "laundering": int(y.sum()),
                            **scores(f.booster.predict(x) >= f.threshold, y)}
    return Trained(save(f.booster, f.typer, meta, out_dir), meta)


def scores(flagged: np.ndarray, truth: np.ndarray) -> dict:
    """Minority-class precision, recall and F1 over payments (`evaluate.PaymentScore`)."""
    tp = int((flagged & truth).sum())
    s = PaymentScore("ALL", int(flagged.sum()), tp, int(truth.sum()), tp)
    return {"flagged": s.flagged, "precision": round(s.precision, 4),
            "recall": round(s.recall, 4), "f1": round(s.f1, 4)}


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="seconds")
