"""`suptech scan`, `suptech alerts ...` and `suptech evaluate`."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table

from suptech.cli_common import DataDir, Engine, console, error, open_or_exit
from suptech.model import display
from suptech.model.findings import spreadsheet_safe

out = console()
alerts_app = typer.Typer(help="Look at, export and explain alerts.", no_args_is_help=True)
model_app = typer.Typer(help="Train and list the learned payment models.", no_args_is_help=True)


def _moment(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        m = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 date or time",
                                 param_hint=option) from None
    if m.tzinfo is None:
        m = m.replace(tzinfo=timezone.utc)
    return int(m.timestamp() * 1_000_000) * 1000


def _iso(ns_column: str) -> pl.Expr:
    return display.local_text(pl.col(ns_column), offset=True)


def scan(
    detectors: Annotated[Optional[str], typer.Option(
        "--detectors", help="Comma-separated detector ids (default: every rule, and the "
                            "learned model when it was fitted on your own labels or "
                            "decisions).")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Start (ISO 8601).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="End, exclusive (ISO 8601).")] = None,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """Run the detectors over new data (or --from/--to) and store the new alerts."""
    from suptech.detect.base import REGISTRY
    from suptech.detect.payments.model import ModelError
    from suptech.detect.scan import scan as run_scan

    try:
        chosen = [REGISTRY.get(d.strip())() for d in detectors.split(",")] if detectors else None
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--detectors") from None
    start, end = _moment(from_, "--from"), _moment(to, "--to")
    store = open_or_exit(data_dir, engine)
    try:
        with out.status("scanning"):
            result = run_scan(store, chosen, start, end)
    except ModelError as e:
        error(f"the learned detector (gbm) cannot run: {e}")
        raise typer.Exit(2) from None
    finally:
        store.close()
    if result.range_start is None:
        out.print("nothing new since the last scan")
        return
    table = Table("typology", "new alerts", title=f"Scan {result.scan_id}", title_justify="left")
    for typology, n in sorted(result.new.group_by("typology").len().iter_rows()):
        table.add_row(typology, str(n))
    out.print(table)
    out.print(f"{result.found} alerts in the range, {result.new.height} new")


@alerts_app.command("list")
def list_alerts(data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb",
                limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    """The stored alerts, newest window first."""
    store = open_or_exit(data_dir, engine)
    try:
        alerts = store.alerts()
    finally:
        store.close()
    table = Table("alert_id", "typology", "score", "accounts", "isin", "window start")
    for r in alerts.sort("window_start", descending=True).head(limit).with_columns(
            _iso("window_start").alias("start")).iter_rows(named=True):
        table.add_row(r["alert_id"], r["typology"], f"{r['score']:.2f}", r["account_ids"],
                      r["isin"] or "", r["start"])
    out.print(table)
    out.print(f"{alerts.height} alerts in all")


@alerts_app.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out_file: Annotated[Path, typer.Option("--out", help="File to write.")] = Path("alerts.csv"),
    data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb",
) -> None:
    """Every stored alert in EVALUATION.md's export format."""
    if format_ not in ("csv", "parquet"):
        raise typer.BadParameter(f"{format_!r}: use csv or parquet", param_hint="--format")
    store = open_or_exit(data_dir, engine)
    try:
        alerts = store.alerts()
    finally:
        store.close()
    if format_ == "csv":
        spreadsheet_safe(alerts).with_columns(_iso("window_start").alias("window_start"),
                            _iso("window_end").alias("window_end")).write_csv(out_file)
    else:
        alerts.write_parquet(out_file)
    out.print(f"{alerts.height} alerts written to {out_file}")


