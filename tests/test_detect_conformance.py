"""Every detector, market and payments, gives the same alerts on DuckDB and on Spark over
the same data."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

pytestmark = pytest.mark.spark

if shutil.which("java") is None:  # scripts/setup.sh installs it; say so rather than skip
    pytest.fail("Spark needs a Java runtime: run scripts/setup.sh", pytrace=False)

COMPARED = ["alert_id", "detector", "typology", "score", "account_ids", "isin",
            "window_start", "window_end", "evidence", "parameters"]


def alerts_on(engine: str, files, data_dir, domain: str = "market") -> pl.DataFrame:
    store = open_store(data_dir, engine)
    try:
        ingest_files(store, files)
        detectors = [c() for c in REGISTRY.detectors.values() if c.domain == domain]
        return run(store, detectors).select(COMPARED).sort("alert_id")
    finally:
        store.close()


def test_duckdb_and_spark_raise_the_same_alerts(tmp_path):
    out = tmp_path / "sim"
    simulate_market(out, seed=31, days=1, instruments=2, cases_per_typology=1)
    files = sorted(out.glob("*.parquet"))
    duck = alerts_on("duckdb", files, tmp_path / "duck")
    spark = alerts_on("spark", files, tmp_path / "spark")
    assert set(duck["detector"]) == {"spoofing", "layering", "wash_trade",
                                     "marking_the_close", "insider_dealing", "front_running",
                                     "pump_and_dump", "cross_market", "ramping"}
    assert spark.equals(duck), spark.join(duck, on="alert_id", how="anti")


def test_duckdb_and_spark_raise_the_same_payment_alerts(tmp_path):
    out = tmp_path / "sim"
    simulate_payments(out, seed=41, days=2, accounts=3_000, cases_per_typology=1)
    files = sorted(out.glob("*.parquet"))
    duck = alerts_on("duckdb", files, tmp_path / "duck", "payments")
    spark = alerts_on("spark", files, tmp_path / "spark", "payments")
    assert set(duck["detector"]) == {
        "structuring", "rapid_movement", "dormant_activation", "high_risk_corridor",
        "fan_in", "fan_out", "scatter_gather", "gather_scatter", "cycle", "random_walk",
        "stack", "bipartite", "gbm"}
    assert spark.equals(duck), spark.join(duck, on="alert_id", how="anti")
