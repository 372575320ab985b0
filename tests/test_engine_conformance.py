"""DuckDB and Spark agree: the same files give the same current and as-of views, and
every detector, market and payments, the same alerts over the same data. One module,
so that one worker runs Spark (tests are spread by module): two Spark processes at once
on two cores took twice as long each."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_file, ingest_files
from suptech.model.reports import REPORT_TYPES
from suptech.reconcile.run import record
from suptech.simulate.breaks import inject_breaks, score
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

SAMPLES = Path(__file__).parent.parent / "samples"

pytestmark = pytest.mark.spark

if shutil.which("java") is None:  # scripts/setup.sh installs it; say so rather than skip quietly
    pytest.fail("Spark needs a Java runtime: run scripts/setup.sh", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def interpreted():
    """Spark's queries interpreted rather than compiled to Java: on these tiny days
    compiling a query costs more than running it (the module alone: 137 -> 111 s,
    BENCHMARKS.md). Spark's own tests hold the two modes to the same answers. Spark
    reads this when its JVM starts; this module's are the process's only sessions."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_SUBMIT_ARGS",
                   "--conf spark.sql.codegen.factoryMode=NO_CODEGEN pyspark-shell")
        yield


def comparable(table: pa.Table) -> list[dict]:
    """Rows without what differs by engine run (when received, which batch)."""
    return table.drop_columns(["ts_received", "batch_id"]).to_pylist()


def load(engine: str, data_dir: Path):
    store = open_store(data_dir, engine)
    day = ingest_files(store, sorted(SAMPLES.glob("*.*")))
    first = {s["report_type"]: s["ts_received"] for s in store.submissions().to_pylist()}
    corrections = ingest_files(store, sorted((SAMPLES / "corrections").glob("*")))
    views = {name: comparable(store.query(name)) for name in REPORT_TYPES}
    past = comparable(store.query("order_event", first["order_event"]))
    feedback = [r.feedback.drop("file").rows() for r in day + corrections]
    store.close()
    return views, past, feedback


def test_duckdb_and_spark_agree_on_current_and_as_of_views(tmp_path):
    duck = load("duckdb", tmp_path / "duck")
    spark = load("spark", tmp_path / "spark")
    duck_views, duck_past, duck_feedback = duck
    spark_views, spark_past, spark_feedback = spark
    assert duck_feedback == spark_feedback
    for name in REPORT_TYPES:
        assert spark_views[name] == duck_views[name], name
    assert spark_past == duck_past
    # The corrections changed something, so the two views really are different views.
    assert duck_past != duck_views["order_event"]
    assert len(duck_views["order_event"]) == 7 and len(duck_past) == 8


COMPARED = ["alert_id", "detector", "typology", "score", "account_ids", "isin",
            "window_start", "window_end", "evidence", "parameters"]


def alerts_on(engine: str, files, data_dir, domain: str = "market",
              schedule: list[tuple[Path, int]] = ()):
    """The domain's alerts over `files` (or the files `schedule` sends when); with a
    schedule, and the reconciliation's breaks and counts besides."""
    store = open_store(data_dir, engine)
    try:
        ingest_files(store, files)
        for path, at in schedule:
            ingest_file(store, path, now_ns=at)
        detectors = [c() for c in REGISTRY.detectors.values() if c.domain == domain]
        alerts = run(store, detectors).select(COMPARED).sort("alert_id")
        if schedule:  # reconciled and kept, as `suptech reconcile` does
            found, quality = record(store)
            alerts = (alerts, found, quality.sort(["institution", "indicator", "day"]))
        # The scan's shared tables (files, on Spark) went when it ended; the store's
        # folder for them goes when it is closed.
        assert not [p for p in (data_dir / "spark" / "_shared").rglob("*") if p.is_file()]
    finally:
        store.close()
    assert not list((data_dir / "spark" / "_shared").glob("*"))
    return alerts


def test_duckdb_and_spark_raise_the_same_payment_alerts(tmp_path):
    out = tmp_path / "sim"
    # A seed on which every payment detector raises something (on seed 41 the one
    # random walk's amounts fall under the floor), so that each is compared.
    simulate_payments(out, seed=42, days=2, accounts=3_000, cases_per_typology=1)
    files = sorted(out.glob("*.parquet"))
    duck = alerts_on("duckdb", files, tmp_path / "duck", "payments")
    spark = alerts_on("spark", files, tmp_path / "spark", "payments")
    assert set(duck["detector"]) == {
        "structuring", "rapid_movement", "dormant_activation", "high_risk_corridor",
        "fan_in", "fan_out", "scatter_gather", "gather_scatter", "cycle", "random_walk",
        "stack", "bipartite", "gbm"}
    assert spark.equals(duck), spark.join(duck, on="alert_id", how="anti")


def test_duckdb_and_spark_raise_the_same_market_alerts_and_breaks(tmp_path):
    """A day with a break of every kind injected (`simulate.breaks`): the same alerts,
    and the same breaks, pairing counts and data-quality indicators from reconciliation,
    kept in the store."""
    out = tmp_path / "sim"
    simulate_market(out, seed=31, days=1, instruments=2, scale="tiny")
    sent = inject_breaks(sorted(out.glob("*.parquet")), tmp_path / "sent", seed=31, each=1)
    duck, duck_rec, duck_q = alerts_on("duckdb", [], tmp_path / "duck", schedule=sent.schedule)
    spark, spark_rec, spark_q = alerts_on("spark", [], tmp_path / "spark",
                                          schedule=sent.schedule)
    assert set(duck["detector"]) == {"spoofing", "layering", "wash_trade",
                                     "marking_the_close", "insider_dealing", "front_running",
                                     "pump_and_dump", "cross_market", "ramping"}
    assert spark.equals(duck), spark.join(duck, on="alert_id", how="anti")
    assert score(sent.labels, duck_rec.breaks)["found"].sum() == sent.labels.height
    assert spark_rec.breaks.equals(duck_rec.breaks)
    assert spark_rec.pairing.equals(duck_rec.pairing)
    assert spark_q.equals(duck_q) and duck_q.height
