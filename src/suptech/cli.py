"""The `suptech` command line: one Typer app, thin over the services."""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from suptech.cli_common import DataDir, Engine, console, error, open_or_exit
from suptech.model.findings import spreadsheet_safe
from suptech.model.reports import REPORT_TYPES

app = typer.Typer(help="suptech: transaction reporting, market and payment supervision.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
out = console()
err = console(stderr=True)


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"
    table = "table"


class _LateProgress:
    """A progress bar that shows itself only once a file has taken over a second."""

    def __init__(self):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[stage]}"), TimeElapsedColumn(),
                            console=err, transient=True)
        self.task = None
        self.timer: threading.Timer | None = None
        self.started = False

    def _start(self) -> None:
        self.started = True
        self.bar.start()

    def __call__(self, path: Path, stage: str, done: int, total: int) -> None:
        if self.task is None or done == 0:
            self._finish()
            self.task = self.bar.add_task(path.name, total=total, stage=stage)
            self.timer = threading.Timer(1.0, self._start)
            self.timer.daemon = True
            self.timer.start()
        self.bar.update(self.task, completed=done, stage=stage)
        if stage == "done":
            self._finish()

    def _finish(self) -> None:
        if self.timer:
            self.timer.cancel()
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
        if self.started:
            self.bar.stop()
            self.started = False


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Report files (.csv, .parquet, .jsonl; .xml for ISO 20022 pacs.008 payments).")],
    type_: Annotated[Optional[str], typer.Option(
        "--type", help=f"Report type of every file: {', '.join(REPORT_TYPES)}. "
                       "Default: from each file name.")] = None,
    feedback: Annotated[Optional[Path], typer.Option(
        "--feedback", help="Write every feedback row of every file to this CSV.")] = None,
    submitter: Annotated[Optional[str], typer.Option(
        "--submitter", help="LEI that ISO 20022 payments are reported under when a message "
                            "names no LEI of its instructing or debtor agent.")] = None,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """Validate report files, store what is accepted, say what was rejected and why.

    Exit code 0 when every file was read (whatever it rejected), 2 when a file was
    unusable as a whole.
    """
    from suptech.ingest.pipeline import ingest_files

    store = open_or_exit(data_dir, engine)
    try:
        results = ingest_files(store, paths, type_, progress=_LateProgress(), submitter=submitter)
    finally:
        store.close()
    table = Table("file", "type", "rows", "accepted", "rejected", "warnings", "codes",
                  title="Ingest summary", title_justify="left")
    for r in results:
        s = r.summary
        if s.unusable:
            error(f"{s.file}: {s.error}")
            table.add_row(Path(s.file).name, s.report_type or "?", "-", "-", "-", "-", "[red]unusable[/red]")
            continue
        codes = ", ".join(f"{c}×{n}" for c, n in s.counts.items())
        if s.duplicate:
            codes = ("already ingested, nothing new stored; " + codes).rstrip("; ")
        table.add_row(Path(s.file).name, s.report_type, f"{s.rows:,}", f"{s.accepted:,}",
                      f"{s.rejected:,}", f"{s.warnings:,}", codes)
    out.print(table)
    if feedback is not None:
        frames = [r.feedback for r in results]
        spreadsheet_safe(pl.concat(frames)).write_csv(feedback)
        out.print(f"feedback: {sum(f.height for f in frames):,} rows written to {feedback}")
    if any(r.summary.unusable for r in results):
        raise typer.Exit(2)


def _parse_as_of(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1_000_000) * 1_000


@app.command()
def query(
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="Report type.")],
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="Show the reports as known at this time (ISO 8601; UTC if no "
                        "offset). Default: now.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown by --format table.")] = 50,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """The current view of a report type, or the view as known at a past time."""
    if type_name not in REPORT_TYPES:
        error(f"unknown report type {type_name!r} (known: {', '.join(REPORT_TYPES)})")
        raise typer.Exit(2)
    as_of_ns = _parse_as_of(as_of) if as_of else None
    if fmt is Format.parquet and out_file is None:
        error("--format parquet needs --out FILE")
        raise typer.Exit(2)
    store = open_or_exit(data_dir, engine)
    try:
        result = pl.from_arrow(store.query(type_name, as_of_ns))
    finally:
        store.close()
    assert isinstance(result, pl.DataFrame)
    result = result.drop("batch_id")
    if fmt is Format.parquet:
        result.write_parquet(out_file)
    elif fmt is Format.csv:
        if out_file:
            result.write_csv(out_file)
        else:
            sys.stdout.write(result.write_csv())
    else:
        table = Table(*result.columns, title=f"{type_name}: {result.height:,} reports"
                      + (f" as known at {as_of}" if as_of else ""), title_justify="left")
        for row in result.head(limit).iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        (Console(file=open(out_file, "w"), width=400) if out_file else out).print(table)
        if result.height > limit:
            out.print(f"… {result.height - limit:,} more; use --format csv or parquet for all")
    if out_file:
        out.print(f"{result.height:,} {type_name} reports written to {out_file}")


