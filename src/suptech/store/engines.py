"""Where the report database lives: one Ibis backend per engine.

The store's queries are Ibis expressions and do not know which engine runs them. What
differs per engine is here: how to connect, how to create a table that outlives the
process, and whether a commit can be a real transaction.

- DuckDB (default): one file in the data directory; a file's versions, feedback and
  submission record are written in one transaction.
- Spark (local mode here, a cluster in production): Parquet tables under the data
  directory. Spark has no multi-table transactions, so the submission record is written
  last and only versions of recorded submissions are visible (see `Store.versions`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import ibis
import pyarrow as pa

ENGINES = ("duckdb", "spark")


@dataclass
class Engine:
    name: str
    con: ibis.BaseBackend
    data_dir: Path

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        if self.name == "spark":
            from ibis.backends.pyspark.datatypes import PySparkSchema

            self.con._session.catalog.createTable(
                f"{self.con._session.catalog.currentDatabase()}.{name}", path=str(self.data_dir / "spark" / name), source="parquet",
                schema=PySparkSchema.from_ibis(schema))
        else:
            self.con.create_table(name, schema=schema)

    def insert(self, name: str, table: pa.Table) -> None:
        if self.name == "spark":
            # Ibis's Spark memtable goes through pandas and cannot carry null decimals;
            # Spark 4 takes Arrow directly. insertInto matches columns by position.
            session = self.con._session
            target = f"{session.catalog.currentDatabase()}.{name}"
            order = session.table(target).columns
            session.createDataFrame(table.select(order)).write.insertInto(target)
        else:
            self.con.insert(name, table)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.name != "duckdb":
            yield
            return
        self.con.raw_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.raw_sql("ROLLBACK")
            raise
        self.con.raw_sql("COMMIT")

    def close(self) -> None:
        if self.name == "duckdb":
            self.con.disconnect()


def spark_session(data_dir: Path):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    return (
        SparkSession.builder.master(os.environ.get("SUPTECH_SPARK_MASTER", "local[2]"))
        .appName("suptech")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(data_dir / "spark" / "_warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={data_dir / 'spark'}")
        .getOrCreate()
    )


def connect(engine: str, data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    if engine == "duckdb":
        con = ibis.duckdb.connect(str(data_dir / "suptech.duckdb"))
    elif engine == "spark":
        session = spark_session(data_dir)
        session.sparkContext.setLogLevel("ERROR")
        # One Spark database per data directory: a session may serve several stores.
        db = "suptech_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
        session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
        session.catalog.setCurrentDatabase(db)
        con = ibis.pyspark.connect(session)
    else:
        raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    return Engine(engine, con, data_dir)
