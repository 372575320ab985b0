"""What travels through the consumer: a message as fetched, as taken for storage, and as
held in a submission; its subject's parts; the config of a consumer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
    #: The store's engine (a name or `suptech.store.engines.Engine` class): one with
    #: concurrent connections, as commits and alerts are stored beside validation.
    engine: object = "duckdb"
    max_message_bytes: int = MAX_MESSAGE_BYTES
    batch: int = 1024  # messages fetched, and committed, at a time
    #: Seconds before JetStream redelivers a message nobody acknowledged (a consumer
    #: killed mid-batch): the recovery time after a crash.
    ack_wait: float = 30
    #: Run the streaming market detectors on each committed batch, publishing alerts on
    #: `<prefix>.alerts.<region>`.
    detect: bool = True
    #: Seconds of event time a report may arrive behind a later one: at least what a
    #: publisher gathers into one message (see `suptech.detect.window.LATENESS`).
    lateness: float = 5
    #: A fetch's messages of one report type are committed in parts of about this many
    #: bytes: a burst (the close's expiries, ten times a usual slice) reaches the
    #: detectors part by part while the rest is validated, not all at once at the end.
    commit_bytes: int = 8_000_000

    @property
    def stream(self) -> str:
        """One JetStream stream per prefix (SUPTECH_REPORTS for the default)."""
        return f"{self.prefix}_reports".upper().replace(".", "_").replace("-", "_")


class Message(NamedTuple):
    """A report batch as fetched from the stream."""

    subject: str
    data: bytes
    seq: int  # its stream sequence number


class Taken(NamedTuple):
    """A message whose subject and sender were accepted, to be validated."""

    subject: str
    data: bytes
    seq: int
    lei: str  # the sender the subject names
    name: str  # a file name whose suffix says the format (`file_name`)


class Held(NamedTuple):
    """A message decoded into a group's rows: which rows of the submission are its."""

    subject: str
    seq: int
    reply: str  # the feedback subject of its sender
    lei: str
    first: int  # its first and last row, numbered through the group
    last: int


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


def commit_parts(group: list[Taken], size: int) -> list[list[Taken]]:
    """A group's messages in runs of about `size` bytes, in order."""
    out, bytes_ = [[]], 0
    for message in group:
        if out[-1] and bytes_ + len(message.data) > size:
            out.append([])
            bytes_ = 0
        out[-1].append(message)
        bytes_ += len(message.data)
    return out
