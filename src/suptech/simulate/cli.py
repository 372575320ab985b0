"""`suptech simulate market|payments|risk`: labelled data for demos, tests and scoring."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from suptech.cli_common import console

app = typer.Typer(help="Write labelled report files: a market or a payment network.",
                  no_args_is_help=True)
out = console()

Seed = Annotated[int, typer.Option("--seed", help="Same seed, same files.")]
Days = Annotated[int, typer.Option("--days", min=1, help="Trading (or calendar) days.")]
Out = Annotated[Path, typer.Option("--out", help="Directory for the files and labels.csv.")]
Start = Annotated[Optional[str], typer.Option("--start", help="First day, YYYY-MM-DD.")]
Fmt = Annotated[str, typer.Option("--format", help="parquet or csv.")]


def _start(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint="--start")


def _check_format(fmt: str, *extra: str) -> str:
    allowed = ("parquet", "csv", *extra)
    if fmt not in allowed:
        raise typer.BadParameter(f"{fmt!r}: use {', '.join(allowed)}", param_hint="--format")
    return fmt


def _summary(labels, files: list[Path], what: str) -> None:
    table = Table("typology", "cases", title=what, title_justify="left")
    for typology, n in sorted(Counter(x.typology for x in labels).items()):
        table.add_row(typology, str(n))
    out.print(table)
    out.print(f"{len(files)} files in {files[0].parent}")


@app.command()
def market(
    seed: Seed = 1, days: Days = 1, out_dir: Out = Path("./sim-market"),
    instruments: Annotated[Optional[int], typer.Option(
        "--instruments", min=1, help="Listed shares (default by scale).")] = None,
    scale: Annotated[str, typer.Option(
        "--scale",
        help="tiny (~25k order events a day), small (~100k), medium (~1M) or full (~10M).",
    )] = "small",
    accounts: Annotated[Optional[int], typer.Option("--accounts", min=10)] = None,
    cases: Annotated[Optional[int], typer.Option(
        "--cases", min=1,
        help="Injected cases per typology (default 1, 3, 5 or 10 a day by scale).")] = None,
    start: Start = None, fmt: Fmt = "parquet",
    market: Annotated[str, typer.Option(
        "--market", help="call (shares close with a call auction, as in Shanghai) or "
                         "continuous (they trade on to the close, and takers move the "
                         "price for good).")] = "call",
) -> None:
    """A market with order books, benign traders and injected, labelled abuse."""
    from suptech.simulate.market import MARKETS, SCALES
    from suptech.simulate.market_run import DEFAULT_START, simulate_market

    if scale not in SCALES:
        raise typer.BadParameter(f"{scale!r}: use {', '.join(SCALES)}", param_hint="--scale")
    if market not in MARKETS:
        raise typer.BadParameter(f"{market!r}: use {', '.join(MARKETS)}", param_hint="--market")
    first = _start(start, DEFAULT_START)
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("sessions"), TimeElapsedColumn(), console=out,
                  transient=True) as bar:
        task = bar.add_task("", total=None)
        result = simulate_market(out_dir, seed, days, instruments, scale, accounts,
                                 start=first, cases_per_typology=cases,
                                 fmt=_check_format(fmt), market=market,
                                 progress=lambda done, total: bar.update(task, completed=done,
                                                                         total=total))
    _summary(result.labels, result.files, "Injected market cases")
    out.print(f"{result.order_events:,} order events, {result.trades:,} trades")


@app.command()
def risk(
    seed: Seed = 1, days: Annotated[int, typer.Option(
        "--days", min=2, help="Trading days: the shares' history, then the month.")] = 44,
    out_dir: Out = Path("./sim-risk"),
    instruments: Annotated[int, typer.Option("--instruments", min=1)] = 60,
    month: Annotated[int, typer.Option(
        "--month", min=12, help="The last days, where the episodes fall.")] = 22,
    each: Annotated[int, typer.Option(
        "--each", min=0, help="Episodes of every kind (0: an ordinary market).")] = 2,
    trades: Annotated[float, typer.Option("--trades", min=3, help="Mean trades a share "
                                          "a day.")] = 40.0,
    start: Start = None, fmt: Fmt = "parquet",
) -> None:
    """A market of many shares at the daily grain the risk indicators read, with index
    levels and share capital, and labelled episodes of every risk typology."""
    from suptech.simulate.risk_run import DEFAULT_START, simulate_risk

    if month > days:
        raise typer.BadParameter(f"the month ({month} days) is longer than all the days "
                                 f"({days})", param_hint="--month")
    first = _start(start, DEFAULT_START)
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("days"), TimeElapsedColumn(), console=out,
                  transient=True) as bar:
        task = bar.add_task("", total=days)
        try:
            result = simulate_risk(out_dir, seed, instruments, days, month, trades,
                                   each=each, fmt=_check_format(fmt), start=first,
                                   progress=lambda done, total: bar.update(task, completed=done))
        except ValueError as e:  # no room for the episodes asked for
            raise typer.BadParameter(str(e), param_hint="--instruments") from None
    _summary(result.labels, result.files, "Injected risk episodes")
    out.print(f"{result.order_events:,} order events, {result.trades:,} trades")


@app.command()
def investor(
    seed: Seed = 1, out_dir: Out = Path("./sim-investor"),
    investors: Annotated[int, typer.Option("--investors", min=200)] = 2_000,
    days: Annotated[int, typer.Option("--days", min=6, help="Trading days of sales.")] = 40,
    each: Annotated[int, typer.Option("--each", min=0, help="Cases of every kind of "
                                      "mis-selling.")] = 3,
    start: Start = None, fmt: Fmt = "parquet",
) -> None:
    """Investors, their suitability assessments, products of five risk levels and their
    sales, with labelled mis-selling of every kind (docs/typologies/suitability.md)."""
    from suptech.simulate.investor import simulate_investors

    first = _start(start, date(2026, 3, 2))
    with out.status("simulating investors and sales"):
        result = simulate_investors(out_dir, seed, investors, days, each=each, start=first,
                                    fmt=_check_format(fmt))
    _summary(result.labels, result.files, "Injected mis-selling")
    out.print(f"{result.sales:,} sales")


@app.command()
def payments(
    seed: Seed = 1, days: Days = 3, out_dir: Out = Path("./sim-payments"),
    accounts: Annotated[int, typer.Option("--accounts", min=100,
                                          help="Accounts in the network.")] = 20_000,
    start: Start = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="parquet, csv, or xml (payments as ISO 20022 pacs.008 messages, "
                         "the register as CSV).")] = "parquet",
    truth: Annotated[bool, typer.Option(
        "--truth", help="Also write truth.parquet: the typology of every payment (null "
                        "when benign), for scores over transactions and model training. "
                        "It is not a report file: leave it out when ingesting.")] = False,
) -> None:
    """A payment network with background flows and injected, labelled laundering."""
    from suptech.simulate.payments_run import DEFAULT_START, simulate_payments

    with out.status("simulating payments"):
        result = simulate_payments(out_dir, seed, days, accounts, _start(start, DEFAULT_START),
                                   _check_format(fmt, "xml"), truth=truth)
    _summary(result.labels, result.files, "Injected laundering cases")
    out.print(f"{result.payments:,} payments, of which {result.laundering:,} laundering "
              f"({result.laundering / max(1, result.payments):.2%})")
