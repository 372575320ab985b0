"""`suptech stream`: the durable JetStream consumer that ingests report batches.

Messages are fetched a few hundred at a time. Those of one report type and format are
validated together by the file pipeline and committed as one submission (group
commit: one validation pass and one commit for many small messages). Each record must
name as submitter the LEI its message's subject names (E010 otherwise), and each
sender is answered with its own rows' feedback. The submission logs which messages
(stream sequence numbers) and rows it holds, in the same transaction (its `sha256` is
that of the stream's name and those numbers); messages are acknowledged only after
that. A consumer killed at any point has the messages redelivered, finds the ones
already logged, answers them from the log and stores nothing again: exactly-once
storage over at-least-once delivery.

A group is committed by a thread of its own while the next one is validated (the
validation cache learns each group's values first). Commits run in order; one that
fails refuses the fetch's later groups with it, and the cache forgets what it learnt.

A message that cannot be taken (a subject not of the form
`<prefix>.reports.<type>.<LEI>`, an unknown report type, a sender not registered as a
submitter, a batch over the size limit, bytes that are neither JSON Lines nor Arrow
IPC) is answered on the feedback subject with the reason, acknowledged, and never stops
the consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from suptech.model.reports import REPORT_TYPES

log = logging.getLogger(__name__)

DURABLE = "suptech-ingest"
#: Larger batches are refused with feedback (NATS itself caps a message at 1 MB by default).
MAX_MESSAGE_BYTES = 1_000_000
ARROW_MAGIC = (b"ARROW1", b"\xff\xff\xff\xff")  # IPC file, IPC stream (continuation)


@dataclass
class Config:
    data_dir: Path
    nats_url: str = "nats://127.0.0.1:4222"
    prefix: str = "suptech"
    durable: str = DURABLE
    database_url: str | None = None
    max_message_bytes: int = MAX_MESSAGE_BYTES
    batch: int = 1024  # messages fetched, and committed, at a time
    #: Seconds before JetStream redelivers a message nobody acknowledged (a consumer
    #: killed mid-batch): the recovery time after a crash.
    ack_wait: float = 30
    #: Run the streaming market detectors on each committed batch, publishing alerts on
    #: `<prefix>.alerts.<region>`.
    detect: bool = True
    #: Seconds of event time a report may arrive behind a later one: at least what a
    #: publisher gathers into one message (see `suptech.stream.monitor.base.LATENESS`).
    lateness: float = 5
    #: A fetch's messages of one report type are committed in parts of about this many
    #: bytes: a burst (the close's expiries, ten times a usual slice) reaches the
    #: detectors part by part while the rest is validated, not all at once at the end.
    commit_bytes: int = 8_000_000

    @property
    def stream(self) -> str:
        """One JetStream stream per prefix (SUPTECH_REPORTS for the default)."""
        return f"{self.prefix}_reports".upper().replace(".", "_").replace("-", "_")


@dataclass
class Counters:
    messages: int = 0
    ingested: int = 0
    duplicates: int = 0
    refused: int = 0
    reports: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.monotonic)


class NotStored(Exception):
    """Why a batch was not stored, in words meant for its sender."""


def parse_subject(subject: str, prefix: str) -> tuple[str, str]:
    """(report type, LEI) of a report subject, or ValueError saying what is wrong."""
    parts = subject.split(".")
    head = prefix.split(".")
    if parts[:len(head)] != head or len(parts) != len(head) + 3 or parts[len(head)] != "reports":
        raise ValueError(f"subject {subject!r} is not {prefix}.reports.<report_type>.<LEI>")
    report_type, lei = parts[len(head) + 1], parts[len(head) + 2]
    if report_type not in REPORT_TYPES:
        raise ValueError(f"unknown report type {report_type!r} in subject {subject!r} "
                         f"(known: {', '.join(REPORT_TYPES)})")
    return report_type, lei


def file_name(report_type: str, data: bytes, seq: int) -> str:
    """A name whose suffix tells the pipeline the format: Arrow IPC or JSON Lines."""
    suffix = ".arrow" if data.startswith(ARROW_MAGIC) else ".jsonl"
    return f"{report_type}-stream-{seq}{suffix}"


class Ingestor:
    """The synchronous part: the store, the register of submitters, the pipeline."""

    def __init__(self, config: Config):
        from suptech.ops.db import connect
        from suptech.store.database import open_store

        self.config = config
        self.store = open_store(config.data_dir)
        self.ops = connect(config.data_dir, config.database_url)
        from suptech.stream.lookup import CachedLookup
        self.lookup = CachedLookup(self.store)
        #: Every message of the stream logged as stored has a sequence number up to this.
        self.logged_up_to = self.store.last_logged(config.stream)
        # A group is committed by a thread of its own, over a connection of its own,
        # while the next group is validated: writing the Parquet file and DuckDB's
        # transaction run mostly outside Python's interpreter lock. (Inline where the
        # engine has no second connection.)
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="suptech-commit") \
            if self.store.engine.name == "duckdb" else None
        self.commit_store = self.store.cursor() if self.committer is not None else self.store
        #: A commit of the fetch in hand failed: its later groups are not committed.
        self.failed = False
        self.monitor = None
        if config.detect:
            from suptech.stream.monitor.process import MonitorProcess
            # Fed by the committing thread: the register is read over that connection.
            self.monitor = MonitorProcess(self.commit_store, int(config.lateness * 1e9),
                                          f"STREAM-{time.time_ns()}")
            #: Alerts are stored by another thread than commits: its own connection.
            self.alert_store = self.store.cursor()

    def close(self) -> None:
        if self.committer is not None:
            self.committer.shutdown()
        if self.monitor is not None:
            self.monitor.close()
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

    def handle(self, messages: list[tuple[str, bytes, int]],
               sent_ns: int = 0) -> list[tuple[str, dict]]:
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
        taken: list[tuple[str, bytes, int, str, str]] = []
        for subject, data, seq in messages:
            ok, refused = self.check(subject, data, seq, senders)
            if refused:
                answers[seq] = refused
            else:
                taken.append((subject, data, seq, *ok))
        # Only a message at or below the highest sequence number ever logged can have
        # been stored (this process is the store's one writer): a redelivery. The log is
        # asked about those only, not about each fetch.
        again = [t[2] for t in taken if t[2] <= self.logged_up_to]
        logged = self.store.stream_log(c.stream, again) if again else None
        seen = {} if logged is None else {r["seq"]: r for r in logged.to_dicts()}
        groups: dict[tuple[str, str], list] = {}
        for subject, data, seq, report_type, lei in taken:
            if seq in seen:
                answers[seq] = (f"{c.prefix}.feedback.{lei}", self.replay_answer(subject, seen[seq]))
            else:
                name = file_name(report_type, data, seq)
                groups.setdefault((report_type, Path(name).suffix), []).append(
                    (subject, data, seq, lei, name))

        def failed(group: list, e: BaseException) -> None:
            # The sender is told that it was not stored, never the platform's insides
            # (which it may not see); the log says what failed, under the same number.
            incident = f"{c.stream}-{group[0][2]}"
            if isinstance(e, NotStored):
                why = str(e)
            else:
                log.error("batch %s not stored", incident, exc_info=e)
                why = f"incident {incident}"
            for subject, _, seq, lei, _ in group:
                answers[seq] = (f"{c.prefix}.feedback.{lei}", refusal(
                    subject, seq, f"not stored: the platform failed on this batch "
                                  f"({why}); please report it"))

        # Reference data first, then orders, then the trades that name them, as files
        # are loaded: a fetch may hold a trade whose order came later in the fetch.
        commits = []  # (group, its commit under way), in order

        def prepare(report_type: str, group: list) -> None:
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
                commits.append((group, self.committer.submit(commit)
                                if self.committer is not None else done_now(commit)))

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
        return [answers[seq] for _, _, seq in messages]

    def replay_answer(self, subject: str, log: dict) -> dict:
        """A redelivered message's answer: its rows' feedback as first given."""
        feedback = self.store.feedback_of(log["batch_id"]).filter(
            pl.col("row").is_between(log["first_row"], log["last_row"]))
        [mine] = answers_by_message(feedback, [log["first_row"]])
        return answer(subject, log["seq"], log["batch_id"], log["first_row"], log["last_row"],
                      mine, duplicate=True)

    def prepare_group(self, report_type: str, group: list, sent_ns: int = 0):
        """Validate a group of messages: the answers known now (messages that could not be
        taken), and the commit that stores the rest and returns their answers (None if
        there is nothing to commit), to be run after the commits before it."""
        from suptech.ingest.checks.owner import OWNER
        from suptech.ingest.pipeline import prepare
        from suptech.ingest.readers import ROW, UnusableFile

        c = self.config
        # Raised before the commit is tried: whatever becomes of it, a redelivery of
        # these messages is looked up in the log.
        self.logged_up_to = max(self.logged_up_to, max(g[2] for g in group))
        answers: dict[int, tuple[str, dict]] = {}
        raw, kept = self.decode(group, answers, report_type)
        if raw is None:
            return answers, None
        # Each row's sender: the message's LEI repeated over its rows (gathered by
        # polars: numpy's array of thousands of strings took 5 % of a batch's time).
        senders = np.repeat(np.arange(len(kept)), [last - first + 1 for *_, first, last in kept])
        owners = pl.DataFrame({
            ROW: np.arange(1, kept[-1][5] + 1, dtype=np.int64),
            OWNER: pl.Series([k[3] for k in kept], dtype=pl.String).gather(senders)})
        held = pl.DataFrame({"stream": c.stream, "seq": [k[1] for k in kept],
                            "first_row": [k[4] for k in kept], "last_row": [k[5] for k in kept]})
        # The messages' place in the stream, which names their bytes there for good:
        # hashing the bytes themselves took 5 % of a batch's time.
        sha = hashlib.sha256(f"{c.stream}:{','.join(str(g[2]) for g in group)}".encode()) \
            .hexdigest()
        label = f"stream {c.stream} seq {kept[0][1]}-{kept[-1][1]}"
        try:
            ready = prepare(self.store, REPORT_TYPES[report_type], raw, label, sha, owners,
                            held, lookup=self.lookup, keep=True)
        except UnusableFile as e:
            for subject, seq, reply, *_ in kept:
                answers[seq] = (reply, refusal(subject, seq, str(e)))
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
            if self.monitor is not None and rows is not None:
                try:
                    self.monitor.submit(report_type, rows, sent_ns)
                # The reports are committed whatever happens here: say it, go on.
                except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                    log.exception("streaming detectors not fed %s", result.summary.batch_id)
            bodies = answers_by_message(result.feedback.drop("file"), [k[4] for k in kept])
            done = {}
            for (subject, seq, reply, _, first, last), feedback in zip(kept, bodies):
                done[seq] = (reply, answer(subject, seq, result.summary.batch_id, first, last,
                                           feedback, duplicate=False))
            return done
        return answers, commit

    def decode(self, group: list, answers: dict, report_type: str):
        """The group's messages as one RawFile, rows numbered through the group (each
        message's from where the last ended), and the messages kept (subject, seq,
        reply, LEI, first row, last row). A message that cannot be decoded is answered
        in `answers` and left out."""
        from suptech.ingest.columnar import from_arrow
        from suptech.ingest.readers import (ROW, RawFile, UnusableFile, arrow_table,
                                            columnar, read_file)

        rt = REPORT_TYPES[report_type]
        fields = rt.field_names

        reply = f"{self.config.prefix}.feedback.{{}}"
        kept, decoded, parts = [], [], []  # decoded: rows each part holds
        offset = 0
        arrow = group[0][4].endswith(".arrow")  # a group holds one format
        for subject, data, seq, lei, name in group:
            try:
                part = arrow_table(data) if arrow else read_file(Path(name), data, rt=rt)
            except UnusableFile as e:
                answers[seq] = (reply.format(lei), refusal(subject, seq, str(e)))
                continue
            if arrow:
                rows = part.num_rows
                decoded.append(rows)
            else:
                rows = max([part.frame[ROW].max() or 0, *(p.row or 0 for p in part.problems)])
                decoded.append(part.frame.height)
            parts.append(part)
            kept.append((subject, seq, reply.format(lei), lei, offset + 1, offset + rows))
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
            decoded = [p.frame.height for p in parts]  # rows a value no field holds took out
        # One chunk: polars' string kernels have failed (panicked) on the many small
        # chunks that concatenating hundreds of Arrow messages leaves.
        frame = pl.concat([p.frame for p in parts], how="diagonal_relaxed").rechunk()
        starts = [k[4] - 1 for k in kept]  # each part's rows shift by where it starts
        frame = frame.with_columns(pl.col(ROW) + pl.Series(np.repeat(starts, decoded),
                                                           dtype=pl.Int64))
        problems = [dataclasses.replace(p, row=p.row + start if p.row else None)
                    for part, start in zip(parts, starts) for p in part.problems]
        return RawFile(frame, problems, [c for c in frame.columns if c != ROW]), kept

    def idle(self) -> None:
        """Nothing to do: the register read for the detectors, if it changed, before
        the next orders wait for it."""
        if self.monitor is not None:
            self.monitor.send_reference()

    def take_alerts(self, wait: bool = False, timeout: float = 0) -> pl.DataFrame | None:
        """The new alerts of the batches the detectors are done with (with `wait`, of
        every batch committed so far; else waiting up to `timeout` seconds for one),
        stored, with `published_ns`: when the earliest message of their fetch was
        published. An alert found again (a restarted consumer re-reading a day) keeps
        its first record and is not taken again. May run in another thread than
        `handle` (one at a time)."""
        if self.monitor is None:
            return None
        done = self.monitor.results(wait, timeout)
        if not done:
            return None
        alerts = pl.concat([frame.with_columns(published_ns=pl.lit(sent, pl.Int64))
                            for sent, frame in done])
        known = self.alert_store.alert_ids(alerts["alert_id"])
        alerts = alerts.filter(~pl.col("alert_id").is_in(known.implode()))
        self.alert_store.record_scan(None, alerts)
        return alerts if alerts.height else None


def done_now(work) -> Future:
    """`work()` run here and now, as a finished future (its result or its exception)."""
    future: Future = Future()
    try:
        future.set_result(work())
    except BaseException as e:  # noqa: BLE001 (handed over, as an executor would)
        future.set_exception(e)
    return future


def commit_parts(group: list, size: int) -> list[list]:
    """A group's messages (subject, data, ...) in runs of about `size` bytes, in order."""
    out, bytes_ = [[]], 0
    for message in group:
        if out[-1] and bytes_ + len(message[1]) > size:
            out.append([])
            bytes_ = 0
        out[-1].append(message)
        bytes_ += len(message[1])
    return out


