"""Group commit: submissions that arrive together are validated as one and committed in
one transaction, and each is still answered, stored and fed back as if it had come
alone."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import polars as pl
import pytest
from builders import BANK, BROKER_A, record
from fastapi.testclient import TestClient

from suptech.ingest.group import Part, commit_parts
from suptech.ingest.readers import read_file
from suptech.model.reports import REPORT_TYPES
from suptech.ops import access
from suptech.ops.db import connect
from suptech.server.app import create_app
from suptech.ingest.jsonl import jsonl_line
from suptech.store.database import open_store

OTHER = BROKER_A  # another institution


def payment(n: int, **changes) -> dict:
    return record("payment", n, **{"submitter": BANK, "report_id": f"P-{n}",
                                   "payment_id": f"7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a{n:02d}",
                                   **changes})


def part(label: str, records: list[dict], owner: str = BANK) -> Part:
    data = b"\n".join(jsonl_line(r) for r in records)
    return Part(label, hashlib.sha256(data).hexdigest(), owner, len(records),
                read_file(Path("payment-api.jsonl"), data, rt=REPORT_TYPES["payment"]))


def test_each_submission_of_a_group_keeps_its_own_batch_rows_and_feedback(tmp_path):
    store = open_store(tmp_path)
    results = commit_parts(store, REPORT_TYPES["payment"], [
        part("a", [payment(1), payment(2)]),
        part("b", [payment(3), payment(4, amount="-5")]),  # its row 2 is refused
        part("c", [payment(5, submitter=OTHER)]),  # not the sender's LEI
    ])
    a, b, c = (r.summary for r in results)
    assert (a.rows, a.accepted, b.rows, b.accepted, c.rows, c.accepted) == (2, 2, 2, 1, 1, 0)
    assert len({a.batch_id, b.batch_id, c.batch_id}) == 3
    assert results[0].feedback.is_empty()
    assert results[1].feedback.select("row", "report_id").rows() == [(2, "P-4")]
    assert results[2].feedback["code"].to_list() == ["E010"]
    # Stored as each was answered: its own feedback and rows, numbered within it.
    assert store.feedback_of(b.batch_id)["row"].to_list() == [2]
    stored = pl.from_arrow(store.query("payment")).sort("report_id")
    assert stored.select("report_id", "row").rows() == [("P-1", 1), ("P-2", 2), ("P-3", 1)]
    assert stored.filter(pl.col("report_id") == "P-3")["batch_id"].item() == b.batch_id
    # One version file for the group.
    files = list((tmp_path / "versions" / "payment").glob("[!_]*.parquet"))
    assert len(files) == 1


def test_the_lifecycle_applies_across_a_group_in_order_of_arrival(tmp_path):
    store = open_store(tmp_path)
    cancel = payment(1, action="CANC")
    results = commit_parts(store, REPORT_TYPES["payment"], [
        part("new", [payment(1)]),
        part("cancel", [cancel]),  # cancels the report the one before created
        part("again", [payment(2)]),
        part("twice", [payment(2)]),  # the same report id once more: refused
    ])
    assert [r.summary.accepted for r in results] == [1, 1, 1, 0]
    # For the last one, the report id was sent before, not repeated in its own file.
    assert results[3].feedback.select("code", "message").rows() == [
        ("E007", "report_id was already reported")]
    assert pl.from_arrow(store.query("payment"))["report_id"].to_list() == ["P-2"]
    [within] = commit_parts(store, REPORT_TYPES["payment"], [
        part("twice in one", [payment(6), payment(6)])])
    assert within.feedback.select("row", "message").rows() == [
        (2, "report_id is repeated in this file for action NEW")]


@pytest.fixture
def server(tmp_path):
    ops = connect(tmp_path)
    with ops.begin() as con:
        token = access.add_user(con, "test", "bank", "submitter", "CN-SH", BANK)
    ops.dispose()
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8000") as client:
        yield client, {"Authorization": f"Bearer {token}"}


def test_submissions_waiting_together_are_stored_as_one_group_each_answered(server, tmp_path):
    client, headers = server
    s = client.app.state.services
    answers: dict[str, dict] = {}

    def send(name: str, records: list[dict]) -> threading.Thread:
        def post():
            answers[name] = client.post("/v1/submissions/payment", headers=headers,
                                        json={"records": records}).json()
        thread = threading.Thread(target=post)
        thread.start()
        return thread

    def until(condition) -> None:
        while not condition():
            threading.Event().wait(0.01)

    with s.lock:  # as a long commit holds the store
        first = send("first", [payment(1)])
        until(lambda: s._queued == 1 and not s.committer._pending)  # taken, waiting
        others = [send("new", [payment(2)]), send("bad", [payment(3, currency="XXX1")]),
                  send("same", [payment(4)])]
        until(lambda: len(s.committer._pending) == 3)
        others.append(send("same again", [payment(4)]))  # the same bytes, the same sender
        until(lambda: len(s.committer._pending) == 4)
    for thread in [first, *others]:
        thread.join(timeout=60)
    assert [answers[n]["accepted"] for n in ("first", "new", "bad", "same")] == [1, 1, 0, 1]
    assert answers["bad"]["feedback"][0]["row"] == 1
    assert answers["same again"]["duplicate"] is True
    assert answers["same again"]["batch_id"] == answers["same"]["batch_id"]
    # The three new submissions of the group share one commit, one version file.
    files = list((tmp_path / "versions" / "payment").glob("[!_]*.parquet"))
    assert len(files) == 2
    listed = client.get("/v1/submissions", headers=headers).json()
    assert len(listed) == 4
