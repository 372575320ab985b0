"""`suptech reconcile`: a range's reports paired, matched and checked for time; the breaks
by kind and each institution's pairing, the break list, and each submitter's feedback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from suptech.cli_common import DataDir, Engine, console, error, open_or_exit
from suptech.model.calendar import DAY, DEFAULT, date_of, day_of

out = console()
SHOWN = 20  # institutions in the printed table; the rest are in the files


def _start(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        return DEFAULT.day_start(day_of(dt.date.fromisoformat(text)))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD",
                                 param_hint=name) from None


def reconcile(
    date_from: Annotated[Optional[str], typer.Option(
        "--from", help="The first trading day (YYYY-MM-DD) of the events; default: all.")] = None,
    date_to: Annotated[Optional[str], typer.Option(
        "--to", help="The last trading day, included; default: --from, or all.")] = None,
    rules: Annotated[Optional[Path], typer.Option(
        "--rules", help="Tolerances and deadlines replacing the shipped file whole; "
                        "default: $SUPTECH_RECONCILE_RULES, else the shipped.")] = None,
    breaks_out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the break list here (.csv or .parquet).")] = None,
    feedback: Annotated[Optional[Path], typer.Option(
        "--feedback", help="Write each submitter's breaks, those that name it as venue or "
                           "member, to DIR/<LEI>.csv.")] = None,
    new: Annotated[bool, typer.Option(
        "--new", help="Only the days that reports received since the last reconciliation "
                      "fall on (they pair against what the store holds).")] = False,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """Pair the venues' trades with the members' fills, match them field by field, follow
    routes, flag reports received after their deadline (breaks R001-R008), and keep the
    breaks and each institution's data-quality indicators for the dashboard."""
    from suptech.reconcile.rules import RulesError
    from suptech.reconcile.rules import rules as rules_in_force
    from suptech.reconcile.run import new_days, record

    try:
        settings = rules_in_force(rules)
    except RulesError as e:
        error(str(e))
        raise typer.Exit(2) from None
    start = _start(date_from, "--from")
    last = _start(date_to or date_from, "--to")
    end = None if last is None else last + DAY
    if new and (start is not None or end is not None):
        raise typer.BadParameter("--new chooses the days itself", param_hint="--new")
    store = open_or_exit(data_dir, engine)
    try:
        spans = [(start, end)]
        if new:
            days = new_days(store, settings)
            if not days:
                out.print("nothing received since the last reconciliation")
                return
            out.print("reconciling " + ", ".join(
                f"{date_of(a)}" + (f" to {date_of(b)}" if b > a else "") for a, b in days))
            spans = [(DEFAULT.day_start(a), DEFAULT.day_start(b) + DAY) for a, b in days]
        found = None
        for a, b in spans:
            with out.status("pairing and matching"):
                got, _ = record(store, a, b, settings)
            found = got if found is None else _joined(found, got)
    finally:
        store.close()
    _print(found)
    if breaks_out is not None:
        _write(found.breaks, breaks_out)
        out.print(f"{found.breaks.height:,} breaks written to {breaks_out}")
    if feedback is not None:
        feedback.mkdir(parents=True, exist_ok=True)
        b = found.breaks
        names = sorted(set(b["venue"].drop_nulls()) | set(b["member"].drop_nulls()))
        for lei in names:
            _write(b.filter((b["venue"] == lei) | (b["member"] == lei)), feedback / f"{lei}.csv")
        out.print(f"feedback for {len(names)} submitters in {feedback}")


def _print(found) -> None:
    import polars as pl

    kinds = found.breaks.group_by("code", "kind").len().sort("code")
    table = Table("code", "break", "count", title="Breaks", title_justify="left")
    for code, kind, n in kinds.iter_rows():
        table.add_row(code, kind, f"{n:,}")
    if not kinds.height:
        table.add_row("", "none", "0")
    out.print(table)
    p = found.pairing.group_by("institution", "role").agg(
        pl.col("owed", "reported", "paired", "matched").sum()).with_columns(
        paired=pl.col("paired") / pl.col("owed").clip(lower_bound=1),
        matched=pl.col("matched") / pl.col("paired").clip(lower_bound=1))
    shown = p.sort(["paired", "matched", "institution"]).head(SHOWN)
    table = Table("institution", "role", "executions", "reported", "paired", "matched",
                  title=f"Pairing and matching, the {shown.height} lowest of {p.height}",
                  title_justify="left")
    for r in shown.iter_rows(named=True):
        table.add_row(r["institution"] or "?", r["role"], f"{r['owed']:,}", f"{r['reported']:,}",
                      f"{100 * r['paired']:.2f} %", f"{100 * r['matched']:.2f} %")
    out.print(table)