def answers_by_message(feedback: pl.DataFrame, firsts: list[int]) -> list[list[dict]]:
    """A group's feedback split by message (`firsts`: each message's first row in the
    group), rows numbered from 1 within their message as the sender numbered them."""
    out: list[list[dict]] = [[] for _ in firsts]
    if feedback.is_empty():
        return out
    starts = np.asarray(firsts, dtype=np.int64)
    rows = feedback["row"].to_numpy()
    which = np.searchsorted(starts, np.nan_to_num(rows, nan=0).astype(np.int64), "right") - 1
    feedback = feedback.with_columns(
        pl.col("row") - pl.Series(starts[np.maximum(which, 0)]) + 1)
    for i, item in zip(which, feedback.to_dicts()):
        out[max(int(i), 0)].append(item)
    return out


def answer(subject: str, seq: int, batch_id: str | None, first: int, last: int,
           feedback: list[dict], duplicate: bool) -> dict:
    """One message's answer; `feedback` rows numbered from 1 as in the message it sent."""
    failed = len({f["row"] for f in feedback if f["code"].startswith("E")})
    warned = len({f["row"] for f in feedback if f["code"].startswith("W")})
    rows = last - first + 1
    return {"subject": subject, "stream_seq": seq, "batch_id": batch_id, "rows": rows,
            "accepted": rows - failed, "rejected": failed, "warnings": warned,
            "duplicate": duplicate, "error": None, "feedback": feedback}


