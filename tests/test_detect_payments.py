"""Payment detectors: every typology found on a seed their parameters were not set on,
and a payment alert explained with its payments and a money-flow picture."""

from __future__ import annotations

import polars as pl
import pytest
from builders import shared_data
from typer.testing import CliRunner

from suptech.cli import app
from suptech.detect.base import REGISTRY
from suptech.detect.evaluate import score
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """Seed 23 (the parameters were set on seeds 1-3), three days, two cases a typology."""
    out = tmp_path_factory.mktemp("payments")
    simulate_payments(out, seed=23, days=3, accounts=10_000, cases_per_typology=2)
    return out


def test_every_payment_typology_is_found_on_an_unseen_seed(flow, tmp_path):
    store = open_store(tmp_path / "db")
    try:
        ingest_files(store, sorted(flow.glob("*.parquet")))
        alerts = run(store, [c() for c in REGISTRY.detectors.values() if c.domain == "payments"])
    finally:
        store.close()
    rows = {s.typology: s for s in score(pl.read_csv(flow / "labels.csv"), alerts)}
    assert len(rows) == 13  # twelve typologies and ALL
    for typology, s in rows.items():
        assert s.found >= 1, f"{typology}: found {s.found} of {s.cases}"
    assert rows["ALL"].recall >= 0.9 and rows["ALL"].precision >= 0.7, rows["ALL"]


def test_a_payment_alert_is_shown_with_its_payments_and_a_flow_picture(flow, tmp_path):
    runner = CliRunner()
    db = ["--data-dir", str(tmp_path / "db")]
    assert runner.invoke(app, ["ingest", *map(str, sorted(flow.glob("*.parquet"))), *db]).exit_code == 0
    assert runner.invoke(app, ["scan", "--detectors", "fan_out,cycle", *db]).exit_code == 0
    export = tmp_path / "alerts.csv"
    assert runner.invoke(app, ["alerts", "export", "--out", str(export), *db]).exit_code == 0
    alert = pl.read_csv(export).filter(pl.col("typology") == "FAN_OUT").row(0, named=True)
    picture = tmp_path / "flow.html"
    shown = runner.invoke(app, ["alerts", "show", alert["alert_id"], "--picture", str(picture), *db])
    assert shown.exit_code == 0, shown.output
    assert "payments (" in shown.output
    assert "Plotly.newPlot" in picture.read_text()  # the dashboard's figure, offline


def test_amlworld_imports_with_its_patterns_as_labels_and_ingests_cleanly(tmp_path):
    trans = shared_data("amlworld", "HI-Small_Trans_sample.csv")
    patterns = shared_data("amlworld", "HI-Small_Patterns.json")
    out = tmp_path / "aml"
    done = CliRunner().invoke(app, ["import", "amlworld", str(trans), "--patterns",
                                    str(patterns), "--out", str(out)])
    assert done.exit_code == 0, done.output
    labels = pl.read_csv(out / "labels.csv")
    assert labels.height == 370
    assert set(labels["typology"]) == {"FAN_OUT", "FAN_IN", "CYCLE", "GATHER_SCATTER",
                                       "SCATTER_GATHER", "STACK", "BIPARTITE", "RANDOM"}
    store = open_store(tmp_path / "db")
    try:
        [result] = ingest_files(store, sorted(out.glob("payment-*.parquet")))
    finally:
        store.close()
    assert result.summary.rejected == 0
    truth = pl.read_parquet(out / "truth.parquet")
    assert truth.height == result.summary.accepted and truth["is_laundering"].sum() == 3209


def test_a_file_that_is_not_amlworld_gets_one_clear_line(tmp_path):
    bad = tmp_path / "x_Trans.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["import", "amlworld", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "columns" in result.output


# ---- the learned model ---------------------------------------------------------------------

def test_the_shipped_model_was_trained_on_simulator_seeds_apart_from_the_scored_ones():
    from suptech.detect.payments.features import FEATURES
    from suptech.detect.payments.model import load

    model = load()
    assert model.features == FEATURES  # the scan computes what the model was fitted on
    trained = set(model.meta["trained_on"]["simulator_seeds"])
    validated = set(model.meta["validation"]["simulator_seeds"])
    assert not trained & validated
    assert not (trained | validated) & {23, 101, 102, 103, 104, 105}  # the scored seeds
    assert 0 < model.threshold < 1


