"""The supervision server: tokens, roles and jurisdictions on every endpoint family, the
case state machine with four eyes, the audit chain, and submissions over the API.

The operational data is on a real PostgreSQL (a database made for this run)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from builders import BANK, BROKER_A, record
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pg import fresh_database
from typer.testing import CliRunner

from suptech.cli import app as cli_app
from suptech.detect.scan import scan
from suptech.ingest.pipeline import ingest_files
from suptech.ops import access
from suptech.ops.db import connect
from suptech.reconcile.run import record as reconcile_and_keep
from suptech.server.app import create_app
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

USERS = {  # user: (role, jurisdiction, lei)
    "bank": ("submitter", "CN-SH", BANK), "broker": ("submitter", "CN-JS", BROKER_A),
    "ana": ("analyst", "CN-SH", None), "jing": ("analyst", "CN-JS", None),
    "sup1": ("supervisor", "CN-SH", None), "sup2": ("supervisor", "CN-SH", None),
    "root": ("admin", "CN-SH", None),
}


@pytest.fixture(scope="module")
def database():
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def audit_key(tmp_path_factory):
    """The audit key of the module's database: every server and CLI on one database
    shares it (a second data directory would make a key of its own)."""
    import os
    key = os.urandom(16).hex()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPTECH_AUDIT_KEY", key)
        yield key


@pytest.fixture(scope="module")
def world(tmp_path_factory, database, audit_key):
    """A small market day and a payment network, ingested and scanned; one user per role."""
    root = tmp_path_factory.mktemp("server")
    data = root / "data"
    market = simulate_market(root / "market", seed=51, days=1, instruments=2, scale="tiny")
    pay = simulate_payments(root / "pay", seed=52, days=1, accounts=3_000, cases_per_typology=1)
    store = open_store(data)
    ingest_files(store, [p for p in market.files + pay.files if p.suffix == ".parquet"])
    scan(store)
    reconcile_and_keep(store)  # its breaks are the institutions' feedback
    store.close()
    ops = connect(data, database)
    with ops.begin() as con:
        tokens = {u: access.add_user(con, "test", u, *spec) for u, spec in USERS.items()}
    ops.dispose()
    with TestClient(create_app(data, database_url=database)) as client:
        yield client, tokens


def as_(world, user: str) -> dict:
    return {"Authorization": f"Bearer {world[1][user]}"}


def alerts(world, user: str) -> list[dict]:
    r = world[0].get("/v1/alerts", headers=as_(world, user))
    assert r.status_code == 200, r.text
    return r.json()


def sh_only_alert(world) -> str:
    only = [a for a in alerts(world, "ana") if a["regions"] == ["CN-SH"]]
    assert only, "the simulated data should hold an alert of CN-SH accounts alone"
    return only[0]["alert_id"]


# ---- tokens --------------------------------------------------------------------------

def test_every_endpoint_requires_a_valid_token(world, database, tmp_path):
    client, _ = world
    routes = [r for r in client.app.routes if isinstance(r, APIRoute) and r.include_in_schema]
    assert len(routes) >= 15
    for route in routes:
        path = route.path.replace("{report_type}", "party").replace("{alert_id}", "AL-x") \
            .replace("{case_id}", "CS-x").replace("{batch_id}", "b")
        for method in route.methods:
            for headers in ({}, {"Authorization": "Bearer st_not_a_token"}):
                r = client.request(method, path, headers=headers)
                assert r.status_code == 401, (method, path, r.status_code)
    ops = connect(tmp_path, database)
    with ops.begin() as con:
        token = access.add_user(con, "test", "leaver", "analyst", "CN-SH")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    result = CliRunner().invoke(cli_app, ["users", "revoke", "leaver", "--database-url", database,
                                          "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    ops.dispose()


def test_tokens_are_stored_only_as_hashes(world, database, tmp_path):
    ops = connect(tmp_path, database)
    with ops.connect() as con:
        stored = con.execute(sa.text("SELECT token_hash FROM tokens")).scalars().all()
    ops.dispose()
    for token in world[1].values():
        assert token not in stored and access.token_hash(token) in stored


# ---- roles ---------------------------------------------------------------------------

def families(world) -> dict[str, tuple[str, str, dict | None, set[str]]]:
    alert = sh_only_alert(world)
    batch = {"records": [record("payment", 900, submitter=BANK)]}
    return {  # family: (method, path, body, roles allowed)
        "identity": ("GET", "/v1/me", None, {"submitter", "analyst", "supervisor", "admin"}),
        "users": ("GET", "/v1/users", None, {"admin"}),
        "audit": ("GET", "/v1/audit/verify", None, {"admin"}),
        "submit": ("POST", "/v1/submissions/payment", batch, {"submitter"}),
        "submissions": ("GET", "/v1/submissions", None,
                        {"submitter", "analyst", "supervisor", "admin"}),
        "reports": ("GET", "/v1/reports/account", None, {"analyst", "supervisor"}),
        "alerts": ("GET", "/v1/alerts", None, {"analyst", "supervisor"}),
        "alert": ("GET", f"/v1/alerts/{alert}", None, {"analyst", "supervisor"}),
        "triage": ("POST", f"/v1/alerts/{alert}/comments", {"text": "looked at"},
                   {"analyst", "supervisor"}),
        "cases": ("GET", "/v1/cases", None, {"analyst", "supervisor"}),
        "breaks": ("GET", "/v1/breaks", None, {"submitter", "analyst", "supervisor"}),
        "new case": ("POST", "/v1/cases", {"title": "t", "alert_ids": [alert]},
                     {"analyst", "supervisor"}),
    }


@pytest.mark.parametrize("user", ["bank", "ana", "sup1", "root"])
def test_each_role_is_allowed_its_endpoint_families_and_refused_the_others(world, user):
    role = USERS[user][0]
    for family, (method, path, body, allowed) in families(world).items():
        r = world[0].request(method, path, json=body, headers=as_(world, user))
        if role in allowed:
            assert r.status_code in (200, 201), (user, family, r.status_code, r.text)
        else:
            assert r.status_code == 403, (user, family, r.status_code, r.text)
            assert "may not" in r.json()["detail"]


# ---- jurisdictions -------------------------------------------------------------------

def test_a_cn_js_analyst_never_sees_cn_sh_alerts_reports_or_cases(world):
    client = world[0]
    mine = alerts(world, "jing")
    assert mine and all("CN-JS" in a["regions"] for a in mine)
    hidden = sh_only_alert(world)
    assert hidden not in {a["alert_id"] for a in mine}
    assert client.get(f"/v1/alerts/{hidden}", headers=as_(world, "jing")).status_code == 404
    assert client.post(f"/v1/alerts/{hidden}/dismiss", json={"reason": "x"},
                       headers=as_(world, "jing")).status_code == 404
    assert client.post("/v1/cases", json={"title": "t", "alert_ids": [hidden]},
                       headers=as_(world, "jing")).status_code == 404
    parties = client.get("/v1/reports/party?limit=10000", headers=as_(world, "jing")).json()
    assert parties["total"] > 0 and {p["region"] for p in parties["rows"]} == {"CN-JS"}
    # Every report type has a rule of who sees it: none is refused with a server error.
    from suptech.model.reports import REPORT_TYPES
    for name in REPORT_TYPES:
        assert client.get(f"/v1/reports/{name}?limit=1",
                          headers=as_(world, "jing")).status_code == 200, name
    sh_case = client.post("/v1/cases", json={"title": "SH only", "alert_ids": [hidden]},
                          headers=as_(world, "ana")).json()["case_id"]
    assert client.get(f"/v1/cases/{sh_case}", headers=as_(world, "jing")).status_code == 404
    assert sh_case not in {c["case_id"] for c in
                           client.get("/v1/cases", headers=as_(world, "jing")).json()}


def test_a_submitter_sees_only_its_own_submissions_and_feedback(world):
    client = world[0]
    for user, lei in (("bank", BANK), ("broker", BROKER_A)):
        r = client.post("/v1/submissions/payment", headers=as_(world, user),
                        json={"records": [record("payment", 1, submitter=lei, report_id=user)]})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    own = client.get("/v1/submissions", headers=as_(world, "bank")).json()
    assert own and {s["owner"] for s in own} == {BANK}
    theirs = client.get("/v1/submissions", headers=as_(world, "broker")).json()
    other = next(s["batch_id"] for s in theirs if s["owner"] == BROKER_A)
    assert client.get(f"/v1/submissions/{other}/feedback",
                      headers=as_(world, "bank")).status_code == 404
    # Analysts see the institutions of their own jurisdiction: bank is CN-SH, broker CN-JS.
    mine = client.get("/v1/submissions", headers=as_(world, "jing")).json()
    assert mine and {s["owner"] for s in mine} == {BROKER_A}
    bank_batch = own[0]["batch_id"]
    assert client.get(f"/v1/submissions/{bank_batch}/feedback",
                      headers=as_(world, "jing")).status_code == 404
    assert client.get(f"/v1/submissions/{other}/feedback",
                      headers=as_(world, "jing")).status_code == 200
    with world[0].app.state.services.ops.connect() as con:
        reads = con.execute(sa.text("SELECT action, object_id FROM audit_log WHERE actor = 'jing'")
                            ).all()
    assert ("feedback.read", bank_batch) in reads and ("submissions.read", "*") in reads


def test_reconciliation_breaks_are_each_institutions_own_feedback(world):
    """The day was sent long after its deadline: every report is late. An analyst sees
    every break; a member, as a submitter, only those that name it."""
    client = world[0]
    every = client.get("/v1/breaks?limit=10000", headers=as_(world, "ana")).json()
    assert every and {b["code"] for b in every} == {"R005"}
    member = every[0]["member"]
    with client.app.state.services.ops.begin() as con:
        token = access.add_user(con, "test", "member1", "submitter", "CN-SH", member)
    mine = client.get("/v1/breaks?limit=10000", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and mine.json()
    assert all(member in (b["member"], b["venue"]) for b in mine.json())
    # (the analyst's first 10,000 of them hold some of the member's, not all)
    assert len(mine.json()) >= sum(member in (b["member"], b["venue"]) for b in every)
    assert client.get("/v1/breaks?month=2026-13x", headers=as_(world, "ana")).status_code == 422
    assert client.get("/v1/breaks?month=1999-01", headers=as_(world, "ana")).json() == []


def test_a_submitter_cannot_report_under_another_institutions_lei(world):
    r = world[0].post("/v1/submissions/payment", headers=as_(world, "bank"), json={"records": [
        record("payment", 1, submitter=BANK, report_id="mine-1"),
        record("payment", 2, submitter=BROKER_A, report_id="not-mine")]})
    body = r.json()
    assert (body["rows"], body["accepted"], body["rejected"]) == (2, 1, 1)
    [fb] = body["feedback"]
    assert (fb["row"], fb["code"], fb["field"]) == (2, "E010", "submitter")
    assert "not the sending institution" in fb["message"]


# ---- cases ---------------------------------------------------------------------------

def move(world, user: str, case_id: str, to: str):
    return world[0].post(f"/v1/cases/{case_id}/transitions", json={"to": to},
                         headers=as_(world, user))


def test_the_case_state_machine_refuses_what_it_does_not_allow(world):
    case = world[0].post("/v1/cases", json={"title": "ring", "alert_ids": [sh_only_alert(world)]},
                         headers=as_(world, "ana")).json()
    cid = case["case_id"]
    assert case["state"] == "open"
    for refused in ("escalated", "closed-no-action", "closed-referred"):
        r = move(world, "sup1", cid, refused)
        assert r.status_code == 409 and "cannot become" in r.json()["detail"], refused
    assert move(world, "ana", cid, "nonsense").status_code == 422
    assert move(world, "ana", cid, "investigating").json()["investigator"] == "ana"
    assert move(world, "ana", cid, "escalated").json()["state"] == "escalated"
    assert move(world, "ana", cid, "investigating").status_code == 403  # sending back: supervisors
    assert move(world, "ana", cid, "closed-referred").status_code == 403  # closing: supervisors
    closed = move(world, "sup1", cid, "closed-referred").json()
    assert closed["state"] == "closed-referred"
    assert [e["text"] for e in closed["timeline"] if e["kind"] == "state"] == [
        "opened", "open → investigating", "investigating → escalated",
        "escalated → closed-referred"]
    for after in ("open", "investigating", "escalated", "closed-no-action"):
        assert move(world, "sup2", cid, after).status_code == 409


def test_four_eyes_the_investigator_may_not_close_the_case(world):
    cid = world[0].post("/v1/cases", json={"title": "four eyes"},
                        headers=as_(world, "sup1")).json()["case_id"]
    assert move(world, "sup1", cid, "investigating").json()["investigator"] == "sup1"
    refused = move(world, "sup1", cid, "closed-no-action")
    assert refused.status_code == 403 and "four eyes" in refused.json()["detail"]
    assert move(world, "sup2", cid, "closed-no-action").json()["state"] == "closed-no-action"


def test_alert_triage_needs_a_reason_to_dismiss_and_settles(world):
    client = world[0]
    alert = [a for a in alerts(world, "ana") if a["status"] == "new"][-1]["alert_id"]
    assert client.post(f"/v1/alerts/{alert}/dismiss", json={"reason": ""},
                       headers=as_(world, "ana")).status_code == 422
    assigned = client.post(f"/v1/alerts/{alert}/assign", json={"assignee": "ana"},
                           headers=as_(world, "sup1")).json()
    assert (assigned["status"], assigned["assignee"]) == ("assigned", "ana")
    done = client.post(f"/v1/alerts/{alert}/dismiss", json={"reason": "market maker hedging"},
                       headers=as_(world, "ana")).json()
    assert (done["status"], done["reason"]) == ("dismissed", "market maker hedging")
    assert client.post(f"/v1/alerts/{alert}/escalate",
                       headers=as_(world, "ana")).status_code == 409


# ---- audit ---------------------------------------------------------------------------

def test_audit_verify_detects_an_edited_and_a_deleted_entry(tmp_path):
    with fresh_database() as url:
        ops = connect(tmp_path, url)
        with ops.begin() as con:
            for i in range(5):
                access.add_user(con, "test", f"u{i}", "analyst", "CN-AH")
        cli = ["audit", "verify", "--database-url", url, "--data-dir", str(tmp_path)]
        intact = CliRunner().invoke(cli_app, cli)
        assert intact.exit_code == 0 and "10 entries" in intact.output
        with ops.begin() as con:
            con.execute(sa.text("UPDATE audit_log SET detail = '{\"role\":\"admin\"}' "
                                "WHERE seq = 3"))
        edited = CliRunner().invoke(cli_app, cli)
        assert edited.exit_code == 1 and "entry 3" in edited.output, edited.output
        with ops.begin() as con:  # put it back, then take another out
            con.execute(sa.text("DELETE FROM audit_log WHERE seq >= 3"))
            access.add_user(con, "test", "again", "analyst", "CN-AH")
            con.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
        deleted = CliRunner().invoke(cli_app, cli)
        assert deleted.exit_code == 1 and "entry 2 is missing" in deleted.output, deleted.output
        ops.dispose()


def test_reading_reports_is_audited(world):
    client = world[0]
    assert client.get("/v1/reports/party?limit=5", headers=as_(world, "ana")).status_code == 200
    check = client.get("/v1/audit/verify", headers=as_(world, "root")).json()
    assert check["ok"] and check["entries"] > len(USERS) * 2


# ---- submissions ---------------------------------------------------------------------

def test_a_batch_sent_twice_is_stored_once(tmp_path, database, audit_key):
    ops = connect(tmp_path, database)
    with ops.begin() as con:
        token = access.add_user(con, "test", "twice", "submitter", "CN-ZJ", BANK)
    ops.dispose()
    batch = {"records": [record("payment", i, submitter=BANK, report_id=f"P{i}",
                                payment_id=f"7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a{i:02d}")
                         for i in range(20)]}
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(tmp_path, database_url=database)) as client:
        first = client.post("/v1/submissions/payment", json=batch, headers=headers).json()
        again = client.post("/v1/submissions/payment", json=batch, headers=headers).json()
        listed = client.get("/v1/submissions", headers=headers).json()
    assert (first["accepted"], first["duplicate"]) == (20, False)
    assert (again["accepted"], again["duplicate"], again["batch_id"]) == \
        (20, True, first["batch_id"])
    assert [s["batch_id"] for s in listed] == [first["batch_id"]]
    store = open_store(tmp_path)
    assert store.query("payment").num_rows == 20
    store.close()


def test_a_json_batch_keeps_its_numbers_to_the_last_digit(world):
    rec = record("payment", 1, submitter=BANK, report_id="exact-1",
                 payment_id="7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a55")
    body = '{"records": [%s]}' % json.dumps({**rec, "amount": "A"}).replace(
        '"A"', "1234567890123456.78")
    r = world[0].post("/v1/submissions/payment", content=body,
                      headers={**as_(world, "bank"), "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    with world[0].app.state.services.lock:
        stored = world[0].app.state.services.store.query("payment").to_pylist()
    [amount] = [str(p["amount"]) for p in stored if p["report_id"] == "exact-1"]
    assert amount.startswith("1234567890123456.78")


def test_records_with_text_json_cannot_hold_are_rejected_one_by_one(world):
    # FastAPI accepts lone UTF-16 surrogates in JSON strings; no report may keep them.
    body = ('{"records": [' + ",".join([
        '{"report_id": "ok-1", "action": "NEW", "submitter": "%s", "ts_event": '
        '"2026-03-02T09:30:00+08:00", "payment_id": "7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a99", '
        '"debtor_account_id": "D1", "creditor_account_id": "C1", "debtor_agent": "BKCHCNBJ", '
        '"creditor_agent": "ICBKCNBJ", "amount": "1.00", "currency": "CNY", "channel": "CIPS", '
        '"debtor_country": "CN", "creditor_country": "CN"}' % BANK,
        '{"report_id": "bad\\ud800", "\\udc00": 1, "big": 123456789012345678901234567890}']) + "]}")
    r = world[0].post("/v1/submissions/payment", content=body,
                      headers={**as_(world, "bank"), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["rows"], out["accepted"], out["rejected"]) == (2, 1, 1)
    assert [(f["row"], f["code"]) for f in out["feedback"]] == [(2, "E002")]


def test_the_alert_list_is_read_beside_a_commit_not_after_it(world):
    """A submission's commit holds the store's lock for its whole file; an analyst's
    alert list is read on a connection of its own and waits for no commit."""
    import threading

    services, answer = world[0].app.state.services, {}

    def read() -> None:
        answer["r"] = world[0].get("/v1/alerts", headers=as_(world, "ana"))

    with services.lock:  # as a commit holds it
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=30)
        assert "r" in answer, "the alert list waited for the commit"
    reader.join()
    assert answer["r"].status_code == 200 and answer["r"].json() == alerts(world, "ana")


def test_a_pages_measures_are_kept_until_a_submission_is_committed(world):
    """The dashboard's measures of the reports (a day's risk levels, what each
    institution sent) are made once and kept, until anything new is stored."""
    services, made = world[0].app.state.services, []

    def measure(store) -> int:
        made.append(1)
        return store.engine.count("submissions")

    before = services.kept(("a test's measure",), measure)
    assert services.kept(("a test's measure",), measure) == before and len(made) == 1
    rec = record("payment", 1, submitter=BANK, report_id="kept-1",
                 payment_id="5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f")
    r = world[0].post("/v1/submissions/payment", json={"records": [rec]},
                      headers=as_(world, "bank"))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert services.kept(("a test's measure",), measure) == before + 1 and len(made) == 2


def test_a_well_formed_batch_is_taken_at_once_and_any_other_body_is_fastapis_to_answer():
    """`server.batches` takes the records of a body `shapes.JsonBatch` would take, numbers
    kept as their digits; for any other body it takes nothing, and FastAPI's route
    answers it (its 422s are the API's)."""
    from suptech.server.batches import records_of

    assert records_of(b'{"records": [{"amount": 1234567890123456.78}], "note": 1}') == [
        {"amount": "1234567890123456.78"}]
    assert records_of(b'{"records": []}') == []
    for body in (b"", b"[]", b'{"records": {}}', b'{"records": [1]}', b'{"rec": []}',
                 b'{"records": [{}]', b"\xff"):
        assert records_of(body) is None, body