def feedback_bytes(body: dict, limit: int) -> bytes:
    """An answer as sent: within NATS' payload limit. A message with thousands of
    faulty rows gets its first feedback items, the count, and where to read them all."""
    data = json.dumps(body, default=str).encode()
    items = body["feedback"]
    keep = len(items)
    while len(data) > limit and keep:
        keep = keep * limit // len(data) * 9 // 10  # to about 90 % of the limit
        data = json.dumps({**body, "feedback": items[:keep], "feedback_total": len(items),
                           "feedback_truncated": (
                               f"the first {keep:,} of {len(items):,} feedback items: all "
                               f"of them at GET /v1/submissions/{body['batch_id']}/feedback")},
                          default=str).encode()
    return data


def refusal(subject: str, seq: int, reason: str) -> dict:
    return {"subject": subject, "stream_seq": seq, "batch_id": None, "rows": 0, "accepted": 0,
            "rejected": 0, "duplicate": False, "error": reason, "feedback": []}


async def publish_alerts(nc, prefix: str, alerts: pl.DataFrame) -> None:
    """Each alert on `<prefix>.alerts.<region>` of each region it involves (`unassigned`
    when its accounts' owners are not in the register)."""
    for alert in alerts.to_dicts():
        body = json.dumps(alert).encode()
        for region in alert["regions"] or ["unassigned"]:
            await nc.publish(f"{prefix}.alerts.{region}", body)


