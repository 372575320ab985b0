"""Small version files are merged as they accumulate, and no reader ever sees a part."""

from __future__ import annotations

import polars as pl
import pytest
from builders import record, write_csv

from suptech.store import listing
from suptech.store.database import open_store
from suptech.store.engines import SCHEMA_FILE, write_parquet_atomically

#: Small files that make a compaction here (COMPACT_AT in a deployment).
AT = 4


@pytest.fixture(autouse=True)
def few(monkeypatch):
    monkeypatch.setattr(listing, "COMPACT_AT", AT)


def payments(tmp_path, store, first: int, n: int) -> None:
    """`n` submissions of one payment each, as single reports over the API are."""
    from suptech.ingest.pipeline import ingest_files

    for k in range(first, first + n):
        [r] = ingest_files(store, [write_csv(tmp_path, f"payment-{k}.csv", [record("payment", k)])])
        assert r.summary.accepted == 1, r.feedback


def on_disk(db) -> list[str]:
    return sorted(p.name for p in (db / "versions" / "payment").iterdir() if p.name != SCHEMA_FILE)


def ids(store) -> list[str]:
    return sorted(pl.from_arrow(store.query("payment"))["report_id"])


def test_small_files_are_merged_into_one_and_every_report_is_read_once(tmp_path):
    db = tmp_path / "db"
    store = open_store(db)
    try:
        payments(tmp_path, store, 1, AT - 1)
        assert len(store.engine.listing.files("payment")) == AT - 1  # not yet
        payments(tmp_path, store, AT, 1)
        [(merged, rows)] = store.engine.listing.files("payment")
        assert merged.startswith("merged-") and rows == AT
        assert ids(store) == [f"PAY-{k}" for k in range(1, AT + 1)]
        # Each row keeps the submission it came in.
        assert store.versions("payment").batch_id.nunique().to_pyarrow().as_py() == AT
        # The merged files stay on disk for queries that began before, unread.
        assert len(on_disk(db)) == AT + 1
        payments(tmp_path, store, AT + 1, 2)
        assert ids(store) == [f"PAY-{k}" for k in range(1, AT + 3)]
    finally:
        store.close()
    assert len(on_disk(db)) == 3  # the merged file and the two since; the rest deleted
    store = open_store(db)
    try:
        assert ids(store) == [f"PAY-{k}" for k in range(1, AT + 3)]
    finally:
        store.close()


def test_a_reader_sees_the_small_files_or_the_merged_one_never_both(tmp_path, monkeypatch):
    db = tmp_path / "db"
    store = open_store(db)
    reader = store.cursor()  # another thread's connection, as the server's readers have
    seen = []

    def write(frame, path):  # the merged file is whole on disk, not yet listed
        write_parquet_atomically(frame, path)
        seen.append(ids(reader))

    try:
        payments(tmp_path, store, 1, AT - 1)
        before = ids(reader)
        monkeypatch.setattr(listing, "COMPACT_AT", AT - 1)
        assert store.engine.listing.compact("payment", write)
        assert seen == [before] and len(before) == AT - 1
        assert ids(reader) == before
        assert [f for f, _ in store.engine.listing.files("payment")] == \
            [f for f in on_disk(db) if f.startswith("merged-")]
    finally:
        reader.close()
        store.close()


def test_a_compaction_cut_short_leaves_the_small_files_and_no_merged_one(tmp_path, monkeypatch):
    db = tmp_path / "db"
    store = open_store(db)

    def killed(frame, path):  # written, then the process dies before the swap
        write_parquet_atomically(frame, path)
        raise KeyboardInterrupt

    payments(tmp_path, store, 1, AT - 1)
    monkeypatch.setattr(listing, "COMPACT_AT", AT - 1)
    with pytest.raises(KeyboardInterrupt):
        store.engine.listing.compact("payment", killed)
    assert len(store.engine.listing.files("payment")) == AT - 1
    assert ids(store) == [f"PAY-{k}" for k in range(1, AT)]
    store.engine.con.disconnect()  # as a killed process leaves it: nothing swept
    assert any(f.startswith("merged-") for f in on_disk(db))
    monkeypatch.setattr(listing, "COMPACT_AT", AT)
    store = open_store(db)
    try:
        assert not any(f.startswith("merged-") for f in on_disk(db))
        assert ids(store) == [f"PAY-{k}" for k in range(1, AT)]
    finally:
        store.close()


def test_a_store_from_before_the_listing_lists_its_committed_files(tmp_path):
    db = tmp_path / "db"
    store = open_store(db)
    payments(tmp_path, store, 1, 2)
    store.engine.raw.execute(f"DROP TABLE {listing.TABLE}")
    store.close()
    store = open_store(db)
    try:
        assert sorted(rows for _, rows in store.engine.listing.files("payment")) == [1, 1]
        assert ids(store) == ["PAY-1", "PAY-2"]
    finally:
        store.close()


def test_the_servers_committer_merges_once_it_has_answered(tmp_path):
    import threading

    from suptech.server.committer import Committer
    from suptech.server.services import Services

    store = open_store(tmp_path / "db")
    committer = Committer(store, threading.RLock())
    try:
        for k in range(1, AT + 1):
            rec = record("payment", k)
            pending = Services._pending("payment-api.jsonl", [rec], "payment", rec["submitter"])
            assert committer.submit(pending).result().summary.accepted == 1
        committer.close()  # its last group's merge done
        [(merged, rows)] = store.engine.listing.files("payment")
        assert merged.startswith("merged-") and rows == AT
        assert ids(store) == [f"PAY-{k}" for k in range(1, AT + 1)]
    finally:
        store.close()


def test_connections_committing_and_merging_at_once_keep_every_report_once(tmp_path):
    # The server's committer and a CLI command run in the server commit over connections
    # of their own, each merging after its commits.
    import threading

    db = tmp_path / "db"
    store = open_store(db)
    other = store.cursor()
    failed = []

    def commit(s, first):
        try:
            (tmp_path / str(first)).mkdir()
            payments(tmp_path / str(first), s, first, 3 * AT)
        except BaseException as e:  # noqa: BLE001 (said below)
            failed.append(e)

    threads = [threading.Thread(target=commit, args=(s, first))
               for s, first in ((store, 1), (other, 1001))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failed, failed
        expected = sorted(f"PAY-{k}" for first in (1, 1001) for k in range(first, first + 3 * AT))
        assert ids(store) == expected
        assert store.versions("payment").count().to_pyarrow().as_py() == len(expected)
    finally:
        other.close()
        store.close()
    store = open_store(db)
    try:
        assert ids(store) == expected
    finally:
        store.close()


def test_the_merge_threshold_is_a_setting_and_a_bad_one_keeps_the_default(monkeypatch, caplog):
    monkeypatch.setenv("SUPTECH_MERGE_AT", "8")
    assert listing._merge_at() == 8
    for bad in ("abc", "1", "-3"):
        monkeypatch.setenv("SUPTECH_MERGE_AT", bad)
        assert listing._merge_at() == 64
    assert "SUPTECH_MERGE_AT='-3' is not a whole number" in caplog.text