@alerts_app.command("show")
def show(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (AL-...).")],
    picture: Annotated[Optional[Path], typer.Option(
        "--picture", help="Where to write its evidence picture, the dashboard's own, as a "
                          "page any browser opens offline (default: <alert id>.html).")] = None,
    language: Annotated[str, typer.Option(
        "--language", help="The picture's language: en or zh.")] = "en",
    data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb",
) -> None:
    """The orders and trades (or payments) behind an alert, and a picture of them."""
    import suptech.detect.run  # noqa: F401  (registers the built-in detectors)
    from suptech.detect.base import REGISTRY
    from suptech.detect.evidence import PICTURED, evidence, payment_evidence, ticks
    from suptech.i18n import LANGUAGES, words
    from suptech.server import charts
    from suptech.server.scope import flow_accounts

    if language not in LANGUAGES:
        error(f"unknown language {language!r} (languages: {', '.join(LANGUAGES)})")
        raise typer.Exit(2)
    w = words(language)
    store = open_or_exit(data_dir, engine)
    try:
        alerts = store.alerts().filter(pl.col("alert_id") == alert_id)
        if alerts.is_empty():
            error(f"no alert {alert_id!r} in {data_dir}")
            raise typer.Exit(2)
        alert = alerts.row(0, named=True)
        payments = REGISTRY.get(alert["detector"]).domain == "payments"
        ev = payment_evidence(store, alert) if payments else evidence(store, alert)
        tick = {} if payments else ticks(store, alert["isin"])
        # The dashboard's picture: the same figure, drawn by the same code.
        figure = charts.money_flow(ev, alert, w, flow_accounts(store, ev)) if payments \
            else charts.book_replay(ev, alert, w)
    finally:
        store.close()
    out.print(f"[bold]{alert['alert_id']}[/bold] {alert['typology']} score {alert['score']:.2f} "
              f"by {alert['detector']} v{alert['detector_version']} {alert['parameters']}")
    out.print(f"accounts {alert['account_ids']}  instrument {alert['isin'] or '-'}")
    if alert.get("explanation"):
        out.print(explain(alert["explanation"]))
    frames = [("payments", ev)] if payments else [
        (k, v) for k, v in ev.frames().items() if k not in PICTURED]
    out.print(f"times in {display.zone()}")
    # What the header above already says is not repeated on every row.
    said = {"isin": alert["isin"], "account_id": alert["account_ids"]}
    for title, frame in frames:
        frame = display.readable(frame, tick).drop(
            [c for c, v in said.items() if c in frame.columns and frame[c].eq(v).all()])
        table = Table(title=f"{title} ({frame.height})", title_justify="left")
        for c in frame.columns:  # a time is never cut, however narrow the terminal
            ts = c.startswith("ts_")
            table.add_column(c, no_wrap=ts, min_width=23 if ts else None)
        for row in frame.head(40).iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
    path = picture or Path(f"{alert_id}.html")
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    out.print(f"{'money-flow' if payments else 'order book'} picture written to {path}")


def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="labels.csv or .parquet.")],
    alerts_file: Annotated[Optional[Path], typer.Option(
        "--alerts", help="An alerts export (default: the alerts in the database).")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        "--truth", help="Payments' truth (payment_id, typology empty when benign; "
                        "truth.parquet): scores over payments too.")] = None,
    data_dir: DataDir = Path("./suptech-data"), engine: Engine = "duckdb",
) -> None:
    """Precision, recall and F1 per typology, matching alerts to labels (EVALUATION.md);
    with `--truth`, over payments too (a payment is flagged when an alert's evidence
    names it)."""
    from suptech.detect.evaluate import payment_scores, score

    def read(path: Path) -> pl.DataFrame:
        try:
            return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        except (OSError, pl.exceptions.PolarsError) as e:
            error(f"{path}: {str(e).splitlines()[0]}")
            raise typer.Exit(2) from None

    lab = read(labels)
    if alerts_file is not None:
        al = read(alerts_file)
    else:
        store = open_or_exit(data_dir, engine)
        try:
            al = store.alerts()
        finally:
            store.close()
    missing = {"scenario_id", "typology", "account_ids", "window_start", "window_end"} - set(lab.columns)
    if missing:
        error(f"{labels}: missing column(s) {', '.join(sorted(missing))}")
        raise typer.Exit(2)
    try:
        scores = score(lab, al)
    except ValueError as e:  # a typology no detector raises
        error(f"{labels}: {e}")
        raise typer.Exit(2) from None
    table = Table("typology", "cases", "found", "recall", "alerts", "true", "precision", "F1")
    for s in scores:
        table.add_row(s.typology, str(s.cases), str(s.found), f"{s.recall:.2f}", str(s.alerts),
                      str(s.true_alerts), f"{s.precision:.2f}", f"{s.f1:.2f}")
    out.print(table)
    if truth is None:
        return
    paid = read(truth)
    if not {"payment_id", "typology"} <= set(paid.columns):
        error(f"{truth}: needs the columns payment_id and typology")
        raise typer.Exit(2)
    table = Table("typology", "laundering payments", "found", "recall", "flagged",
                  "laundering flagged", "precision", "F1", title="over payments")
    for p in payment_scores(al, paid.with_columns(pl.col("typology").cast(pl.String))):
        table.add_row(p.typology, f"{p.laundering:,}", f"{p.found:,}", f"{p.recall:.2f}",
                      f"{p.flagged:,}", f"{p.true_flagged:,}", f"{p.precision:.2f}",
                      f"{p.f1:.2f}")
    out.print(table)


def explain(explanation: str) -> str:
    """A learned alert's explanation in words: the features that drove its score."""
    import json

    from suptech.detect.payments.features import describe

    e = json.loads(explanation)
    lines = [f"why: model {e['model']} (alerts from {e['threshold']:.2f}); what moved the "
             "score most:"]
    lines += [f"  {describe(d['feature'], d['value'], d['contribution'])}" for d in e["drivers"]]
    return "\n".join(lines)