def test_a_learned_alert_names_its_typology_and_the_features_behind_it(flow, tmp_path):
    runner = CliRunner()
    db = ["--data-dir", str(tmp_path / "db")]
    assert runner.invoke(app, ["ingest", *map(str, sorted(flow.glob("*.parquet"))), *db]).exit_code == 0
    assert runner.invoke(app, ["scan", "--detectors", "gbm", *db]).exit_code == 0
    export = tmp_path / "alerts.csv"
    assert runner.invoke(app, ["alerts", "export", "--out", str(export), *db]).exit_code == 0
    alerts = pl.read_csv(export)
    assert alerts.height > 0 and set(alerts["detector"]) == {"gbm"}
    from suptech.simulate.payment_cases import PAYMENT_TYPOLOGIES
    assert set(alerts["typology"]) <= set(PAYMENT_TYPOLOGIES)
    shown = runner.invoke(app, ["alerts", "show", alerts["alert_id"][0], "--picture",
                                str(tmp_path / "f.html"), *db])
    assert shown.exit_code == 0, shown.output
    assert "why: model aml-gbm-" in shown.output and "log-odds" in shown.output


@pytest.mark.parametrize(("feature", "value", "contribution", "says"), [
    ("ordinary", 0.0, 9.77, "no ordinary business purpose code: +9.77 log-odds towards laundering"),
    ("cash", 1.0, 0.5, "paid in cash: +0.50 log-odds towards laundering"),
    ("pair_days", 12.0, -1.25, "days the two dealt with each other = 12: -1.25 log-odds away "
                               "from laundering"),
])
def test_a_learned_scores_drivers_say_what_the_payment_is(feature, value, contribution, says):
    """"ordinary = 0.0 (+9.77): an ordinary business purpose code" read backwards: a
    yes-or-no feature is said as what the payment is, with or without it."""
    from suptech.detect.payments.features import describe

    assert describe(feature, value, contribution) == says