def _joined(a, b):
    import polars as pl

    from suptech.reconcile.run import Reconciliation

    return Reconciliation(pl.concat([a.breaks, b.breaks]), pl.concat([a.pairing, b.pairing]))


def _write(frame, path: Path) -> None:
    try:
        if path.suffix == ".parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
    except OSError as e:
        error(f"cannot write {path}: {e.strerror}")
        raise typer.Exit(1) from None


def lifecycle(
    order_id: Annotated[str, typer.Argument(metavar="ORDER_ID", help="An order's id.")],
    png: Annotated[Optional[Path], typer.Option(
        "--png", help="Draw the life, a lane per firm and venue, to this PNG file.")] = None,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """An order's whole life: the orders its routes link it to, from the client's firm to
    the execution, their events and the trades."""
    from suptech.model.display import local_times
    from suptech.reconcile.lifecycle import draw, life

    store = open_or_exit(data_dir, engine)
    try:
        found = life(store, order_id)
    finally:
        store.close()
    if found is None:
        error(f"no order {order_id} in the store")
        raise typer.Exit(1)
    day = local_times(found.events["ts_event"][:1])[0][:10]
    table = Table("time", "order", "event", "firm", "account", "what", "leaves",
                  "routed to / trade", title=f"The life of {order_id} on {day}: "
                  f"{' -> '.join(found.orders)}", title_justify="left")
    times = local_times(found.events["ts_event"])
    for when, r in zip(times, found.events.iter_rows(named=True)):
        price = r["fill_price"] or r["price"]
        what = f"{r['side']} {r['fill_quantity'] or r['quantity']}" + (
            f" @ {_num(price)}" if price is not None else "")
        other = f"{r['routed_to']} as {r['routed_order_id']}" if r["routed_to"] \
            else (r["trade_id"] or "")
        table.add_row(when[11:], r["order_id"], r["event_type"], r["member_lei"],
                      r["account_id"], what, str(r["leaves_quantity"]), other)
    out.print(table)
    trades = Table("time", "trade", "venue", "qty @ price", "buy order", "sell order",
                   title="Trades", title_justify="left")
    for when, r in zip(local_times(found.trades["ts_event"]), found.trades.iter_rows(named=True)):
        trades.add_row(when[11:], r["trade_id"], r["mic"],
                       f"{r['quantity']} @ {_num(r['price'])}", r["buy_order_id"],
                       r["sell_order_id"])
    out.print(trades)
    if png is not None:
        draw(found, png, f"The life of {order_id}")
        out.print(f"drawn to {png}")


def _num(d) -> str:
    return format(d.normalize(), "f")


def report_card(
    lei: Annotated[str, typer.Argument(metavar="LEI", help="The reporting institution.")],
    month: Annotated[Optional[str], typer.Option(
        "--month", help="YYYY-MM; default: the month of the latest day reconciled.")] = None,
    pdf_out: Annotated[Path, typer.Option("--out", help="The PDF to write.")] = Path(
        "report-card.pdf"),
    png: Annotated[Optional[Path], typer.Option(
        "--png", help="Also each page as a PNG in this folder.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """An institution's monthly data-quality report card, from what `suptech reconcile`
    kept: its indicators beside the market's, the days' trend, its breaks."""
    from suptech.pdf import ReportError
    from suptech.reconcile.card import report_card as make
    from suptech.reconcile.quality_view import month_of

    store = open_or_exit(data_dir, engine)
    try:
        m = month_of(store, month)
        if m is None:
            error(f"{month!r} is not a month YYYY-MM" if month else
                  "nothing reconciled yet: run `suptech reconcile` first")
            raise typer.Exit(1)
        try:
            pages, pngs = make(m, lei, pdf_out, lang, png=png)
        except (ReportError, OSError) as e:
            error(str(e))
            raise typer.Exit(1) from None
    finally:
        store.close()
    out.print(f"{pdf_out}: {pages} pages" + (f", {len(pngs)} PNG in {png}" if png else ""))
