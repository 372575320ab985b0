"""Validating and committing: the synchronous part of `suptech stream`.

Messages are fetched a few hundred at a time (`suptech.stream.consumer`). Those of one
report type and format are validated together by the file pipeline and committed as
one submission (group commit: one validation pass and one commit for many small
messages). Each record must name as submitter the LEI its message's subject names (E010
otherwise), and each sender is answered with its own rows' feedback
(`suptech.stream.answers`). The submission logs which messages (stream sequence
numbers) and rows it holds, in the same transaction (its `sha256` is that of the
stream's name and those numbers); messages are acknowledged only after that. A consumer
killed at any point has the messages redelivered, finds the ones already logged,
answers them from the log and stores nothing again: exactly-once storage over
at-least-once delivery.

A group is committed by a thread of its own while the next one is validated (the
validation cache learns each group's values first). Commits run in order; one that
fails refuses the fetch's later groups with it, and the cache forgets what it learnt.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from suptech.model.reports import REPORT_TYPES
from suptech.stream.answers import answer, answers_by_message, refusal
from suptech.stream.messages import (Config, Held, Message, NotStored, Taken, commit_parts,
                                     file_name, parse_subject)

log = logging.getLogger(__name__)


class Ingestor:
    """The synchronous part: the store, the register of submitters, the pipeline."""

    def __init__(self, config: Config):
        from suptech.ops.db import connect
        from suptech.store.database import open_store

        self.config = config
        self.store = open_store(config.data_dir, config.engine)
        self.ops = connect(config.data_dir, config.database_url)
        from suptech.stream.lookup import CachedLookup
        self.lookup = CachedLookup(self.store)
        #: Every message of the stream logged as stored has a sequence number up to this.
        self.logged_up_to = self.store.last_logged(config.stream)
        # A group is committed by a thread of its own, over a connection of its own,
        # while the next group is validated: writing the Parquet file and DuckDB's
        # transaction run mostly outside Python's interpreter lock.
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="suptech-commit")
        self.commit_store = self.store.cursor()
        #: A commit of the fetch in hand failed: its later groups are not committed.
        self.failed = False
        self.detectors = None
        if config.detect:
            from suptech.stream.detectors import DetectorProcess
            # Fed by the committing thread: the register is read over that connection.
            self.detectors = DetectorProcess(self.commit_store, int(config.lateness * 1e9),
                                          f"STREAM-{time.time_ns()}")
            #: Alerts are stored by another thread than commits: its own connection.
            self.alert_store = self.store.cursor()

    def close(self) -> None:
        self.committer.shutdown()
        if self.detectors is not None:
            self.detectors.close()
            self.alert_store.close()
        if self.commit_store is not self.store:
            self.commit_store.close()
        self.store.close()
        self.ops.dispose()

    def submitters(self) -> set[str]:
        from suptech.ops.db import tokens, users

        q = (sa.select(users.c.lei).join(tokens, tokens.c.user_id == users.c.user_id)
             .where(users.c.role == "submitter", tokens.c.revoked_at.is_(None)))
        with self.ops.connect() as con:
            return {lei for lei in con.execute(q).scalars() if lei}

    def check(self, subject: str, data: bytes, seq: int, senders: set[str]):
        """(report type, LEI), or the feedback subject and body refusing the message."""
        c = self.config
        try:
            report_type, lei = parse_subject(subject, c.prefix)
        except ValueError as e:
            lei = subject.rsplit(".", 1)[-1] if subject.count(".") >= 3 else "unknown"
            return None, (f"{c.prefix}.feedback.{lei}", refusal(subject, seq, str(e)))
        reply = f"{c.prefix}.feedback.{lei}"
        if lei not in senders:
            return None, (reply, refusal(subject, seq, f"{lei} is not a registered submitter "
                                                       "(suptech users add --role submitter --lei)"))
        if len(data) > c.max_message_bytes:
            return None, (reply, refusal(subject, seq, f"batch of {len(data):,} bytes is over "
                                                       f"the limit of {c.max_message_bytes:,}: "
                                                       "send smaller batches"))
        return (report_type, lei), None

    def handle(self, messages: list[Message], sent_ns: int = 0) -> list[tuple[str, dict]]:
        """Feedback (subject, body) for each message, in order; never raises for bad input.
        `sent_ns`: when the earliest of them was published, carried by the alerts that
        their batches raise (see `take_alerts`).

        Messages of one report type and format are validated and committed together, as
        one submission that logs which messages (stream sequence numbers) and rows it
        holds; each sender gets its own rows' feedback back. A message logged before (a
        redelivery) is answered from the log and stored again never.
        """
        c = self.config
        answers: dict[int, tuple[str, dict]] = {}
        senders = self.submitters()
        self.lookup.check_fresh()
        taken: list[tuple[Message, str, str]] = []  # the message, its type and LEI
        for m in messages:
            ok, refused = self.check(m.subject, m.data, m.seq, senders)
            if refused:
                answers[m.seq] = refused
            else:
                taken.append((m, *ok))
        # Only a message at or below the highest sequence number ever logged can have
        # been stored (this process is the store's one writer): a redelivery. The log is
        # asked about those only, not about each fetch.
        again = [m.seq for m, *_ in taken if m.seq <= self.logged_up_to]
        logged = self.store.stream_log(c.stream, again) if again else None
        seen = {} if logged is None else {r["seq"]: r for r in logged.to_dicts()}
        groups: dict[tuple[str, str], list[Taken]] = {}
        for m, report_type, lei in taken:
            if m.seq in seen:
                answers[m.seq] = (f"{c.prefix}.feedback.{lei}",
                                  self.replay_answer(m.subject, seen[m.seq]))
            else:
                name = file_name(report_type, m.data, m.seq)
                groups.setdefault((report_type, Path(name).suffix), []).append(
                    Taken(m.subject, m.data, m.seq, lei, name))

        def failed(group: list[Taken], e: BaseException) -> None:
            # The sender is told that it was not stored, never the platform's insides
            # (which it may not see); the log says what failed, under the same number.
            incident = f"{c.stream}-{group[0].seq}"
            if isinstance(e, NotStored):
                why = str(e)
            else:
                log.error("batch %s not stored", incident, exc_info=e)
                why = f"incident {incident}"
            for t in group:
                answers[t.seq] = (f"{c.prefix}.feedback.{t.lei}", refusal(
                    t.subject, t.seq, f"not stored: the platform failed on this batch "
                                      f"({why}); please report it"))

        # Reference data first, then orders, then the trades that name them, as files
        # are loaded: a fetch may hold a trade whose order came later in the fetch.
        commits = []  # (group, its commit under way), in order

        def prepare(report_type: str, group: list[Taken]) -> None:
            try:
                known, commit = self.prepare_group(report_type, group, sent_ns)
            # A bug must not stop the stream: say it. (A panic in polars' Rust code
            # is a BaseException.)
            except (Exception, pl.exceptions.PanicException) as e:  # noqa: BLE001
                if len(group) == 1:
                    failed(group, e)
                else:  # one sender's message must not refuse another's: each on its own
                    for message in group:
                        prepare(report_type, [message])
                return
            answers.update(known)
            if commit is not None:
                commits.append((group, self.committer.submit(commit)))

        for (report_type, _), whole in sorted(groups.items(),
                                              key=lambda g: REPORT_TYPES[g[0][0]].rank):
            for group in commit_parts(whole, c.commit_bytes):
                prepare(report_type, group)
        for group, commit in commits:
            try:
                answers.update(commit.result())
            except (Exception, pl.exceptions.PanicException) as e:  # noqa: BLE001
                failed(group, e)
        if self.failed:  # the cache learnt what was not stored
            self.lookup.forget()
            self.failed = False
        # On the committing thread, after this fetch's commits, whose answers are given.
        self.committer.submit(self._compact)
        return [answers[m.seq] for m in messages]

    def _compact(self) -> None:
        try:
            self.commit_store.compact()
        # The commits are stored whatever becomes of a merge (it is one transaction).
        except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
            log.exception("small version files not merged")

    def replay_answer(self, subject: str, log: dict) -> dict:
        """A redelivered message's answer: its rows' feedback as first given."""
        feedback = self.store.feedback_of(log["batch_id"]).filter(
            pl.col("row").is_between(log["first_row"], log["last_row"]))
        [mine] = answers_by_message(feedback, [log["first_row"]])
        return answer(subject, log["seq"], log["batch_id"], log["first_row"], log["last_row"],
                      mine, duplicate=True)

    def prepare_group(self, report_type: str, group: list[Taken], sent_ns: int = 0):
        """Validate a group of messages: the answers known now (messages that could not be
        taken), and the commit that stores the rest and returns their answers (None if
        there is nothing to commit), to be run after the commits before it."""
        from suptech.ingest.checks.owner import OWNER
        from suptech.ingest.pipeline import prepare
        from suptech.ingest.readers import ROW, UnusableFile

        c = self.config
        # Raised before the commit is tried: whatever becomes of it, a redelivery of
        # these messages is looked up in the log.
        self.logged_up_to = max(self.logged_up_to, max(t.seq for t in group))
        answers: dict[int, tuple[str, dict]] = {}
        raw, kept = self.decode(group, answers, report_type)
        if raw is None:
            return answers, None
        # Each row's sender: the message's LEI repeated over its rows (gathered by
        # polars: numpy's array of thousands of strings took 5 % of a batch's time).
        senders = np.repeat(np.arange(len(kept)), [k.last - k.first + 1 for k in kept])
        owners = pl.DataFrame({
            ROW: np.arange(1, kept[-1].last + 1, dtype=np.int64),
            OWNER: pl.Series([k.lei for k in kept], dtype=pl.String).gather(senders)})
        held = pl.DataFrame({"stream": c.stream, "seq": [k.seq for k in kept],
                            "first_row": [k.first for k in kept],
                            "last_row": [k.last for k in kept]})
        # The messages' place in the stream, which names their bytes there for good:
        # hashing the bytes themselves took 5 % of a batch's time.
        sha = hashlib.sha256(f"{c.stream}:{','.join(str(t.seq) for t in group)}".encode()) \
            .hexdigest()
        label = f"stream {c.stream} seq {kept[0].seq}-{kept[-1].seq}"
        try:
            ready = prepare(self.store, REPORT_TYPES[report_type], raw, label, sha, owners,
                            held, lookup=self.lookup, keep=True,
                            firsts=[k.first for k in kept])
        except UnusableFile as e:
            for k in kept:
                answers[k.seq] = (k.reply, refusal(k.subject, k.seq, str(e)))
            return answers, None
        result = ready.result
        rows = result.versions
        # Learnt before the commit, for the next group's validation (a trade names the
        # orders of the group before it). A failed commit refuses the fetch's later
        # groups, and the cache is forgotten.
        self.lookup.committed(report_type, rows)

        def commit() -> dict[int, tuple[str, dict]]:
            if self.failed:
                raise NotStored("an earlier batch of this fetch could not be stored")
            try:
                ready.commit(self.commit_store)
            except BaseException:
                self.failed = True
                raise
            if self.detectors is not None and rows is not None:
                try:
                    self.detectors.submit(report_type, rows, sent_ns)
                # The reports are committed whatever happens here: say it, go on.
                except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                    log.exception("streaming detectors not fed %s", result.summary.batch_id)
            bodies = answers_by_message(result.feedback.drop("file"), [k.first for k in kept])
            done = {}
            for k, feedback in zip(kept, bodies):
                done[k.seq] = (k.reply, answer(k.subject, k.seq, result.summary.batch_id,
                                               k.first, k.last, feedback, duplicate=False))
            return done
        return answers, commit

    def decode(self, group: list[Taken], answers: dict,
               report_type: str) -> tuple[object, list[Held]]:
        """The group's messages as one RawFile, rows numbered through the group (each
        message's from where the last ended), and the messages kept. A message that
        cannot be decoded is answered in `answers` and left out."""
        from suptech.ingest.columnar import from_arrow
        from suptech.ingest.group import concat_raw, rows_of
        from suptech.ingest.readers import UnusableFile, arrow_table, columnar, read_file

        rt = REPORT_TYPES[report_type]
        fields = rt.field_names

        reply = f"{self.config.prefix}.feedback.{{}}"
        kept: list[Held] = []
        parts = []
        offset = 0
        arrow = group[0].name.endswith(".arrow")  # a group holds one format
        for t in group:
            try:
                part = arrow_table(t.data) if arrow else read_file(Path(t.name), t.data, rt=rt)
            except UnusableFile as e:
                answers[t.seq] = (reply.format(t.lei), refusal(t.subject, t.seq, str(e)))
                continue
            rows = part.num_rows if arrow else rows_of(part)
            parts.append(part)
            kept.append(Held(t.subject, t.seq, reply.format(t.lei), t.lei, offset + 1,
                             offset + rows))
            offset += rows
        if not kept:
            return None, kept
        if arrow:
            try:
                # Arrow messages of one schema (a venue's): one table, made one chunk by
                # Arrow (a quarter of the time polars takes over a thousand small ones).
                table = pa.concat_tables(parts).combine_chunks()
            except pa.ArrowInvalid:  # schemas differ: polars reconciles them below
                pass
            else:
                return columnar(from_arrow(table), "Arrow", fields), kept
        if arrow:
            parts = [columnar(from_arrow(p), "Arrow", fields) for p in parts]
        return concat_raw(parts, [k.last - k.first + 1 for k in kept]), kept

    def idle(self) -> None:
        """Nothing to do: the register read for the detectors, if it changed, before
        the next orders wait for it."""
        if self.detectors is not None:
            self.detectors.send_reference()
            self.detectors.drained()

    def take_alerts(self, wait: bool = False, timeout: float = 0) -> pl.DataFrame | None:
        """The alerts of the batches the detectors are done with (with `wait`, of every
        batch committed so far; else waiting up to `timeout` seconds for one) that are
        new or fuller than stored (a case grows as its episodes come), stored, with
        `published_ns`: when the earliest message of the fetches the window took in
        for them was published (how long a report waited for detection). An
        alert found again as it was (a restarted consumer re-reading a day) is not
        taken again. May run in another thread than `handle` (one at a time)."""
        if self.detectors is None:
            return None
        done = self.detectors.results(wait, timeout)
        if not done:
            return None
        alerts = pl.concat([frame.with_columns(published_ns=pl.lit(sent, pl.Int64))
                            for sent, frame in done])
        alerts = self.alert_store.news(alerts)
        self.alert_store.record_scan(None, alerts)
        return alerts if alerts.height else None
