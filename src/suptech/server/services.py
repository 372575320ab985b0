"""What the API and the dashboard both do: one place, so that they cannot disagree."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl

from starlette.concurrency import run_in_threadpool

from suptech.ingest.jsonl import jsonl_lines
from suptech.model.reports import REPORT_TYPES
from suptech.ops import audit, cases
from suptech.ops.access import NotFound, User
from suptech.server import scope
from suptech.server.committer import Committer, Pending

MAX_ROWS = 10_000
#: Reports, and submissions, that may wait for the store at once (about ten seconds'
#: work each); one more is refused at once (503, Retry-After) rather than queued for
#: minutes. A submission is taken whatever its size when none waits.
MAX_QUEUED_ROWS = int(os.environ.get("SUPTECH_MAX_QUEUED_ROWS", 200_000))
MAX_QUEUED = int(os.environ.get("SUPTECH_MAX_QUEUED", 5_000))
#: Records of a batch up to which the request is made ready for the committer on the
#: event loop, in well under a millisecond: a hop to a thread of the pool costs far more
#: when the pool's threads all want the interpreter lock at once. A file is decoded on
#: a thread of the pool.
SMALL = 64
#: Measures `kept` at most (each a small frame); beyond, they are all made again.
KEPT = 256
TRIAGE = {"assign": cases.assign, "dismiss": cases.dismiss, "escalate": cases.escalate}


class Busy(Exception):
    """Too many submissions are waiting for the store: send again shortly."""


class Services:
    """The store, written by one thread (`Committer`: DuckDB has one writer) and read
    beside that on connections of each thread's own (`reader`), and the operational
    database."""

    def __init__(self, data_dir: Path, engine: str = "duckdb", database_url: str | None = None):
        from suptech.ops.db import connect
        from suptech.store.writer import acquire

        # A CLI command that has the store open is waited for (it ends; a server does not).
        self.store = acquire(data_dir, engine, delegate=False)
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.ops = connect(data_dir, database_url)
        #: Each jurisdiction's alerts, and what they were computed from (`alerts`).
        self._alerts: dict[str, tuple[tuple[int, int], pl.DataFrame]] = {}
        #: What the pages measured of the reports (`kept`), and when.
        self._kept: dict[tuple, tuple[tuple[int, int], Any]] = {}
        self.committer = Committer(self.store, self.lock)
        self._queued = 0  # reports of submissions waiting for, or being, stored
        self._waiting = 0  # and those submissions
        self._counting = threading.Lock()
        self._readers = threading.local()
        self._cursors: list = []

    @contextlib.contextmanager
    def reader(self) -> Iterator:
        """The store for reading on this thread, beside any submission's commit: a
        connection of the thread's own where the engine has them (reads then wait for
        no write), else the one store, under the lock."""
        if not self.store.engine.concurrent:
            with self.lock:
                yield self.store
            return
        mine = getattr(self._readers, "store", None)
        if mine is None:
            mine = self._readers.store = self.store.cursor()
            self._cursors.append(mine)
        yield mine

    def close(self) -> None:
        self.committer.close()
        for cursor in self._cursors:
            cursor.close()
        self.store.close()
        self.ops.dispose()

    # ---- submissions ----

    async def ingest(self, who: User, name: str, data: bytes | list[dict],
                     report_type: str | None):
        """Store a submission (`data`: a file's bytes, or a batch's JSON records) and
        answer it once it is durable, waiting without a thread (`Committer`)."""
        who.require("submitter")
        if isinstance(data, list) and len(data) <= SMALL:
            pending = self._pending(name, data, report_type, who.lei)
        else:
            pending = await run_in_threadpool(self._pending, name, data, report_type, who.lei)
        with self._counting:
            if self._waiting and (self._queued + pending.rows > MAX_QUEUED_ROWS
                                  or self._waiting >= MAX_QUEUED):
                raise Busy(f"{self._waiting:,} submissions of {self._queued:,} reports are "
                           f"waiting to be stored: send again in a second")
            self._queued += pending.rows
            self._waiting += 1
        try:
            return await asyncio.wrap_future(self.committer.submit(pending))
        finally:
            with self._counting:
                self._queued -= pending.rows
                self._waiting -= 1

    @staticmethod
    def _pending(name: str, data: bytes | list[dict], report_type: str | None,
                 owner: str | None) -> Pending:
        """What the committer is handed, made by the request's thread beside other
        commits. A batch of records of the type's own fields is left to be decoded with
        the others stored with it; a file is decoded here (most of a large file's time,
        and no store needed). One that cannot be is told why by the file pipeline."""
        from suptech.ingest.readers import detect_report_type, read_file

        lines = records = None
        if isinstance(data, list):
            fields = REPORT_TYPES[report_type].field_names if report_type in REPORT_TYPES \
                else frozenset()
            if all(r.keys() <= fields for r in data):
                lines = len(data)
            batch = data
            data, plain = jsonl_lines(batch)
            # The committer reads the records themselves, not their lines decoded
            # again (an empty batch is told it is empty, as an empty file is).
            records = batch if plain and lines else None
        try:
            rt = detect_report_type(Path(name), report_type)
        except Exception:  # noqa: BLE001 (UnusableFile: told by the pipeline)
            rt = None
        raw = None
        if rt is not None and lines is None:
            try:
                raw = read_file(Path(name), data, owner, rt)
            except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                pass
        return Pending(name, data, hashlib.sha256(data).hexdigest(), report_type, owner,
                       rt.name if rt else None, raw, lines if rt is not None else None,
                       records if rt is not None else None)

    def submissions(self, who: User, batch_id: str | None = None) -> pl.DataFrame:
        """The submissions the caller may see, and the read audited: a submitter its
        own institution's; anyone else those of the institutions registered
        in its jurisdiction (supervisors chase bad reporters, their own region's). A
        submission with no sending institution (a file ingested on the command line, a
        stream group) is the operator's, read with the CLI."""
        import sqlalchemy as sa

        from suptech.ops.db import users

        with self.lock:
            frame = pl.from_arrow(self.store.submissions())
        if who.role == "submitter":
            leis = [who.lei]
        else:
            with self.ops.connect() as con:
                leis = list(con.execute(sa.select(users.c.lei).where(
                    users.c.role == "submitter", users.c.jurisdiction == who.jurisdiction,
                    users.c.lei.is_not(None))).scalars())
        frame = frame.filter(pl.col("owner").is_in(leis))
        if batch_id is not None:
            frame = frame.filter(pl.col("batch_id") == batch_id)
        with self.ops.begin() as con:
            audit.record(con, who.user_id, "feedback.read" if batch_id else "submissions.read",
                         "submission", batch_id or "*", rows=frame.height)
        return frame

    # ---- alerts ----

    def alerts(self, who: User) -> pl.DataFrame:
        """The alerts of the caller's jurisdiction, with their regions.

        Kept until an alert arrives, or an account or party report that may move an
        alert's regions (both are only ever added, so a count and the latest receipt
        say whether any did): a list read again is looked up, not computed again, and
        read beside the submissions being committed, not after them.
        """
        who.require("analyst", "supervisor")
        with self.reader() as store:
            state = (store.engine.count("alerts"), store.watermark("account", "party"))
            kept = self._alerts.get(who.jurisdiction)
            if kept is not None and kept[0] == state:
                return kept[1]
            alerts = store.alerts()
            regions = scope.alert_regions(store, alerts)
        mine = alerts.filter(pl.col("alert_id").is_in(
            [a for a, r in regions.items() if who.jurisdiction in r]))
        mine = mine.with_columns(pl.col("alert_id").replace_strict(
            {a: sorted(r) for a, r in regions.items()}, default=None,
            return_dtype=pl.List(pl.String)).alias("regions"))
        self._alerts[who.jurisdiction] = (state, mine)
        return mine

    def kept(self, key: tuple, compute: Callable[[Any], Any]) -> Any:
        """`compute(store)`, kept until a submission is committed: a page's measures of
        the reports (the risk levels of a day, what each institution sent) are read far
        more often than the store changes, and cost a second or more each time. `key`
        names the page's measure and whatever else it depends on (the caller's
        jurisdiction, a day)."""
        with self.reader() as store:
            # Submissions are only ever added; a replay may stamp one earlier than the
            # latest, so the count says it too.
            state = (store.engine.count("submissions"), store.watermark())
            hit = self._kept.get(key)
            if hit is not None and hit[0] == state:
                return hit[1]
            value = compute(store)
        if len(self._kept) >= KEPT:
            self._kept.clear()
        self._kept[key] = (state, value)
        return value

    def with_status(self, frame: pl.DataFrame) -> list[dict]:
        """Alert rows with their triage (status, assignee, reason) and case, if any."""
        ids = frame["alert_id"].to_list()
        with self.ops.connect() as con:
            status, held = cases.alert_status(con, ids), cases.alert_cases(con, ids)
        out = []
        for row in frame.drop("evidence", "scan_id", strict=False).to_dicts():
            t = status.get(row["alert_id"], {})
            out.append({**row, "status": t.get("status", "new"), "assignee": t.get("assignee"),
                        "reason": t.get("reason"), "case_id": None, "case_state": None,
                        **held.get(row["alert_id"], {})})
        return out

    def alert(self, who: User, alert_id: str) -> pl.DataFrame:
        found = self.alerts(who).filter(pl.col("alert_id") == alert_id)
        if found.is_empty():
            raise NotFound("no alert {ids}", ids=alert_id)
        return found

    def triage(self, who: User, alert_ids: list[str], action: str, *args) -> pl.DataFrame:
        """One triage action (assign, dismiss, escalate; `args` as `cases` takes them) on
        alerts of the caller's jurisdiction, all or none; returns those alerts."""
        ids = sorted(set(alert_ids))
        mine = self.alerts(who).filter(pl.col("alert_id").is_in(ids))
        missing = sorted(set(ids) - set(mine["alert_id"]))
        if missing:
            raise NotFound("no alert {ids}", ids=", ".join(missing))
        with self.ops.begin() as con:
            for alert_id in ids:
                TRIAGE[action](con, who, alert_id, *args)
        return mine

    def check_alerts(self, who: User, alert_ids: list[str]) -> None:
        missing = sorted(set(alert_ids) - set(self.alerts(who)["alert_id"])) if alert_ids else []
        if missing:
            raise NotFound("no alert {ids}", ids=", ".join(missing))

    def alert_detail(self, who: User, alert_id: str) -> tuple[dict, dict[str, Any], list[dict]]:
        """An alert, its evidence (payments, or orders, trades and the book) and timeline.

        Reading it is audited: the evidence names accounts and what they did.
        """
        import suptech.detect.run  # noqa: F401  (registers the built-in detectors)
        from suptech.detect.base import REGISTRY
        from suptech.detect.evidence import evidence, payment_evidence

        frame = self.alert(who, alert_id)
        alert = frame.row(0, named=True)
        with self.lock:
            domain = REGISTRY.get(alert["detector"]).domain
            if domain == "investor":  # its sales and assessments, or its complaint
                from suptech.investor.views import evidence as investor_evidence

                ev = investor_evidence(self.store, alert)
            elif domain == "payments":
                paid = payment_evidence(self.store, alert)
                # Where each account's owner is (the flow between regions, drawn), and
                # since when each account was open and last used.
                ev: dict[str, Any] = {"payments": paid,
                                      "accounts": scope.flow_accounts(self.store, paid)}
            else:
                ev = evidence(self.store, alert).frames()
        with self.ops.begin() as con:
            audit.record(con, who.user_id, "alert.read", "alert", alert_id)
            timeline = cases.timeline(con, "alert", alert_id)
        [row] = self.with_status(frame)
        return {**row, "evidence": alert["evidence"]}, ev, timeline

    def institution_names(self) -> dict[str, str]:
        """Each reporting institution's name by its LEI, as the party register has it."""
        with self.reader() as store:
            p = store.view("party")
            named = p.filter(p.lei.notnull() & p.name.notnull()).select("lei", "name")
            return dict(pl.from_arrow(named.to_pyarrow()).iter_rows())

    def ticks(self, isin: str | None) -> dict:
        """`evidence.ticks`, read beside the commits."""
        from suptech.detect.evidence import ticks

        with self.reader() as store:
            return ticks(store, isin)

    # ---- cases ----

    def case_detail(self, con, who: User, case_id: str) -> dict:
        return {**cases.get_case(con, who, case_id),
                "timeline": cases.timeline(con, "case", case_id)}
