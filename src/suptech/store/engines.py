"""Where the report database lives: one Ibis backend per engine.

The store's queries are Ibis expressions and do not know which engine runs them.

Report versions are Parquet files, one per committed file, under
`<data dir>/versions/<report type>/<batch id>.parquet`; both engines read the same
layout, so a data directory written on a laptop can be read by a Spark cluster (once
its DuckDB writer has closed it: see `suptech.store.listing`). A version file is written
beside its final name and renamed into place, so it is either whole or absent. It
becomes visible only when its submission record is committed (DuckDB lists it in that
transaction; Spark keeps rows of committed batches: `Store._committed`); a file left by
a process killed in between belongs to no submission and is deleted the next time the
store is opened for writing.

- DuckDB (default): submissions and feedback in `suptech.duckdb`, written in one
  transaction; each report type is a view over the version files it lists, small
  files merged as they accumulate (`suptech.store.listing`).
- Spark (local mode here, a cluster in production): every table is Parquet under the
  data directory; the submission record is written last and acts as the commit marker.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterator

import ibis
import polars as pl
import pyarrow as pa

from suptech.store.listing import Listing, guard
from suptech.store.schema import storage_schema

ENGINES = ("duckdb", "spark")

#: An empty file with a report type's schema: DuckDB needs one file to read a schema
#: from before the first commit; Spark skips names that start with "_".
SCHEMA_FILE = "_schema.parquet"

#: Rows up to which DuckDB is given an insert's values as parameters (see `insert`).
SMALL_INSERT = 100


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_atomically(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """`path` holds all of `frame` or does not exist, even if the process is killed."""
    tmp = path.with_name(f".{path.name}.tmp")  # hidden from both engines' readers
    try:
        # Streamed: a large file is never materialised a second time in memory.
        frame.lazy().sink_parquet(tmp, compression="zstd", compression_level=1)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk gets its space back at once
        raise
    _fsync(path.parent)


@dataclass
class Engine:
    """An engine as the store uses it: what it can do, said once, and how it does the
    few things the two do differently. `--engine` is resolved into one of these."""

    #: The name `--engine` takes.
    name: ClassVar[str]
    #: A second connection for another thread, with transactions of its own (the
    #: stream's consumer commits, and stores alerts, beside its validation).
    concurrent: ClassVar[bool]
    #: A file lock makes an open store the only writer (so files of a killed commit
    #: may be removed on opening).
    exclusive: ClassVar[bool]
    #: A report type's table reads only committed files: each is listed in its commit's
    #: transaction (`suptech.store.listing`), so no row needs its batch looked up.
    lists_committed: ClassVar[bool]

    con: ibis.BaseBackend
    data_dir: Path

    def versions_dir(self, name: str) -> Path:
        return self.data_dir / "versions" / name

    def create_versions(self, name: str, schema: ibis.Schema, exists: bool) -> None:
        """The table of a report type's versions, over its directory of Parquet files."""
        folder = self.versions_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / SCHEMA_FILE).exists():
            write_parquet_atomically(pl.DataFrame(schema=storage_schema(schema)),
                                     folder / SCHEMA_FILE)
        self._versions_table(name, schema, folder, exists)

    def write_versions(self, name: str, batch_id: str, frame: pl.LazyFrame) -> str:
        """The versions of a commit, written whole; the file's name."""
        file = f"{batch_id}.parquet"
        write_parquet_atomically(frame, self.versions_dir(name) / file)
        return file

    def list_versions(self, name: str, file: str, rows: int) -> None:
        """In the commit's transaction: its version file (of `rows` rows) is now one of
        the type's. An engine that reads a type's whole directory needs nothing here."""

    def compact(self, name: str) -> None:
        """After a commit: merge the type's small version files, where the engine does
        (a cluster's own table format compacts its files)."""

    def remove_unlisted(self, name: str) -> None:
        """On opening an `exclusive` engine's store: delete the version files no commit
        stands behind (a killed commit's or merge's)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Inserts made inside commit together where the engine has transactions."""
        yield

    def cursor(self) -> "Engine":
        raise NotImplementedError(f"a second connection to a {self.name} store")

    def count(self, name: str) -> int:
        return int(self.con.table(name).count().to_pyarrow().as_py())

    def largest(self, name: str, column: str, **among: tuple[str, ...]) -> int | None:
        """A column's largest value, of the rows whose `among` columns hold one of the
        values given."""
        t = self.con.table(name)
        for other, values in among.items():
            t = t.filter(t[other].isin(list(values)))
        return t[column].max().to_pyarrow().as_py()

    def rows_in(self, name: str, column: str, values: list[str]) -> pa.Table:
        """A table's rows whose `column` holds one of `values`."""
        t = self.con.table(name)
        # Joined to a table of them: a list of literals makes a query that takes as long
        # to compile as there are values.
        wanted = ibis.memtable(pa.table({"_v": pa.array(values, pa.string())}))
        return t.semi_join(wanted, t[column] == wanted._v).to_pyarrow()

    def close(self) -> None:
        pass

    def _versions_table(self, name, schema, folder, exists) -> None:
        raise NotImplementedError

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        raise NotImplementedError

    def insert(self, name: str, table: pa.Table) -> None:
        raise NotImplementedError


