"""`suptech replay DIR --speed X`: publish report files to the stream, as venues would.

Reference data (instruments, parties, accounts) goes first, whole. Events (order
events, trades, payments, ...) follow in time order, in slices of `slice_ms` of event
time (by default a second, or a fifth of a second's worth at speed X), one message per
report type and submitter in each slice (at most `max_rows` rows a message), paced so
that X seconds of event time pass per second (0: as fast as the server takes them).
Messages are Arrow IPC streams, or JSON Lines with `--format jsonl`.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import polars as pl
import pyarrow as pa

from suptech.model.reports import REPORT_TYPES
from suptech.stream.consumer import ensure_stream
from suptech.stream.messages import Config

REFERENCE = ("instrument", "party", "account")


@dataclass
class Replayed:
    messages: int
    reports: int
    seconds: float


def encode(frame: pl.DataFrame, fmt: str) -> bytes:
    if fmt == "jsonl":
        return frame.write_ndjson().encode()
    table = frame.to_arrow()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def encoded(rows: pl.DataFrame, fmt: str, limit: int):
    """`rows` as messages of at most `limit` bytes (the server's and the consumer's
    limit), halving a batch until it fits."""
    data = encode(rows, fmt)
    if len(data) <= limit or rows.height <= 1:
        yield data
        return
    half = rows.height // 2
    yield from encoded(rows.slice(0, half), fmt, limit)
    yield from encoded(rows.slice(half), fmt, limit)


def load(directory: Path) -> dict[str, pl.DataFrame]:
    """Every report file of a directory (Parquet, as the simulators write), by type."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for path in sorted(directory.glob("*.parquet")):
        for name in sorted(REPORT_TYPES, key=len, reverse=True):
            if path.name.startswith(name):
                frames.setdefault(name, []).append(pl.read_parquet(path))
                break
    return {k: pl.concat(v, how="diagonal_relaxed") for k, v in frames.items()}


def messages(frames: dict[str, pl.DataFrame], slice_ms: int, max_rows: int):
    """(report type, submitter, rows, event time of the slice or None) in publishing order."""
    for name in REFERENCE:
        if name in frames:
            for (lei,), group in frames[name].group_by("submitter", maintain_order=True):
                for start in range(0, group.height, max_rows):
                    yield name, lei, group.slice(start, max_rows), None
    width = slice_ms * 1_000_000
    groups = []  # (slice, report type, submitter, first row, end row)
    ordered = {}
    for name, f in frames.items():
        if name in REFERENCE:
            continue
        # Each type sorted once by slice and submitter (stable: file order within), so
        # that every message is a zero-copy slice of it.
        f = f.with_columns((pl.col("ts_event") // width).alias("__slice")).sort(
            ["__slice", "submitter"], maintain_order=True)
        new = (f["__slice"] != f["__slice"].shift()) | (f["submitter"] != f["submitter"].shift())
        starts = new.fill_null(True).arg_true().to_list()
        ends = starts[1:] + [f.height]
        for start, end, slot, lei in zip(starts, ends, f["__slice"].gather(starts).to_list(),
                                         f["submitter"].gather(starts).to_list()):
            groups.append((slot, name, lei, start, end))
        ordered[name] = f.drop("__slice")
    groups.sort()
    for slot, name, lei, start, end in groups:
        for first in range(start, end, max_rows):
            yield name, lei, ordered[name].slice(first, min(max_rows, end - first)), slot * width


#: A message as published: report type, submitter, slice time (None: reference data),
#: the encoded batches (one, unless over the size limit) and how many reports.
Prepared = tuple[str, str, "int | None", list[bytes], int]


def prepare(frames: dict[str, pl.DataFrame], slice_ms: int, fmt: str = "arrow",
            max_rows: int = 5_000, limit: int = 1_000_000) -> Iterator[Prepared]:
    """The messages of `messages`, encoded, at most `limit` bytes each."""
    for name, lei, rows, at in messages(frames, slice_ms, max_rows):
        yield name, lei, at, list(encoded(rows, fmt, limit)), rows.height


def default_slice_ms(speed: float) -> int:
    """A second of event time, or what passes in a fifth of a second at `speed`: a venue
    publishes five times a second at most, so a fast replay sends fewer, larger messages."""
    return max(1_000, int(speed * 200))


async def replay(directory: Path, config: Config, speed: float = 0.0, fmt: str = "arrow",
                 slice_ms: int | None = None, max_rows: int = 5_000, progress=None,
                 frames: dict[str, pl.DataFrame] | None = None,
                 on_ack=None, prepared: Iterable[Prepared] | None = None) -> Replayed:
    """`frames`: the files already loaded (`load`); `prepared`: the messages already
    encoded (`prepare`: a benchmark's venue, whose encoding is not the platform's
    work); `on_ack(seq, sent_ns)` is told, for each message JetStream stored, its
    sequence number and when it was sent."""
    import nats

    slice_ms = slice_ms or default_slice_ms(speed)
    if prepared is None:
        frames = load(directory) if frames is None else frames
        if not frames:
            raise ValueError(f"no report files (*.parquet named by report type) in {directory}")

    async def publish(subject: str, data: bytes) -> None:
        sent = time.time_ns()
        ack = await js.publish(subject, data)
        if on_ack:
            on_ack(ack.seq, sent)
    nc = await nats.connect(config.nats_url)
    js = nc.jetstream()
    await ensure_stream(js, config)
    started, first, sent, reports = time.monotonic(), None, 0, 0
    pending: list = []
    previous = None
    if prepared is None:
        prepared = prepare(frames, slice_ms, fmt, max_rows,
                           min(nc.max_payload, config.max_message_bytes))
    try:
        for name, lei, at, batches, n in prepared:
            # Publishes run concurrently, so JetStream may store them in any order; a
            # new report type or slice waits for the ones before, so that a trade is
            # never stored before the orders it names.
            if (name, at) != previous and pending:
                await asyncio.gather(*pending)
                pending.clear()
            previous = (name, at)
            if at is not None and speed > 0:
                first = at if first is None else first
                wait = started + (at - first) / 1e9 / speed - time.monotonic()
                if wait > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(wait)
            for data in batches:
                pending.append(publish(f"{config.prefix}.reports.{name}.{lei}", data))
                sent += 1
            reports += n
            if len(pending) >= 256:  # acknowledged by JetStream before going further
                await asyncio.gather(*pending)
                pending.clear()
                if progress:
                    progress(sent, reports)
        await asyncio.gather(*pending)
    finally:
        await nc.close()
    return Replayed(sent, reports, time.monotonic() - started)
