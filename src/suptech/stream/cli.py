"""`suptech stream` and `suptech replay`."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from suptech.cli_common import (
    DataDir, Engine, console, error, needs_concurrent, refuse_if_held)

out = console()
NatsUrl = Annotated[str, typer.Option("--nats", envvar="SUPTECH_NATS_URL",
                                      help="NATS server with JetStream.")]
Prefix = Annotated[str, typer.Option("--prefix", help="Subject prefix.")]


def stream(
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
    nats_url: NatsUrl = "nats://127.0.0.1:4222",
    prefix: Prefix = "suptech",
    database_url: Annotated[Optional[str], typer.Option(
        "--database-url", envvar="SUPTECH_DATABASE_URL")] = None,
    max_message_bytes: Annotated[int, typer.Option("--max-message-bytes", min=1)] = 1_000_000,
    ack_wait: Annotated[float, typer.Option(
        "--ack-wait", min=1, help="Seconds before an unacknowledged batch is redelivered.")] = 30,
    group: Annotated[int, typer.Option(
        "--group", min=1, help="Messages fetched and committed together at most.")] = 1024,
    detect: Annotated[bool, typer.Option(
        "--detect/--no-detect",
        help="Run the streaming market detectors, publishing alerts on <prefix>.alerts.<region>.")] = True,
    lateness: Annotated[float, typer.Option(
        "--lateness", min=0, help="Seconds of trading time a report may arrive behind a later "
                                  "one: at least what publishers gather into a message.")] = 5,
) -> None:
    """Consume report batches from JetStream, ingest them exactly once, answer feedback."""
    from suptech.store.writer import Writer, announced
    from suptech.stream.consumer import consume
    from suptech.stream.messages import Config

    needs_concurrent(engine, "suptech stream")
    config = Config(data_dir, nats_url, prefix, engine=engine, database_url=database_url,
                    max_message_bytes=max_message_bytes, ack_wait=ack_wait, batch=group,
                    detect=detect, lateness=lateness)

    async def main() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        out.print(f"consuming {prefix}.reports.> from {nats_url} into {data_dir} (Ctrl-C stops)")
        c = await consume(config, stop)
        out.print(f"{c.messages:,} messages: {c.ingested:,} batches ingested "
                  f"({c.reports:,} reports), {c.duplicates:,} already stored, "
                  f"{c.refused:,} refused; {c.alerts:,} alerts raised")

    refuse_if_held(data_dir)
    try:
        # Other processes are told who holds the store (the CLI cannot reach a consumer).
        with announced(data_dir, Writer(None, os.getpid(), "", "suptech stream")):
            asyncio.run(main())
    except OSError as e:  # nats-py raises these when no server answers
        error(f"cannot reach NATS at {nats_url}: {e}")
        raise typer.Exit(2) from None


def replay(
    directory: Annotated[Path, typer.Argument(help="Simulator output (or any report files).")],
    speed: Annotated[float, typer.Option(
        "--speed", min=0, help="Seconds of event time per second; 0: as fast as possible.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="arrow (Arrow IPC) or jsonl.")] = "arrow",
    slice_ms: Annotated[Optional[int], typer.Option(
        "--slice-ms", min=1, help="Event time per message (default: 1 s, or 0.2 s worth at "
                                  "the given speed).")] = None,
    nats_url: NatsUrl = "nats://127.0.0.1:4222",
    prefix: Prefix = "suptech",
) -> None:
    """Publish report files to the stream in event-time order, as venues would."""
    from suptech.stream.messages import Config
    from suptech.stream.replay import replay as run

    if fmt not in ("arrow", "jsonl"):
        raise typer.BadParameter(f"{fmt!r}: use arrow or jsonl", param_hint="--format")
    try:
        with out.status("publishing") as status:
            done = asyncio.run(run(directory, Config(Path("."), nats_url, prefix), speed, fmt,
                                   slice_ms,
                                   progress=lambda m, r: status.update(
                                       f"published {m:,} messages, {r:,} reports")))
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
    except OSError as e:
        error(f"cannot reach NATS at {nats_url}: {e}")
        raise typer.Exit(2) from None
    out.print(f"published {done.reports:,} reports in {done.messages:,} messages in "
              f"{done.seconds:.1f} s ({done.reports / max(done.seconds, 1e-9):,.0f} reports/s)")
