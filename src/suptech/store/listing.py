"""DuckDB's report versions as a list of files, and the compaction of the small ones.

Each report type's view reads the files its type lists in the `version_files` table, not
whatever lies in its directory. A commit lists its file in the same transaction as its
submission record, so a file is seen with its submission or not at all. Single reports
sent over the API, and a stream's fetches, each make a small file: thousands of them
make every read of the type open thousands of files (5,000 ten-row files took 0.5-0.8
s to scan against 3-8 ms for the same rows in one). So once a type has `COMPACT_AT`
files of fewer than `SMALL_ROWS` rows, they are merged into one (`compact`): the merged
file is written whole beside them, then one transaction lists it in their place and
points the view at it. A reader sees either the small files or the merged one, never
both and never neither. A query that began before the swap may still be reading the
small files, so they are deleted only `GRACE_S` seconds later, or when the store is
next opened or closed (then no query of this process is running); a file no row lists
(a commit or a compaction killed half way) is deleted when the store is opened.

Several connections of one process commit (the server's committer, a CLI command run in
the server, the stream's committing thread). Each commit's transaction makes the view
again from the list as it sees it, so the transactions that change the list run one at
a time (`guard`, one lock per data directory), each begun once the one before has
committed: two at once would each make the view without the other's file, and two
merges of the same files would list their rows twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

TABLE = "version_files"
#: A file of fewer rows counts as small.
SMALL_ROWS = 100_000


def _merge_at(default: int = 64) -> int:
    text = os.environ.get("SUPTECH_MERGE_AT", "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:  # a setting must not stop the store: said, and the default kept
        logging.getLogger(__name__).warning(
            "SUPTECH_MERGE_AT=%r is not a whole number of files from 2 up; %d is used",
            text, default)
        return default
    return value


#: Small files of one type that make a compaction (SUPTECH_MERGE_AT overrides).
COMPACT_AT = _merge_at()
#: Seconds a merged file's small files are kept for the queries that began before.
GRACE_S = 600.0

#: Per data directory (resolved): the lock of the transactions that change the list, and
#: the merged small files to delete, (when, file), of all its connections in this process.
_GUARDS: dict[Path, threading.Lock] = {}
_SUPERSEDED: dict[Path, list[tuple[float, Path]]] = {}
_MADE = threading.Lock()


@contextmanager
def guard(data_dir: Path, raw):
    """A transaction on `raw` that changes the list: begun once any other has committed."""
    key = Path(data_dir).resolve()
    with _MADE:
        lock = _GUARDS.setdefault(key, threading.Lock())
    with lock:
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")


class Listing:
    """The listed files of a DuckDB store (`raw`: DuckDB's connection); `schema_file`:
    the empty file every view also reads, for its schema."""

    def __init__(self, raw, data_dir: Path, schema_file: str):
        self.raw, self.data_dir, self.schema_file = raw, data_dir, schema_file
        with _MADE:
            self.superseded = _SUPERSEDED.setdefault(Path(data_dir).resolve(), [])

    def folder(self, name: str) -> Path:
        return self.data_dir / "versions" / name

    def ensure(self) -> None:
        """The table, made on a store's first open with this code from the files of
        committed submissions (before it, a type's view read its whole directory, and
        a submission record made its file's rows visible)."""
        if self.raw.execute("SELECT count(*) FROM information_schema.tables "
                            f"WHERE table_name = '{TABLE}'").fetchone()[0]:
            return
        committed = {b for (b,) in self.raw.execute("SELECT batch_id FROM submissions").fetchall()}
        # All at once: a table made in part would have the files it missed deleted.
        with guard(self.data_dir, self.raw):
            self.raw.execute(f"CREATE TABLE {TABLE} (report_type VARCHAR, file VARCHAR, "
                             "rows BIGINT)")
            for folder in sorted(p for p in (self.data_dir / "versions").iterdir() if p.is_dir()):
                name = folder.name
                for path in sorted(folder.glob("*.parquet")):
                    if path.name != self.schema_file and path.stem in committed:
                        self.raw.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                                         [name, path.name, pq.read_metadata(path).num_rows])

    def files(self, name: str) -> list[tuple[str, int]]:
        return self.raw.execute(f"SELECT file, rows FROM {TABLE} WHERE report_type = ? "
                                "ORDER BY rowid", [name]).fetchall()

    def view(self, name: str) -> None:
        """The type's view over its listed files (paths resolved on every open: the data
        directory may have moved)."""
        folder = self.folder(name).resolve()
        paths = [str(folder / self.schema_file)] + [str(folder / f) for f, _ in self.files(name)]
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        self.raw.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}])')

    def add(self, name: str, file: str, rows: int) -> None:
        """In a commit's transaction (`guard`): `file` listed, and seen from then on."""
        self.raw.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)", [name, file, rows])
        self.view(name)

    def remove_unlisted(self, name: str) -> None:
        """On opening for writing: files of killed commits and compactions, and small
        files a compaction merged (no query of this process is running yet)."""
        listed = {f for f, _ in self.files(name)} | {self.schema_file}
        for path in self.folder(name).iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp") or \
                    path.suffix == ".parquet" and path.name not in listed:
                path.unlink(missing_ok=True)

    def compact(self, name: str, write) -> bool:
        """Merge the type's small files into one once there are `COMPACT_AT` of them;
        `write(frame, path)` writes a file whole or not at all. Whether it merged."""
        self.sweep()
        small = [f for f, rows in self.files(name) if rows < SMALL_ROWS]
        if len(small) < COMPACT_AT:
            return False
        folder = self.folder(name)
        # Its own name, whatever another connection merges at the same moment.
        merged = f"merged-{time.time_ns()}-{uuid.uuid4().hex[:12]}.parquet"
        # In the order they were listed: the rows keep their batch ids and row numbers.
        write(pl.scan_parquet([folder / f for f in small]), folder / merged)
        rows = pq.read_metadata(folder / merged).num_rows
        try:
            with guard(self.data_dir, self.raw):
                # Another connection may have merged some of them meanwhile.
                still = self.raw.execute(
                    f"SELECT count(*) FROM {TABLE} WHERE report_type = ? AND file IN "
                    "(SELECT unnest(?))", [name, small]).fetchone()[0]
                if still != len(small):
                    raise _Taken
                self.raw.execute(f"DELETE FROM {TABLE} WHERE report_type = ? AND file IN "
                                 "(SELECT unnest(?))", [name, small])
                self.raw.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)", [name, merged, rows])
                self.view(name)
        except BaseException as e:
            (folder / merged).unlink(missing_ok=True)
            if isinstance(e, _Taken):
                return False
            raise
        now = time.monotonic()
        with _MADE:
            self.superseded += [(now, folder / f) for f in small]
        return True

    def sweep(self, everything: bool = False) -> None:
        """Delete the merged small files whose grace has passed (all: `everything`,
        when no query of this process can be reading them)."""
        now = time.monotonic()
        with _MADE:
            due = [(at, p) for at, p in self.superseded if everything or now - at >= GRACE_S]
            for entry in due:
                self.superseded.remove(entry)
        for _, path in due:
            path.unlink(missing_ok=True)


class _Taken(Exception):
    """The small files of a merge were merged by another connection first."""
