"""One file is one atomic commit: a process killed mid-ingest leaves none of the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)
from builders import record, reference_data

from suptech.ingest.pipeline import ingest_files
from suptech.store.database import open_store
from suptech.store.engines import SCHEMA_FILE

ROWS = 1_000_000

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from suptech.ingest.pipeline import ingest_files
    from suptech.store.database import open_store

    def say(path, stage, done, total):
        print(stage, flush=True)

    store = open_store(sys.argv[1])
    ingest_files(store, [Path(p) for p in sys.argv[2:]], progress=say)
    print("finished", flush=True)
""")


def big_order_file(path: Path) -> Path:
    rec = record("order_event")
    n = pl.int_range(0, ROWS, eager=True)
    frame = pl.DataFrame({k: [v] * ROWS for k, v in rec.items()}).with_columns(
        report_id=pl.format("ORD-{}", n), order_id=pl.format("O{}", n))
    frame.write_parquet(path)
    return path


def run_until(stage: str, db: Path, files: list[Path]) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), *map(str, files)],
                             stdout=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.strip() == stage:
            return child
    raise AssertionError(f"the child finished without reaching {stage!r}")


def test_sigkill_during_the_commit_leaves_nothing_of_the_file(tmp_path):
    db = tmp_path / "db"
    store = open_store(db)
    ingest_files(store, reference_data(tmp_path))
    store.close()
    orders = big_order_file(tmp_path / "order_event-big.parquet")

    child = run_until("committing", db, [orders])
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read()
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert "done" not in rest  # it really died inside the commit

    store = open_store(db)
    try:
        assert store.con.table("order_event").count().to_pyarrow().as_py() == 0
        # Whatever the killed commit had written is gone, not just hidden.
        assert [p.name for p in (db / "versions" / "order_event").iterdir()] == [SCHEMA_FILE]
        assert store.query("order_event").num_rows == 0
        assert "order_event" not in store.submissions()["report_type"].to_pylist()
        assert store.query("instrument").num_rows == 2  # earlier commits survive
        # The same file goes in whole on the next try.
        [result] = ingest_files(store, [orders])
        assert result.summary.accepted == ROWS
        assert store.query("order_event").num_rows == ROWS
    finally:
        store.close()


def test_a_version_file_without_its_submission_record_is_invisible_and_removed(tmp_path):
    """A process killed after its version file was renamed into place, before the
    submission record was committed, leaves a whole file that belongs to no submission."""
    db = tmp_path / "db"
    store = open_store(db)
    ingest_files(store, reference_data(tmp_path))
    [committed] = store.submissions().filter(
        pa.compute.equal(store.submissions()["report_type"], "instrument"))["batch_id"].to_pylist()
    folder = db / "versions" / "instrument"
    uncommitted = "1790000000000000000-deadbeefdeadbeef"
    orphan = folder / f"{uncommitted}.parquet"
    pl.read_parquet(folder / f"{committed}.parquet").with_columns(
        batch_id=pl.lit(uncommitted), report_id=pl.format("X-{}", "report_id")
    ).write_parquet(orphan)
    assert store.versions("instrument").count().to_pyarrow().as_py() == 2
    assert store.query("instrument").num_rows == 2
    store.close()

    store = open_store(db)
    try:
        assert not orphan.exists()
        assert (folder / f"{committed}.parquet").exists()
        assert store.query("instrument").num_rows == 2
    finally:
        store.close()
