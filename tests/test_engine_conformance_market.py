"""DuckDB and Spark raise the same market alerts over the same data: the part of the
engine conformance tests (`test_engine_conformance`) that a second worker runs."""

from __future__ import annotations

from test_engine_conformance import alerts_on, pytestmark  # noqa: F401  (Spark, Java check)

from suptech.simulate.market_run import simulate_market


def test_duckdb_and_spark_raise_the_same_alerts(tmp_path):
    out = tmp_path / "sim"
    simulate_market(out, seed=31, days=1, instruments=2, scale="tiny")
    files = sorted(out.glob("*.parquet"))
    duck = alerts_on("duckdb", files, tmp_path / "duck")
    spark = alerts_on("spark", files, tmp_path / "spark")
    assert set(duck["detector"]) == {"spoofing", "layering", "wash_trade",
                                     "marking_the_close", "insider_dealing", "front_running",
                                     "pump_and_dump", "cross_market", "ramping"}
    assert spark.equals(duck), spark.join(duck, on="alert_id", how="anti")
