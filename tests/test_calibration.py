"""An alert's score is the share of such alerts that were true: each detector's own score
mapped by a curve fitted on labelled alerts of other seeds (`detect.calibration`)."""

from __future__ import annotations

import numpy as np
import polars as pl

from suptech.detect.calibration import Calibration, fit, reliability, shipped
from suptech.detect.run import REGISTRY


def labelled(detector: str, raw: float, true: int, false: int) -> pl.DataFrame:
    return pl.DataFrame({"detector": [detector] * (true + false), "raw": [raw] * (true + false),
                         "true": [True] * true + [False] * false})


def test_the_same_raw_score_means_what_each_detectors_record_says():
    """Two detectors both say 1.0; nine in ten of the first's alerts were true, two in
    ten of the second's: their calibrated scores say so, in that order."""
    alerts = pl.concat([labelled("sure", 1.0, 90, 10), labelled("sure", 0.5, 30, 70),
                        labelled("loose", 1.0, 20, 80), labelled("loose", 0.5, 5, 95)])
    c = fit(alerts, "test", penalty=100.0)
    assert abs(float(c.probability("sure", 1.0)) - 0.9) < 0.05
    assert abs(float(c.probability("loose", 1.0)) - 0.2) < 0.05
    # Within a detector its own ranking holds; an unknown detector gets the common curve.
    assert c.probability("sure", 0.5) < c.probability("sure", 1.0)
    assert c.probability("never seen", 1.0) == c.probability("never seen", 1.0)
    assert Calibration.from_json(c.to_json()) == c


def test_applied_to_alerts_each_score_becomes_its_detectors_probability():
    c = Calibration((0.0, 0.0), {"a": (0.0, 2.0)})
    alerts = pl.DataFrame({"detector": ["a", "b"], "score": [1.0, 1.0]})
    assert c.apply(alerts)["score"].to_list() == [round(1 / (1 + np.exp(-2.0)), 4), 0.5]


def test_the_shipped_calibration_names_our_detectors_and_says_where_it_was_fitted():
    """A detector that raised nothing on the fitting seeds (pump_flow reads real crypto
    pumps, which the simulator does not make) is scored by the common curve."""
    c = shipped()
    ids = {cls.id for cls in REGISTRY.detectors.values() if cls.calibrated}
    assert c is not None and set(c.curves) <= ids and len(c.curves) >= len(ids) - 1
    assert "market seeds" in c.fitted_on and "payments seeds" in c.fitted_on
    # A curve that fell with the detector's own score would turn its ranking upside down.
    assert all(slope > 0 for _, slope in c.curves.values())


def test_a_reliability_table_counts_alerts_and_truths_per_tenth():
    rows = reliability(np.array([0.05, 0.08, 0.95, 0.97, 1.0]), np.array([0, 0, 1, 1, 0]))
    assert [(r["from"], r["alerts"], round(r["observed"], 2)) for r in rows] == [
        (0.0, 2, 0.0), (0.9, 3, 0.67)]
