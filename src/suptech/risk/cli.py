"""`suptech risk ...`: the risk indicators by day, their levels and the rules in force."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from suptech.cli_common import DataDir, Engine, console, error, open_or_exit
from suptech.model.calendar import date_of, day_of

out = console()
risk_app = typer.Typer(help="Market-wide risk indicators: abnormal fluctuation, order "
                            "ratios, high-frequency trading, concentration, liquidity, "
                            "limit hits, exposure contagion; the daily risk report.",
                       no_args_is_help=True)

Rules = Annotated[Optional[Path], typer.Option(
    "--rules", help="A rules file replacing the shipped one whole (see `suptech risk "
                    "rules`); default: $SUPTECH_RISK_RULES, else the shipped rules.")]
Date = Annotated[Optional[str], typer.Option(
    "--date", help="The trading day (YYYY-MM-DD); default: the last day with trades.")]


def _use_rules(path: Path | None) -> Path:
    """The rules file this command uses (`path`, else the one in force), checked; or
    exit saying what is wrong with it. Passed on, never put in the environment: a
    command may run inside the server (`cli_remote`), whose other work it must leave
    alone."""
    from suptech.risk.rules import ENV, SHIPPED, RulesError, rules

    chosen = Path(path or os.environ.get(ENV) or SHIPPED)
    try:
        rules(chosen)
    except RulesError as e:
        error(str(e))
        raise typer.Exit(2) from None
    return chosen


def _day(store, text: str | None) -> int:
    """The local day (days since the epoch) named, or the store's last day of trades."""
    from suptech.risk.levels import last_day

    if text is not None:
        try:
            return day_of(dt.date.fromisoformat(text))
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD",
                                     param_hint="--date") from None
    day = last_day(store)
    if day is None:
        error("the store holds no trades: nothing to measure")
        raise typer.Exit(1)
    return day


def _iso(day: int) -> str:
    return date_of(day).isoformat()


@risk_app.command("scan")
def scan(date: Date = None, rules: Rules = None, data_dir: DataDir = Path("./suptech-data"),
         engine: Engine = "duckdb") -> None:
    """Run every risk indicator over a trading day and store the new alerts."""
    from suptech.detect.scan import scan as run_scan
    from suptech.risk.levels import day_range, indicators

    chosen = _use_rules(rules)
    store = open_or_exit(data_dir, engine)
    try:
        day = _day(store, date)
        with out.status(f"measuring {_iso(day)}"):
            result = run_scan(store, indicators(chosen), *day_range(day, day))
    finally:
        store.close()
    table = Table("typology", "new alerts", title=f"Risk on {_iso(day)}", title_justify="left")
    for typology, n in sorted(result.new.group_by("typology").len().iter_rows()):
        table.add_row(typology, str(n))
    out.print(table)
    out.print(f"{result.found} alerts on the day, {result.new.height} new")


@risk_app.command("levels")
def levels(date: Date = None, rules: Rules = None,
           top: Annotated[int, typer.Option("--top", help="Rows to show.")] = 30,
           data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb") -> None:
    """Each indicator's levels on a day, highest first (1 is the rule's line)."""
    from suptech.risk.levels import indicators
    from suptech.risk.levels import levels as measure

    chosen = _use_rules(rules)
    store = open_or_exit(data_dir, engine)
    try:
        day = _day(store, date)
        with out.status(f"measuring {_iso(day)}"):
            found = measure(store, day, day, indicators(chosen))
    finally:
        store.close()
    table = Table("indicator", "subject", "isin", "value", "level",
                  title=f"Risk levels on {_iso(day)}", title_justify="left")
    for r in found.head(top).iter_rows(named=True):
        style = "bold red" if r["level"] is not None and round(r["level"], 9) >= 1 else None
        table.add_row(r["indicator"], r["subject"], r["isin"] or "",
                      f"{r['value']:.4g}" if r["value"] is not None else "",
                      f"{r['level']:.2f}" if r["level"] is not None else "", style=style)
    out.print(table)
    out.print(f"{found.height} measures, {(found['level'].round(9) >= 1).sum()} at a line")


@risk_app.command("report")
def report(out_file: Annotated[Path, typer.Option("--out", help="The PDF to write.")],
           date: Date = None, rules: Rules = None,
           language: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
           png: Annotated[Optional[Path], typer.Option(
               "--png", help="Also write each page as page-N.png in this folder.")] = None,
           data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb") -> None:
    """The day's risk report as PDF: the indicators' counts, the heat map of shares, the
    institutions' exposure contagion, the indices, every measure at its line."""
    from suptech.risk.report import ReportError, daily_report

    if language not in ("en", "zh"):
        raise typer.BadParameter(f"{language!r}: the report is in en or zh",
                                 param_hint="--lang")
    chosen = _use_rules(rules)
    store = open_or_exit(data_dir, engine)
    try:
        day = _day(store, date)
        with out.status(f"reporting {_iso(day)}"):
            made = daily_report(store, dt.date.fromisoformat(_iso(day)), out_file, language,
                                chosen, png, source=str(data_dir))
    except ReportError as e:
        error(str(e))
        raise typer.Exit(1) from None
    finally:
        store.close()
    out.print(f"{made.pdf}: {made.pages} pages, {made.measures} measures, "
              f"{made.at_line} at or past a line")
    for p in made.pngs:
        out.print(f"  {p}")


@risk_app.command("rules")
def show_rules(rules: Rules = None) -> None:
    """Print the rules in force, and where they come from."""
    path = _use_rules(rules)
    out.print(f"# {path}")
    out.print(path.read_text(encoding="utf-8"), markup=False, highlight=False)