@model_app.command("train")
def train_model(
    version: Annotated[str, typer.Option("--version", help="Version number of the new model.")],
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Models directory (default: the package's, or SUPTECH_MODEL_DIR).")] = None,
    seeds: Annotated[str, typer.Option(
        "--seeds", help="Simulator seeds to fit on.")] = "1,2,3,4,5,6",
    validation: Annotated[str, typer.Option(
        "--validation-seeds", help="Seeds that pick the stopping round and threshold.")] = "7,8",
    days: Annotated[int, typer.Option("--days", min=1)] = 3,
    accounts: Annotated[int, typer.Option("--accounts", min=1000)] = 20_000,
    labels: Annotated[Optional[Path], typer.Option(
        "--labels", help="Train on the institution's own labelled payments of --data-dir "
                         "instead: a CSV or Parquet file of payment_id and typology "
                         "(empty when benign).")] = None,
    from_decisions: Annotated[bool, typer.Option(
        "--from-decisions", help="Train on the analysts' decisions on the payment alerts "
                                 "of --data-dir instead.")] = False,
    fit_until: Annotated[Optional[str], typer.Option(
        "--fit-until", help="With labels: fit on the payments before this (ISO 8601; "
                            "default: at 60 % of the laundering labelled, in time).")] = None,
    validate_until: Annotated[Optional[str], typer.Option(
        "--validate-until", help="With labels: validate on the payments up to this "
                                 "(default: at 80 % of the laundering labelled); those after are "
                                 "scored.")] = None,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
) -> None:
    """Train the payment model: on simulator data (never on the data it is scored on), or
    on an institution's labels or its analysts' decisions, split by time."""
    from suptech.detect.payments.model import model_dir
    from suptech.detect.payments.training import train

    if labels is not None or from_decisions:
        if labels is not None and from_decisions:
            raise typer.BadParameter("one source of labels at a time",
                                     param_hint="--labels / --from-decisions")
        _train_on_labels(version, out_dir or model_dir(), labels,
                         _moment(fit_until, "--fit-until"),
                         _moment(validate_until, "--validate-until"), data_dir, engine)
        return

    def ints(text: str, option: str) -> tuple[int, ...]:
        try:
            return tuple(int(s) for s in text.split(",") if s.strip())
        except ValueError:
            raise typer.BadParameter(f"{text!r}: give seeds as 1,2,3", param_hint=option) from None

    fit, val = ints(seeds, "--seeds"), ints(validation, "--validation-seeds")
    if set(fit) & set(val):
        raise typer.BadParameter("a seed cannot be both fitted on and validated on",
                                 param_hint="--validation-seeds")
    with out.status("training") as status:
        trained = train(out_dir or model_dir(), version, fit, val, days, accounts,
                        progress=lambda what: status.update(what))
    v = trained.meta["validation"]
    out.print(f"model {version} written to {trained.path.parent}: threshold "
              f"{trained.meta['threshold']:.2f}; on validation seeds {', '.join(map(str, val))} "
              f"precision {v['precision']:.3f}, recall {v['recall']:.3f}, F1 {v['f1']:.3f}, "
              f"typology accuracy {v['typology_accuracy']:.3f}")


def _train_on_labels(version: str, out_dir: Path, labels: Path | None, fit_until, validate_until,
                     data_dir: Path, engine) -> None:
    from suptech.detect.payments.learning import (
        LabelError, labels_from_decisions, read_labels, train_on_labels)

    store = open_or_exit(data_dir, engine)
    try:
        with out.status("training") as status:
            if labels is not None:
                found, source = read_labels(labels), str(labels)
            else:
                from suptech.ops.db import connect
                ops = connect(data_dir)
                try:
                    found = labels_from_decisions(store.alerts(), ops)
                finally:
                    ops.dispose()
                source = f"decisions in {data_dir}"
            trained = train_on_labels(store, found, out_dir, version, source, fit_until,
                                      validate_until, progress=lambda what: status.update(what))
    except LabelError as e:
        error(str(e))
        raise typer.Exit(2) from None
    finally:
        store.close()
    m = trained.meta
    line = (f"model {version} written to {trained.path.parent}: fitted on "
            f"{m['trained_on']['payments']:,} payments ({m['trained_on']['laundering']:,} "
            f"laundering) before {m['trained_on']['before']}; threshold {m['threshold']:.2f}")
    for part in ("validation", "held_out"):
        if part in m:
            s = m[part]
            line += (f"; {part.replace('_', ' ')} from {s['from']} ({s['payments']:,} payments): "
                     f"precision {s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f}")
    out.print(line)


@model_app.command("list")
def list_models() -> None:
    """The payment models available to the scan (the newest is used)."""
    import json

    from suptech.detect.payments.model import PREFIX, model_dir, versions

    folder = model_dir()
    table = Table("version", "created", "trained on", "threshold", "validation F1",
                  "held-out F1", title=f"payment models in {folder}", title_justify="left")
    for v in versions(folder):
        meta = json.loads((folder / f"{PREFIX}{v}.json").read_text())
        on = meta["trained_on"]
        source = on.get("labels") or "simulator seeds " + ",".join(map(str, on["simulator_seeds"]))
        held = meta.get("held_out", {}).get("f1")
        table.add_row(v, meta["created"], source, f"{meta['threshold']:.2f}",
                      f"{meta['validation']['f1']:.3f}", "–" if held is None else f"{held:.3f}")
    out.print(table)
