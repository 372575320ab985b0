"""`suptech demo`: a small market day and a payment network, ingested, scanned and served.

What it builds, in a fresh data directory:
- one simulated trading day (small scale) and one day of a 20,000-account payment
  network, each with labelled cases of every typology;
- a month and a half of a small market at the daily grain after that day (22 shares,
  banks' exposures, the new-technology register, innovation pilots), with an episode
  of every risk typology, scanned by the risk indicators: the risk pages' and the
  daily risk report's data;
- investors, their suitability assessments and their purchases of products of five
  risk levels over two weeks, with a case of every kind of mis-selling;
- one payment file from a careless bank, with a few hundred bad records, so that the
  data-quality view has something to show; the market day as its institutions sent it,
  with reporting breaks of every kind, reconciled;
- every detector's alerts;
- demo users: an analyst in each region (CN-SH, CN-JS, CN-ZJ, CN-AH) and two
  supervisors (CN-SH), so that four-eyes closing can be tried; their tokens are printed, and kept in `demo-users.txt`. They are
  regional supervisors' staff: their dashboard is in Chinese (English a click away).
Then it serves the dashboard, or with `--no-serve` prints a summary and exits.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from suptech.cli_common import console, error

out = console()
MARKER = ".suptech-demo"
#: The simulators' first day: the market's and the payments' day.
MARKET_DAY = dt.date(2026, 3, 2)
#: The risk data's first day: the Monday after the market day.
RISK_START = dt.date(2026, 3, 9)
USERS = {"analyst.sh": ("analyst", "CN-SH"), "supervisor.sh": ("supervisor", "CN-SH"),
         "supervisor2.sh": ("supervisor", "CN-SH"), "analyst.js": ("analyst", "CN-JS"),
         "analyst.zj": ("analyst", "CN-ZJ"), "analyst.ah": ("analyst", "CN-AH")}


def careless_bank(source: Path, out_dir: Path) -> Path:
    """A copy of some simulated payments with errors a real bank makes, one in twenty."""
    frame = pl.read_parquet(source).head(6_000)
    k = pl.int_range(pl.len())
    frame = frame.with_columns(
        report_id=pl.format("BAD{}", k),
        currency=pl.when(k % 40 == 0).then(pl.lit("RMB")).otherwise(pl.col("currency")),
        debtor_country=pl.when(k % 40 == 20).then(pl.lit("ZZ")).otherwise(pl.col("debtor_country")),
        amount=pl.when(k % 60 == 5).then(pl.lit(None)).otherwise(pl.col("amount")))
    path = out_dir / "payment-careless-bank.parquet"
    frame.write_parquet(path)
    return path


def build(root: Path, progress) -> dict:
    from suptech.detect.scan import scan
    from suptech.ingest.pipeline import ingest_file, ingest_files
    from suptech.ops import access
    from suptech.ops.db import connect
    from suptech.simulate.market_run import simulate_market
    from suptech.model.calendar import DAY, DEFAULT, SECOND, add_trading_days, day_of
    from suptech.reconcile.run import record
    from suptech.simulate.breaks import inject_breaks
    from suptech.risk.levels import indicators
    from suptech.simulate.payments_run import simulate_payments
    from suptech.simulate.investor import simulate_investors
    from suptech.simulate.risk_run import one_file_a_type, simulate_risk
    from suptech.store.database import open_store

    progress("simulating a trading day")
    market = simulate_market(root / "sim-market", seed=2026, days=1, scale="small",
                             cases_per_typology=2, start=MARKET_DAY)
    progress("simulating a payment network")
    pay = simulate_payments(root / "sim-payments", seed=2026, days=1, accounts=20_000,
                            cases_per_typology=2, start=MARKET_DAY)
    progress("simulating a month of risk data")
    risk = simulate_risk(root / "sim-risk", seed=2027, instruments=22, days=34, month=12,
                         trades=20, each=1, start=RISK_START)
    progress("simulating investors and their purchases")
    sales = simulate_investors(root / "sim-investor", seed=2028, investors=600, days=10,
                               sales_a_day=30, each=1, start=RISK_START)
    # The market day's reports as its institutions sent them, with breaks of every kind:
    # reconciliation's and the data-quality page's.
    sent = inject_breaks(market.files, root / "sim-market-sent", seed=2026, each=2)
    # The banks send the day's payments before the next morning's deadline.
    payments = [p for p in pay.files if p.suffix == ".parquet"] + [careless_bank(
        next(p for p in pay.files if p.name.startswith("payment-")), root / "sim-payments")]
    morning = DEFAULT.day_start(day_of(add_trading_days(None, MARKET_DAY, 1))) \
        + 7 * 3600 * SECOND
    files = [p for p in sales.files if p.suffix == ".parquet"]
    files += one_file_a_type(risk.files, root / "sim-risk")
    progress("ingesting")
    store = open_store(root / "data")
    try:
        results = [ingest_file(store, p, now_ns=at) for p, at in sent.schedule]
        results += ingest_files(store, payments, now_ns=morning)
        results += ingest_files(store, files)
        progress("scanning with every detector")
        scanned = scan(store)
        progress("measuring the risk indicators")
        first = min(x.window_start_ns for x in risk.labels)
        measured = scan(store, indicators(), first - 20 * DAY,
                        max(x.window_end_ns for x in risk.labels) + DAY)
        progress("reconciling the market day")
        day = DEFAULT.day_start(day_of(MARKET_DAY))
        record(store, day, day + 2 * DAY)  # and the next, when the payments came in
    finally:
        store.close()
    progress("adding demo users")
    ops = connect(root / "data")
    with ops.begin() as con:
        tokens = {u: access.add_user(con, "demo", u, role, region, language="zh")
                  for u, (role, region) in USERS.items()}
    ops.dispose()
    return {"results": results, "alerts": pl.concat([scanned.new, measured.new]),
            "tokens": tokens,
            "events": market.order_events, "payments": pay.payments}


def demo(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Made anew for the demo.")] = Path(
        "./suptech-demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard "
                                        "afterwards (default), or print a summary and exit.")] = True,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Simulate, ingest and scan a small market and payment network, then serve it."""
    import shutil

    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            error(f"{data_dir} is not empty and not a demo directory: choose another --data-dir")
            raise typer.Exit(2)
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by suptech demo; removed by the next one\n")
    started = time.perf_counter()
    with out.status("") as status:
        built = build(data_dir, lambda what: status.update(what))
    seconds = time.perf_counter() - started
    table = Table("type", "files", "rows", "accepted", "rejected", title="Ingested",
                  title_justify="left")
    by_type: dict[str, list[int]] = {}
    for r in built["results"]:  # the daily files of a type on one line
        s = r.summary
        sums = by_type.setdefault(s.report_type or "?", [0, 0, 0, 0])
        for k, v in enumerate((1, s.rows, s.accepted, s.rejected)):
            sums[k] += v
    for kind, (files, rows, accepted, rejected) in by_type.items():
        table.add_row(kind, str(files), f"{rows:,}", f"{accepted:,}", f"{rejected:,}")
    out.print(table)
    counts = built["alerts"].group_by("typology").len().sort("typology")
    alerts = Table("typology", "alerts", title=f"{built['alerts'].height} alerts",
                   title_justify="left")
    for typology, n in counts.iter_rows():
        alerts.add_row(typology, str(n))
    out.print(alerts)
    lines = [f"{u}\t{USERS[u][0]}\t{USERS[u][1]}\t{t}" for u, t in built["tokens"].items()]
    (data_dir / "demo-users.txt").write_text("user\trole\tjurisdiction\ttoken\n"
                                             + "\n".join(lines) + "\n")
    out.print(f"built in {seconds:.0f} s: {built['events']:,} order events, "
              f"{built['payments']:,} payments, in {data_dir}")
    out.print("log in with one of these tokens (also in "
              f"{data_dir / 'demo-users.txt'}):")
    for line in lines:
        print("  " + line.replace("\t", "  "))
    if not serve:
        return
    import uvicorn

    from suptech.server.app import create_app

    out.print(f"[bold]dashboard: http://{host}:{port}/ui[/bold]  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(create_app(data_dir / "data"), host=host, port=port, log_level="warning")