def test_a_model_trained_anew_is_loaded_from_its_directory_and_a_missing_one_is_named(
        tmp_path, monkeypatch, flow):
    from suptech.detect.payments.model import load
    from suptech.detect.payments.training import train

    # A small model, to check the files and their loading; its quality is not the point.
    trained = train(tmp_path / "models", "7", seeds=(61,), validation=(62,), days=1,
                    accounts=3_000, history=2)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "aml-gbm-7-typology.txt", "aml-gbm-7.json", "aml-gbm-7.txt"]
    model = load(None, str(tmp_path / "models"))
    assert model.version == "7" and model.meta == trained.meta
    monkeypatch.setenv("SUPTECH_MODEL_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    db = ["--data-dir", str(tmp_path / "db")]
    runner = CliRunner()
    runner.invoke(app, ["ingest", *map(str, sorted(flow.glob("payment-*.parquet"))), *db])
    result = runner.invoke(app, ["scan", "--detectors", "gbm", *db])
    assert result.exit_code == 2 and "suptech model train" in result.output


def test_scores_over_payments_count_each_flagged_payment_once():
    """A payment is flagged when an alert's evidence names it: laundering flagged under
    another typology is a true flag, and recall is per typology of the truth."""
    from suptech.detect.evaluate import payment_scores

    truth = pl.DataFrame({"payment_id": ["P1", "P2", "P3", "P4", "P5"],
                          "typology": ["FAN_OUT", "FAN_OUT", "CYCLE", None, None]})
    alerts = pl.DataFrame({"typology": ["FAN_OUT", "FAN_OUT", "CYCLE"],
                           "evidence": ["P1;P4", "P1;P3", "P5;P9"]})
    rows = {s.typology: s for s in payment_scores(alerts, truth)}
    assert (rows["FAN_OUT"].flagged, rows["FAN_OUT"].true_flagged) == (3, 2)
    assert (rows["FAN_OUT"].laundering, rows["FAN_OUT"].found) == (2, 1)
    assert (rows["CYCLE"].flagged, rows["CYCLE"].recall) == (1, 1.0)  # P9 is not scored
    assert (rows["ALL"].flagged, rows["ALL"].true_flagged, rows["ALL"].found) == (4, 2, 2)
    assert rows["ALL"].precision == 0.5 and rows["ALL"].recall == 2 / 3


@pytest.mark.parametrize("ring", [["A", "B", "C"], ["B", "C", "A"], ["C", "A", "B"]])
def test_a_ring_starts_where_its_money_started_wherever_the_search_began(ring):
    """A ring paid round twice from A: the cycle is the first round, whichever account
    the graph search names first (which depends on the order of a set)."""
    import networkx as nx

    from suptech.detect.payments.cycle import _ring_path

    graph = nx.MultiDiGraph()
    for pid, a, b, t, cny in [("P1", "A", "B", 1, 100_000), ("P2", "B", "C", 2, 95_000),
                              ("P3", "C", "A", 3, 90_000), ("P4", "A", "B", 4, 88_000)]:
        graph.add_edge(a, b, payment_id=pid, ts_event=t, cny=cny)
    assert [e["payment_id"] for e in _ring_path(graph, ring, 0.8)] == ["P1", "P2", "P3"]


def test_a_dormant_account_is_one_its_bank_last_saw_used_years_ago_that_passes_money_on(
        tmp_path, store, ingest):
    """S, last used in 2015, passes on what it receives within hours: an activation.
    K, as idle, keeps what it receives (an inheritance, a house sale): not one. R was
    opened as long ago but used last month (its bank says so): not dormant. Z's bank does
    not say, so its opening date stands in."""
    import uuid

    from builders import record, write_csv

    from suptech.detect.payments.dormant import DormantActivation

    idle = {"S": "2015-06-01", "K": "2015-06-01", "R": "2026-02-10", "Z": None}
    parties = [record("party", i, party_id=f"P{a}") for i, a in enumerate(idle)]
    accounts = [record("account", i, account_id=a, owner_party_id=f"P{a}",
                       account_type="PAYMENT", opened_date="2008-03-01", last_active_date=d)
                for i, (a, d) in enumerate(idle.items())]
    flows = [(a, "in", f"{src}", a, "300000.00", "10:00") for a, src in
             [("S", "X1"), ("K", "X2"), ("R", "X3"), ("Z", "X4")]]
    flows += [(a, "out", a, f"Y{i}", "290000.00", "13:00") for i, a in enumerate("SRZ")]
    payments = [record("payment", i, payment_id=str(uuid.UUID(int=i + 1, version=4)),
                       debtor_account_id=d, creditor_account_id=c, amount=amount,
                       channel="RTGS", purpose=None, ts_event=f"2026-03-02T{at}:00+08:00")
                for i, (_, _, d, c, amount, at) in enumerate(flows)]
    ingest(write_csv(tmp_path, "party.csv", parties),
           write_csv(tmp_path, "account.csv", accounts),
           write_csv(tmp_path, "payment.csv", payments))
    alerts = run(store, [DormantActivation()])
    assert sorted(alerts["account_ids"]) == ["S", "Z"]
    s = alerts.filter(pl.col("account_ids") == "S").row(0, named=True)
    legs = sorted(str(uuid.UUID(int=k, version=4)) for k in (1, 5))
    assert s["evidence"] == ";".join(legs)


def test_paying_the_same_people_as_last_month_is_not_a_fan_out(tmp_path, store, ingest):
    """A pays five people on the 2nd of March and again on the 1st of April (a payroll
    sent as plain transfers); B pays five it never paid before. Scanning April, with
    March stored, only B fans out."""
    import uuid
    from datetime import datetime

    from builders import record, write_csv

    from suptech.detect.payments.fan_out import FanOut

    legs = [("A", f"E{k}", day) for day in ("03-02", "04-01") for k in range(5)]
    legs += [("B", f"M{k}", "04-01") for k in range(5)]
    payments = [record("payment", i, payment_id=str(uuid.UUID(int=i + 1, version=4)),
                       debtor_account_id=a, creditor_account_id=b, amount="20000.00",
                       channel="RTGS", purpose=None, ts_event=f"2026-{day}T10:{i:02d}:00+08:00")
                for i, (a, b, day) in enumerate(legs)]
    ingest(write_csv(tmp_path, "payment.csv", payments))
    april = int(datetime.fromisoformat("2026-04-01T00:00:00+08:00").timestamp()) * 10**9
    assert list(run(store, [FanOut()], start_ns=april)["account_ids"]) == [
        "B;M0;M1;M2;M3;M4"]
    # Scanning both months at once, A's March payroll is to new payees, but A pays them
    # as much again in April: no more than A's usual day with its regular payees.
    assert list(run(store, [FanOut()])["account_ids"]) == ["B;M0;M1;M2;M3;M4"]
    # Without April, nothing shows A's March payroll is its business: a burst of new payees.
    march = run(store, [FanOut()], end_ns=april).filter(pl.col("account_ids").str.starts_with("A"))
    assert march["evidence"].to_list() == [";".join(sorted(p["payment_id"] for p in payments[:5]))]


def test_a_payment_reported_twice_is_counted_and_shown_once(tmp_path, store, ingest):
    """B pays five people it never paid; its bank sends the day's file twice, the second
    time under new report ids (both accepted: a report id is new). Each payment is one
    movement of money: the fan-out is of five payments, and its evidence lists five."""
    import uuid

    from builders import record, write_csv

    from suptech.detect.evidence import payment_evidence
    from suptech.detect.payments.fan_out import FanOut

    legs = [dict(payment_id=str(uuid.UUID(int=k + 1, version=4)), debtor_account_id="B",
                 creditor_account_id=f"M{k}", amount="20000.00", channel="RTGS", purpose=None,
                 ts_event=f"2026-04-01T10:{k:02d}:00+08:00") for k in range(5)]
    ingest(write_csv(tmp_path, "payment.csv", [record("payment", k, **leg)
                                               for k, leg in enumerate(legs)]))
    again = [record("payment", k, **leg) for k, leg in enumerate(legs)]
    ingest(write_csv(tmp_path, "payment-again.csv",
                     [{**r, "report_id": "AGAIN-" + r["report_id"]} for r in again]))
    [alert] = run(store, [FanOut()]).to_dicts()
    assert alert["evidence"] == ";".join(sorted(leg["payment_id"] for leg in legs))
    shown = payment_evidence(store, alert)
    assert sorted(shown["payment_id"]) == sorted(leg["payment_id"] for leg in legs)


def test_a_learned_case_is_a_pattern_of_payments_not_one_odd_payment():
    """Flagged payments joined by their accounts make one case; a payment flagged on its
    own (D to E) is not a case."""
    from suptech.detect.payments.learned import Learned
    from suptech.detect.payments.model import load

    model = load()
    flagged = pl.DataFrame({
        "payment_id": ["P1", "P2", "P3"], "debtor": ["A", "B", "D"],
        "creditor": ["B", "C", "E"], "ts_event": [1, 2, 3], "suspicion": [0.9, 0.8, 0.99],
        **{f: [0.0, 0.0, 0.0] for f in model.features}})
    cases = Learned().cases(model, flagged, model.threshold)
    assert cases["account_ids"].to_list() == [["A", "B", "C"]]
    assert cases["evidence"].to_list() == [["P1", "P2"]]


def test_evaluate_scores_over_payments_when_given_their_truth(tmp_path):
    from suptech.detect.evaluate import payment_scores

    flow = tmp_path / "flow"
    simulate_payments(flow, seed=37, days=2, accounts=3_000, cases_per_typology=1, truth=True)
    reports = [str(p) for p in sorted(flow.glob("*.parquet")) if p.name != "truth.parquet"]
    runner = CliRunner()
    db = ["--data-dir", str(tmp_path / "db")]
    assert runner.invoke(app, ["ingest", *reports, *db]).exit_code == 0
    assert runner.invoke(app, ["scan", "--detectors", "fan_out,cycle", *db]).exit_code == 0
    labels, truth = str(flow / "labels.csv"), flow / "truth.parquet"
    shown = runner.invoke(app, ["evaluate", "--labels", labels, "--truth", str(truth), *db],
                          env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    store = open_store(tmp_path / "db")
    try:
        every = payment_scores(store.alerts(), pl.read_parquet(truth))[-1]
    finally:
        store.close()
    below = shown.output.split("over payments")[1]
    [row] = [[c.strip() for c in line.split("│")[1:-1]] for line in below.splitlines()
             if line.startswith("│ ALL ")]
    assert row == ["ALL", f"{every.laundering:,}", f"{every.found:,}", f"{every.recall:.2f}",
                   f"{every.flagged:,}", f"{every.true_flagged:,}", f"{every.precision:.2f}",
                   f"{every.f1:.2f}"]
    assert every.flagged > 0
    bad = tmp_path / "truth.csv"
    bad.write_text("id,kind\n1,x\n")
    refused = runner.invoke(app, ["evaluate", "--labels", labels, "--truth", str(bad), *db])
    assert refused.exit_code == 2 and "needs the columns payment_id and typology" in refused.output