@dataclass
class DuckDB(Engine):
    """Embedded: submissions, feedback and alerts in `suptech.duckdb`, written in one
    transaction; each report type is a view over its version files."""

    name: ClassVar[str] = "duckdb"
    concurrent: ClassVar[bool] = True
    exclusive: ClassVar[bool] = True
    lists_committed: ClassVar[bool] = True
    _columns: dict[str, list[str]] = field(default_factory=dict)  # a table's, in order
    _listing: Listing | None = None
    is_cursor: bool = False  # a second connection of `cursor`'s (closed before the store)

    @property
    def raw(self):
        """DuckDB's own connection (Ibis's backend keeps it as `con`)."""
        return self.con.con

    @property
    def listing(self) -> Listing:
        if self._listing is None:
            self._listing = Listing(self.raw, self.data_dir, SCHEMA_FILE)
            self._listing.ensure()
        return self._listing

    def _versions_table(self, name, schema, folder, exists) -> None:
        self.listing.view(name)  # made on every open: the data directory may have moved

    def list_versions(self, name: str, file: str, rows: int) -> None:
        self.listing.add(name, file, rows)

    def compact(self, name: str) -> None:
        self.listing.compact(name, write_parquet_atomically)

    def remove_unlisted(self, name: str) -> None:
        self.listing.remove_unlisted(name)

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        self.con.create_table(name, schema=schema)

    def insert(self, name: str, table: pa.Table) -> None:
        # DuckDB's own insert, the columns put in the table's order: Ibis's insert
        # compiles and checks schemas each time (half the cost of a small stream
        # commit).
        if name not in self._columns:
            self._columns[name] = self.con.table(name).columns
        columns = self._columns[name]
        if table.num_rows > SMALL_INSERT:
            self.raw.from_arrow(table.select(columns)).insert_into(name)
        elif table.num_rows:
            # A few rows (a submission record, a small fetch's stream log) as parameters,
            # a column a list: setting up a scan of an Arrow table took longer.
            self.raw.execute(
                f'INSERT INTO "{name}" SELECT {", ".join(["unnest(?)"] * len(columns))}',
                [table[c].to_pylist() for c in columns])

    def count(self, name: str) -> int:
        """Rows in a table (asked before every streamed batch: no query compiled)."""
        return self.raw.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]

    def largest(self, name: str, column: str, **among: tuple[str, ...]) -> int | None:
        """As `Engine.largest`, asked on every read of the alert list: no query compiled."""
        where = " AND ".join(f'"{c}" IN (SELECT unnest(?))' for c in among) or "true"
        return self.raw.execute(f'SELECT max("{column}") FROM "{name}" WHERE {where}',
                                [list(v) for v in among.values()]).fetchone()[0]

    def rows_in(self, name: str, column: str, values: list[str]) -> pa.Table:
        """As `Engine.rows_in`, asked for every group of submissions: no query compiled."""
        return self.raw.execute(f'SELECT * FROM "{name}" WHERE "{column}" IN '
                                f'(SELECT unnest(?))', [values]).fetch_arrow_table()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # A commit lists its file: one such transaction at a time (`listing.guard`).
        with guard(self.data_dir, self.raw):
            yield

    def cursor(self) -> "DuckDB":
        return DuckDB(ibis.duckdb.from_connection(self.raw.cursor()), self.data_dir,
                      is_cursor=True)

    def close(self) -> None:
        if not self.is_cursor:  # the store itself: no query of this process runs now
            self.listing.sweep(everything=True)
        self.con.disconnect()


