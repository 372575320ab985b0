"""LEARNED: gradient-boosted trees over graph features flag payments the rules may miss.

Basis: the model-based monitoring the FATF's guidance on new technologies for AML
(2021) describes, on the features of Altman et al. (AMLworld, NeurIPS 2023): degrees,
pass-through and repetition around each payment.

Signal: a trained model (see `model.py`; trained on simulator data by `suptech model
train`) gives every payment a probability of being laundering. Payments at or above the
model's threshold are joined into cases by the accounts they connect; each case is one
alert whose typology is the one a second booster finds most likely over its payments,
whose score is its most suspicious payment's probability, and whose explanation names
the features that raised that payment's suspicion most (its SHAP values).

Parameters: the model version (default: the newest shipped) and the threshold (default:
the model's own, chosen on validation seeds), `min_payments` a case needs (2: every
typology it names is a pattern of payments, a ring, a fan, a pass-through; one flagged
payment on its own was, on the simulator's held-out networks, almost always a rent or
a transfer that happened to look odd).

Known false positives: whatever the simulator's benign flows did not teach it; a
network unlike the simulator's (other amounts, other rhythms) shifts every feature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import ibis
import networkx as nx
import numpy as np
import polars as pl

from suptech.detect.base import HIT_SCHEMA, Detector, Params, register
from suptech.detect.payments.features import payment_features
from suptech.detect.payments.model import load, own

#: Columns of this detector's hits beyond HIT_SCHEMA: it names a typology per case.
EXTRA = {"typology": pl.String, "explanation": pl.String}
DRIVERS = 3


@dataclass(frozen=True)
class LearnedParams(Params):
    model_version: str | None = None
    threshold: float | None = None
    min_payments: int = 2


def _empty() -> pl.DataFrame:
    schema = {"account_ids": pl.List(pl.String), "isin": pl.String,
              "window_start": pl.Int64, "window_end": pl.Int64, "score": pl.Float64,
              "evidence": pl.List(pl.String), **EXTRA}
    return pl.DataFrame(schema=schema)


@register
class Learned(Detector):
    id = "gbm"
    typology = "*"  # each hit carries its own
    domain = "payments"
    version = "1"
    Params = LearnedParams

    def by_default(self) -> bool:
        """Only with a model fitted on the institution's own labels or its analysts'
        decisions. One fitted on the simulator learned the simulator: on AMLworld 8 of
        its 166 alerts were laundering, and on the simulator's held-out networks it adds
        little the rules do not find. It runs when named (`--detectors gbm`)."""
        return own(self.params.model_version)

    def hits(self, d):
        model = load(self.params.model_version)
        threshold = self.params.threshold if self.params.threshold is not None else model.threshold
        # Scored a batch at a time, keeping only the flagged payments: the features of
        # millions of payments never sit in memory at once.
        kept = []
        for batch in payment_features(d).to_pyarrow_batches(chunk_size=500_000):
            frame = pl.from_arrow(batch)
            if frame.height:
                suspicion = model.suspicion(frame.select(model.features).to_numpy())
                kept.append(frame.with_columns(pl.Series("suspicion", suspicion))
                            .filter(pl.col("suspicion") >= threshold))
        flagged = pl.concat(kept) if kept else pl.DataFrame()
        hits = self.cases(model, flagged, threshold) if flagged.height else _empty()
        assert set(HIT_SCHEMA.names) <= set(hits.columns)
        return ibis.memtable(hits)

    def cases(self, model, bad: pl.DataFrame, threshold: float) -> pl.DataFrame:
        """Flagged payments (features and `suspicion`) joined into cases by accounts."""
        # In payment order, so that cases come out the same whatever order the engine
        # returned the rows in.
        bad = bad.sort("payment_id")
        x = bad.select(model.features).to_numpy()
        graph = nx.Graph()
        graph.add_edges_from(zip(bad["debtor"], bad["creditor"]))
        case_of = {a: k for k, accounts in enumerate(nx.connected_components(graph))
                   for a in accounts}
        case = np.array([case_of[a] for a in bad["debtor"]])
        # The typology: the one most likely over the case's payments together.
        odds = np.zeros((case.max() + 1, len(model.typologies)))
        np.add.at(odds, case, model.typology_odds(x))
        bad = bad.with_columns(pl.Series("case", case), pl.int_range(pl.len()).alias("row"))
        cases = bad.group_by("case").agg(
            pl.concat_list("debtor", "creditor").list.explode(keep_nulls=False, empty_as_null=False)
            .unique().sort().alias("account_ids"),
            pl.col("ts_event").min().alias("window_start"),
            pl.col("ts_event").max().alias("window_end"),
            pl.col("suspicion").max().round(4).alias("score"),
            pl.col("payment_id").sort().alias("evidence"),
            pl.col("row").sort_by("suspicion").last().alias("top"),
            pl.len().alias("n"),
        ).filter(pl.col("n") >= self.params.min_payments).sort("case")
        if cases.is_empty():
            return _empty()
        # Why: the features that raised the suspicion of the case's top payment most.
        top = cases["top"].to_numpy()
        shap = model.contributions(x[top])
        explanations = []
        for i, (k, row) in enumerate(zip(cases["case"], top)):
            drivers = [{"feature": model.features[j], "value": round(float(x[row, j]), 3),
                        "contribution": round(float(shap[i, j]), 3)}
                       for j in np.argsort(-shap[i])[:DRIVERS]]
            explanations.append(json.dumps({"model": f"aml-gbm-{model.version}",
                                            "threshold": threshold, "drivers": drivers}))
        typology = [model.typologies[int(j)] for j in odds[cases["case"].to_numpy()].argmax(axis=1)]
        return cases.select(
            "account_ids", pl.lit(None, dtype=pl.String).alias("isin"), "window_start",
            "window_end", "score", "evidence", pl.Series("typology", typology, dtype=pl.String),
            pl.Series("explanation", explanations, dtype=pl.String))