async def relay_alerts(nc, prefix: str, ingestor: Ingestor, counters: Counters,
                       finished: asyncio.Event) -> None:
    """Alerts stored and published as soon as the detectors have them, in a thread of
    their own: not after the next batch is committed. Once `finished`, those of every
    batch submitted."""
    if ingestor.monitor is None:
        await finished.wait()
        return
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="suptech-alerts") as thread:
        while True:
            last = finished.is_set()
            if ingestor.monitor.gone and not last:
                await finished.wait()
                continue
            try:
                # Waits in the thread for the detectors' next answer (or 0.5 s).
                alerts = await loop.run_in_executor(thread, ingestor.take_alerts, last, 0.5)
                if alerts is not None:
                    await publish_alerts(nc, prefix, alerts)
                    counters.alerts += alerts.height
            # The reports are stored whatever happens here, and the batch scan finds
            # the cases again: say it, go on.
            except Exception:  # noqa: BLE001
                log.exception("streaming alerts could not be stored or published")
            if last:
                return


async def ensure_stream(js, config: Config) -> None:
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    subjects = [f"{config.prefix}.reports.>"]
    try:
        await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=config.stream, subjects=subjects,
                                         storage="file"))


async def ensure_consumer(js, config: Config) -> None:
    """The durable consumer, made once; one that exists is used as it is."""
    from nats.js.api import AckPolicy, ConsumerConfig
    from nats.js.errors import NotFoundError

    try:
        await js.consumer_info(config.stream, config.durable)
    except NotFoundError:
        await js.add_consumer(config.stream, ConsumerConfig(
            name=config.durable, durable_name=config.durable,
            filter_subject=f"{config.prefix}.reports.>", ack_policy=AckPolicy.EXPLICIT,
            ack_wait=config.ack_wait,
            # Room for the batch in hand and the one fetched ahead.
            max_ack_pending=max(1_000, 4 * config.batch)))


