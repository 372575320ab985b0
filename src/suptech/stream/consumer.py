"""`suptech stream`: the durable JetStream consumer that ingests report batches.

Each message is one submission, ingested by the same pipeline as a file, under the
LEI its subject names (its records must name it as submitter, E010 otherwise). A
message is acknowledged only after its batch is committed, so a consumer killed at any
point has the message redelivered; the redelivered batch has the same bytes and the
same sender, so the pipeline's idempotency finds it already stored and adds nothing.
That is exactly-once persistence with at-least-once delivery.

A message that cannot be taken (a subject not of the form
`<prefix>.reports.<type>.<LEI>`, an unknown report type, a sender not registered as a
submitter, a batch over the size limit, bytes that are neither JSON Lines nor Arrow
IPC) is answered on the feedback subject with the reason, acknowledged, and never stops
the consumer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from suptech.model.reports import REPORT_TYPES

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
    batch: int = 16  # messages fetched at a time
    #: Seconds before JetStream redelivers a message nobody acknowledged (a consumer
    #: killed mid-batch): the recovery time after a crash.
    ack_wait: float = 30

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
    started: float = field(default_factory=time.monotonic)


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

    def close(self) -> None:
        self.store.close()
        self.ops.dispose()

    def submitters(self) -> set[str]:
        from suptech.ops.db import tokens, users

        q = (sa.select(users.c.lei).join(tokens, tokens.c.user_id == users.c.user_id)
             .where(users.c.role == "submitter", tokens.c.revoked_at.is_(None)))
        with self.ops.connect() as con:
            return {lei for lei in con.execute(q).scalars() if lei}

    def handle(self, subject: str, data: bytes, seq: int) -> tuple[str, dict]:
        """The feedback subject and body for one message; never raises for bad input."""
        from suptech.ingest.pipeline import ingest_file

        c = self.config
        try:
            report_type, lei = parse_subject(subject, c.prefix)
        except ValueError as e:
            lei = subject.rsplit(".", 1)[-1] if subject.count(".") >= 3 else "unknown"
            return f"{c.prefix}.feedback.{lei}", refusal(subject, seq, str(e))
        reply = f"{c.prefix}.feedback.{lei}"
        if lei not in self.submitters():
            return reply, refusal(subject, seq, f"{lei} is not a registered submitter "
                                                "(suptech users add --role submitter --lei)")
        if len(data) > c.max_message_bytes:
            return reply, refusal(subject, seq, f"batch of {len(data):,} bytes is over the limit "
                                                f"of {c.max_message_bytes:,}: send smaller batches")
        result = ingest_file(self.store, Path(file_name(report_type, data, seq)), report_type,
                             owner=lei, data=data)
        s = result.summary
        return reply, {"subject": subject, "stream_seq": seq, "batch_id": s.batch_id,
                       "report_type": s.report_type, "rows": s.rows, "accepted": s.accepted,
                       "rejected": s.rejected, "warnings": s.warnings,
                       "duplicate": s.duplicate, "error": s.error,
                       "feedback": result.feedback.drop("file").to_dicts()}


def refusal(subject: str, seq: int, reason: str) -> dict:
    return {"subject": subject, "stream_seq": seq, "batch_id": None, "rows": 0, "accepted": 0,
            "rejected": 0, "duplicate": False, "error": reason, "feedback": []}


async def ensure_stream(js, config: Config) -> None:
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    subjects = [f"{config.prefix}.reports.>"]
    try:
        await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=config.stream, subjects=subjects,
                                         storage="file"))


async def consume(config: Config, stop: asyncio.Event | None = None,
                  on_feedback=None) -> Counters:
    """Consume until `stop` is set (or forever); returns what was done."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig

    stop = stop or asyncio.Event()
    counters = Counters()
    ingestor = Ingestor(config)
    nc = await nats.connect(config.nats_url, max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        await ensure_stream(js, config)
        sub = await js.pull_subscribe(
            f"{config.prefix}.reports.>", durable=config.durable, stream=config.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=config.ack_wait,
                                  max_ack_pending=1_000))
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                msgs = await sub.fetch(config.batch, timeout=0.5)
            except NatsTimeout:
                continue
            for m in msgs:
                seq = m.metadata.sequence.stream
                reply, body = await loop.run_in_executor(
                    None, ingestor.handle, m.subject, m.data, seq)
                await nc.publish(reply, json.dumps(body, default=str).encode())
                await m.ack()
                counters.messages += 1
                if body["error"] and body["batch_id"] is None and body["rows"] == 0:
                    counters.refused += 1
                elif body["duplicate"]:
                    counters.duplicates += 1
                else:
                    counters.ingested += 1
                    counters.reports += body["accepted"]
                if on_feedback:
                    on_feedback(reply, body)
            await nc.flush()
    finally:
        await nc.close()
        ingestor.close()
    return counters