@dataclass
class Spark(Engine):
    """Local mode here, a cluster in production: every table is Parquet under the data
    directory; the submission record is written last and acts as the commit marker."""

    name: ClassVar[str] = "spark"
    concurrent: ClassVar[bool] = False
    exclusive: ClassVar[bool] = False
    lists_committed: ClassVar[bool] = False  # a type's table is its whole folder
    session: object = None  # the SparkSession the backend was made from
    #: Where this store's shared tables are written (`_spark_backend`); its own, so
    #: that closing the store removes what a scan cut short left there.
    shared_dir: Path | None = None

    def _table_name(self, name: str) -> str:
        return f"{self.session.catalog.currentDatabase()}.{name}"

    def _create(self, name: str, schema: ibis.Schema, path: Path) -> None:
        from ibis.backends.pyspark.datatypes import PySparkSchema

        self.session.catalog.createTable(self._table_name(name), path=str(path),
                                         source="parquet",
                                         schema=PySparkSchema.from_ibis(schema))

    def _versions_table(self, name, schema, folder, exists) -> None:
        if not exists:
            self._create(name, schema, folder)

    def write_versions(self, name: str, batch_id: str, frame: pl.LazyFrame) -> str:
        file = super().write_versions(name, batch_id, frame)
        self.session.catalog.refreshTable(self._table_name(name))
        return file

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        self._create(name, schema, self.data_dir / "spark" / name)

    def insert(self, name: str, table: pa.Table) -> None:
        # Ibis's Spark memtable goes through pandas and cannot carry null decimals;
        # Spark 4 takes Arrow directly. insertInto matches columns by position.
        if not table.num_rows:  # a clean file's feedback: no Spark job for nothing
            return
        target = self._table_name(name)
        order = self.session.table(target).columns
        self.session.createDataFrame(table.select(order)).write.insertInto(target)

    def close(self) -> None:
        if self.shared_dir is not None:
            shutil.rmtree(self.shared_dir, ignore_errors=True)


def _spark_backend(session, shared_dir: Path):
    """Ibis's PySpark backend, with tables kept for a scan (`SharedTables`, `.cache()`)
    written to Parquet and read back rather than cached in memory: a cached frame keeps
    the plan that made it, and Spark analyses and compares that whole plan again at
    every place a detector reads the table (dozens in one detector), which cost more
    than the detector's work. A table read from files is a plain scan; its files are
    deleted when it is released."""
    from ibis.backends.pyspark import Backend

    class SparkBackend(Backend):
        def _create_cached_table(self, name, expr):
            path = shared_dir / name
            self._session.sql(self.compile(expr)).write.parquet(str(path))
            self._session.read.parquet(str(path)).createTempView(name)
            return self.table(name)

        def _drop_cached_table(self, name):
            self._session.catalog.dropTempView(name)
            shutil.rmtree(shared_dir / name, ignore_errors=True)

    ibis.pyspark  # noqa: B018  (loads the backend's options, which its compiler reads)
    return SparkBackend().connect(session)


KINDS: dict[str, type[Engine]] = {"duckdb": DuckDB, "spark": Spark}


def kind(name: str) -> type[Engine]:
    """The engine `--engine NAME` means, or a ValueError naming the known ones."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})") from None


def spark_session(data_dir: Path):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    master = os.environ.get("SUPTECH_SPARK_MASTER", "local[2]")
    # Adaptive execution re-plans each query between its stages to even out skewed
    # partitions across a cluster's executors; in local mode there are none to even out,
    # and the re-planning costs more than it saves (BENCHMARKS.md).
    adaptive = "false" if master.startswith("local") else "true"
    # In local mode a shuffle's partitions are the cores: a task each, no more tasks
    # than cores to schedule (on two cores, 2 rather than 4 took a quarter off a
    # day's market scan; BENCHMARKS.md). SUPTECH_SPARK_PARTITIONS sets them.
    cores = re.fullmatch(r"local\[(\d+|\*)\]", master)
    partitions = os.environ.get("SUPTECH_SPARK_PARTITIONS") or (
        (str(os.cpu_count()) if cores.group(1) == "*" else cores.group(1)) if cores else "4")
    return (
        SparkSession.builder.master(master)
        .appName("suptech")
        .config("spark.sql.adaptive.enabled", adaptive)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", partitions)
        .config("spark.sql.warehouse.dir", str(data_dir / "spark" / "_warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={data_dir / 'spark'}")
        .getOrCreate()
    )


def connect(engine: str | type[Engine], data_dir: Path) -> Engine:
    cls = kind(engine) if isinstance(engine, str) else engine
    data_dir.mkdir(parents=True, exist_ok=True)
    if cls is DuckDB:
        con = ibis.duckdb.connect(str(data_dir / "suptech.duckdb"))
        con.raw_sql("SET enable_progress_bar = false")  # ours are rich's, on stderr
        # DuckDB takes up to 80 % of the machine's memory and spills beyond its limit;
        # a shared machine may want less (e.g. SUPTECH_DUCKDB_MEMORY=4GB).
        limit = os.environ.get("SUPTECH_DUCKDB_MEMORY")
        if limit:
            try:
                con.raw_sql(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
            except Exception as e:  # noqa: BLE001 (DuckDB's parser error says what it wants)
                raise ValueError(f"SUPTECH_DUCKDB_MEMORY={limit!r}: {e}") from None
        return DuckDB(con, data_dir)
    session = spark_session(data_dir)
    session.sparkContext.setLogLevel("ERROR")
    # One Spark database per data directory: a session may serve several stores.
    db = "suptech_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    session.catalog.setCurrentDatabase(db)
    shared = data_dir / "spark" / "_shared" / uuid.uuid4().hex
    return Spark(_spark_backend(session, shared), data_dir, session, shared)