async def consume(config: Config, stop: asyncio.Event | None = None,
                  on_feedback=None) -> Counters:
    """Consume until `stop` is set (or forever); returns what was done."""
    import nats

    from suptech.stream.pull import Puller

    stop = stop or asyncio.Event()
    counters = Counters()
    ingestor = Ingestor(config)
    nc = await nats.connect(config.nats_url, max_reconnect_attempts=-1)
    relay, finished = None, asyncio.Event()
    try:
        js = nc.jetstream()
        await ensure_stream(js, config)
        await ensure_consumer(js, config)
        puller = Puller(nc, config.stream, config.durable)
        await puller.start()
        loop = asyncio.get_running_loop()

        async def fetch() -> list:
            return await puller.fetch(config.batch, timeout=0.5)

        # What is made by now (modules, connections, the caches' tables) lives as long
        # as the process: Python's full collections need not scan it again. Scanning it
        # took 0.14 s each time, a pause in the stream twice in a full-scale day.
        gc.freeze()
        relay = asyncio.create_task(relay_alerts(nc, config.prefix, ingestor, counters,
                                                 finished))
        # The next fetch is under way while a batch is validated and committed.
        ahead = asyncio.create_task(fetch())
        while not stop.is_set():
            msgs = await ahead
            # The fetch ahead ended with the first messages to come while the last batch
            # was being committed: those that came since join them (a venue's burst is
            # one batch, not a few messages and then the rest a batch later).
            if msgs and len(msgs) < config.batch:
                msgs += await puller.now(config.batch - len(msgs))
            ahead = asyncio.create_task(fetch())
            if not msgs:
                await loop.run_in_executor(None, ingestor.idle)
                continue
            batch = [(m.subject, m.data, m.metadata.sequence.stream) for m in msgs]
            # Latency is counted from the earliest message of the fetch: an upper bound.
            sent = int(min(m.metadata.timestamp for m in msgs).timestamp() * 1e9)
            answers = await loop.run_in_executor(None, ingestor.handle, batch, sent)
            for m, (reply, body) in zip(msgs, answers):
                await nc.publish(reply, feedback_bytes(body, nc.max_payload))
                counters.messages += 1
                if body["error"] and body["batch_id"] is None:
                    counters.refused += 1
                elif body["duplicate"]:
                    counters.duplicates += 1
                else:
                    counters.ingested += 1
                    counters.reports += body["accepted"]
                if on_feedback:
                    on_feedback(reply, body)
            # Acknowledged only once committed and answered: a crash before here means
            # redelivery, which the stream log recognises.
            await nc.flush()
            for m in msgs:
                await m.ack()
            await nc.flush()
        # Messages fetched ahead (or kept from a request given up on) go back at once,
        # not after the ack wait.
        for m in await ahead + puller.msgs:
            await m.nak()
        await nc.flush()
    finally:
        if relay is not None:
            finished.set()
            await relay  # the alerts of the last batches
        await nc.close()
        ingestor.close()
    return counters
