"""The payment model learns from the institution: its labelled history and its
analysts' decisions become labels, a model is trained on its past and scored on what
came after, and the next scan uses it."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from suptech.cli import app
from suptech.detect.evaluate import matches
from suptech.detect.payments.learning import LabelError, labels_from_decisions, read_labels
from suptech.ops import cases
from suptech.ops.access import User, add_user
from suptech.ops.db import connect
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

ANALYST = User("ana", "analyst", "CN-SH")
SUPERVISORS = (User("sue", "supervisor", "CN-SH"), User("sam", "supervisor", "CN-SH"))


def alerts(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["alert_id", "typology", "evidence"], orient="row")


@pytest.fixture
def ops(tmp_path):
    engine = connect(tmp_path)
    with engine.begin() as con:
        for u in (ANALYST, *SUPERVISORS):
            add_user(con, "test", u.user_id, u.role, u.jurisdiction)
    yield engine
    engine.dispose()


def test_escalated_and_referred_alerts_are_laundering_dismissed_ones_benign(ops):
    found = alerts(("AL-1", "FAN_OUT", "P1;P2"), ("AL-2", "CYCLE", "P3"),
                   ("AL-3", "FAN_IN", "P4"), ("AL-4", "STACK", "P5"),
                   ("AL-5", "SPOOFING", "O1"), ("AL-6", "CYCLE", "P6"))
    with ops.begin() as con:
        cases.escalate(con, ANALYST, "AL-1")
        cases.dismiss(con, ANALYST, "AL-2", "a family paying each other back")
        # Dismissed at first, then in a case a second supervisor closed as referred.
        cases.dismiss(con, ANALYST, "AL-3", "looks like a shop")
        case = cases.open_case(con, ANALYST, "a collection account", ["AL-3", "AL-4"])
        cases.transition(con, SUPERVISORS[0], case["case_id"], "investigating")
        cases.transition(con, SUPERVISORS[1], case["case_id"], "closed-referred")
        cases.escalate(con, ANALYST, "AL-5")  # a market alert: no payments to label
    labels = dict(labels_from_decisions(found, ops).iter_rows())
    # AL-6 was never decided: its payment is not labelled.
    assert labels == {"P1": "FAN_OUT", "P2": "FAN_OUT", "P3": None, "P4": "FAN_IN",
                      "P5": "STACK"}


def test_a_payment_decided_both_ways_counts_as_laundering(ops):
    found = alerts(("AL-1", "FAN_OUT", "P1;P2"), ("AL-2", "CYCLE", "P2"))
    with ops.begin() as con:
        cases.dismiss(con, ANALYST, "AL-1", "payroll")
        cases.escalate(con, ANALYST, "AL-2")
    assert dict(labels_from_decisions(found, ops).iter_rows()) == {"P1": None, "P2": "CYCLE"}


@pytest.mark.parametrize("text, says", [
    ("payment_id,label\nP1,1\n", "no column typology"),
    ("payment_id,typology\nP1,SMURFING\n", "unknown payment typology SMURFING"),
])
def test_labels_that_cannot_train_a_model_say_why(tmp_path, text, says):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(LabelError, match=says):
        read_labels(path)


def test_decisions_train_the_model_the_next_scan_uses(tmp_path, monkeypatch):
    """Analysts escalate the rule alerts that are laundering and dismiss the others;
    a model trained on those decisions, split by time, is the next scan's."""
    flow = tmp_path / "flow"
    simulate_payments(flow, seed=29, days=3, accounts=8_000, cases_per_typology=3)
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("SUPTECH_MODEL_DIR", str(models))
    runner = CliRunner()
    db = ["--data-dir", str(tmp_path / "db")]
    assert runner.invoke(app, ["ingest", *map(str, sorted(flow.glob("payment*.parquet"))),
                               *db]).exit_code == 0
    rules = "fan_out,fan_in,cycle,stack,scatter_gather,gather_scatter,rapid_movement"
    assert runner.invoke(app, ["scan", "--detectors", rules, *db]).exit_code == 0
    store = open_store(tmp_path / "db")
    found = store.alerts()
    store.close()
    true = set(matches(pl.read_csv(flow / "labels.csv"), found)["alert_id"])
    ops = connect(tmp_path / "db")
    with ops.begin() as con:
        for alert_id in found["alert_id"]:
            if alert_id in true:
                cases.escalate(con, ANALYST, alert_id)
            else:
                cases.dismiss(con, ANALYST, alert_id, "ordinary business")
    ops.dispose()
    trained = runner.invoke(app, ["model", "train", "--from-decisions", "--version", "9",
                                  *db])
    assert trained.exit_code == 0, trained.output
    assert "model 9 written" in trained.output and "held out" in trained.output
    meta = json.loads((models / "aml-gbm-9.json").read_text())
    assert meta["trained_on"]["labels"].startswith("decisions") \
        and meta["trained_on"]["laundering"] > 0
    listed = runner.invoke(app, ["model", "list"])
    assert "decisions" in listed.output
    rescan = runner.invoke(app, ["scan", "--detectors", "gbm", "--from", "2026-03-02",
                                 "--to", "2026-03-06", *db])
    assert rescan.exit_code == 0, rescan.output
    store = open_store(tmp_path / "db")
    learned = store.alerts().filter(pl.col("detector") == "gbm")
    store.close()
    assert learned.height > 0
    assert {json.loads(e)["model"] for e in learned["explanation"]} == {"aml-gbm-9"}


def test_labels_of_payments_the_database_lacks_train_nothing_and_say_so(tmp_path):
    flow = tmp_path / "flow"
    simulate_payments(flow, seed=31, days=2, accounts=3_000, cases_per_typology=1)
    runner = CliRunner()
    db = ["--data-dir", str(tmp_path / "db")]
    runner.invoke(app, ["ingest", *map(str, sorted(flow.glob("payment*.parquet"))), *db])
    labels = tmp_path / "labels.csv"
    labels.write_text("payment_id,typology\nNOSUCH,FAN_OUT\n")
    result = runner.invoke(app, ["model", "train", "--labels", str(labels), "--version", "3",
                                 "--out", str(tmp_path / "models"), *db])
    assert result.exit_code == 2
    assert "no payment labelled as laundering is in the report database" in result.output
    assert not (tmp_path / "models").exists()