import_app = typer.Typer(help="Convert other formats to report files.", no_args_is_help=True)


@import_app.command("lobster")
def import_lobster(
    message_file: Annotated[Path, typer.Argument(help="A LOBSTER *_message_*.csv file.")],
    isin: Annotated[str, typer.Option("--isin", help="The instrument's ISIN.")],
    date_: Annotated[str, typer.Option("--date", help="Trading day, YYYY-MM-DD.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the report files.")],
    mic: Annotated[str, typer.Option("--mic")] = "XNAS",
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """LOBSTER (NASDAQ) message file to order_event and trade reports, ready to ingest."""
    from datetime import date

    from stdnum import isin as stdnum_isin

    from suptech.ingest.lobster import LobsterError, convert

    if not stdnum_isin.is_valid(isin):
        raise typer.BadParameter(f"{isin!r} is not a valid ISIN", param_hint="--isin")
    try:
        day = date.fromisoformat(date_)
    except ValueError:
        raise typer.BadParameter(f"{date_!r} is not a date YYYY-MM-DD", param_hint="--date")
    try:
        result = convert(message_file, isin, day, out_dir, mic=mic, fmt=fmt)
    except LobsterError as e:
        error(str(e))
        raise typer.Exit(2) from None
    out.print(f"{result.messages:,} messages: {result.order_events:,} order events and "
              f"{result.trades:,} trades in {len(result.files)} files under {out_dir}")


@import_app.command("binance-trades")
def import_binance(
    trades_csv: Annotated[Path, typer.Argument(help="A Binance public trades CSV "
                                                    "(symbol,timestamp,...,side,price,amount).")],
    isin: Annotated[str, typer.Option("--isin", help="An ISIN to file the pair under.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the report files.")],
    mic: Annotated[str, typer.Option("--mic", help="The venue (default XOFF: off-exchange, "
                                                   "trading around the clock in UTC).")] = "XOFF",
    region: Annotated[str, typer.Option("--region", help="Region of the anonymous traders "
                                                         "(ISO 3166-2).")] = "CN-SH",
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Binance trades (anonymous) to instrument, account, order_event and trade reports."""
    from stdnum import isin as stdnum_isin

    from suptech.ingest.binance import BinanceError, convert

    if not stdnum_isin.is_valid(isin):
        raise typer.BadParameter(f"{isin!r} is not a valid ISIN", param_hint="--isin")
    try:
        result = convert(trades_csv, isin, out_dir, mic=mic, region=region, fmt=fmt)
    except BinanceError as e:
        error(str(e))
        raise typer.Exit(2) from None
    out.print(f"{result.trades:,} trades: {result.order_events:,} order events (each side "
              f"its own order and account), quantities in units of 10^-{result.unit_decimals} "
              f"coin, in {len(result.files)} files under {out_dir}")


@import_app.command("amlworld")
def import_amlworld(
    trans_csv: Annotated[Path, typer.Argument(help="An AMLworld *_Trans*.csv file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the report files.")],
    patterns: Annotated[Optional[Path], typer.Option(
        "--patterns", help="AMLworld patterns (JSON): cases and labels.csv.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """IBM AMLworld transactions to payment reports; with --patterns, labels too."""
    from suptech.ingest.amlworld import AmlworldError, convert

    try:
        result = convert(trans_csv, out_dir, patterns, fmt=fmt)
    except AmlworldError as e:
        error(str(e))
        raise typer.Exit(2) from None
    out.print(f"{result.payments:,} payments ({result.laundering:,} laundering, "
              f"{result.cases} labelled cases) in {len(result.files)} files under {out_dir}")


def _register_subcommands() -> None:
    from suptech.detect import cli as detect
    from suptech.server import cli as server
    from suptech.simulate.cli import app as simulate

    app.add_typer(simulate, name="simulate")
    app.command()(detect.scan)
    app.command()(detect.evaluate)
    app.add_typer(detect.alerts_app, name="alerts")
    app.add_typer(detect.model_app, name="model")
    app.add_typer(import_app, name="import")
    app.command()(server.serve)
    from suptech.demo import demo
    from suptech.stream import cli as stream
    app.command()(demo)
    app.command()(stream.stream)
    app.command()(stream.replay)
    app.add_typer(server.users_app, name="users")
    app.add_typer(server.audit_app, name="audit")
    from suptech.federation.cli import app as federation
    app.add_typer(federation, name="federation")
    from suptech.risk.cli import risk_app
    app.add_typer(risk_app, name="risk")
    from suptech.reconcile import cli as reconcile
    app.command()(reconcile.reconcile)
    app.command()(reconcile.lifecycle)
    app.command("report-card")(reconcile.report_card)


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
