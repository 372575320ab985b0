"""Detection quality on fresh simulator seeds: precision, recall and F1 per typology.

The detectors' parameters were set on seeds 1, 2 and 3 (two days each, small scale) and
looked at on seeds 7 and 8 (one full-scale market day each) and 9 and 10 (five days
of a 1,000,000-account payment network each). Score them on other seeds:

    .venv/bin/python bench/detection.py --seeds 101 102 103 104 105 [--days 2] [--scale small]
        [--markets call continuous]

Each seed is played in each kind of market (`suptech.simulate.market.MARKETS`: shares
closing with a call auction, or trading on to the close); recall is printed per market
and per way a typology was carried out.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from suptech.detect.evaluate import (PaymentScore, matches, payment_scores,
                                     read_timestamps, score)
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.detect.base import REGISTRY
from suptech.simulate.market import MARKETS
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store

TUNING_SEEDS = (1, 2, 3, 7, 8, 9, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--domain", default="market", choices=["market", "payments"])
    parser.add_argument("--markets", nargs="+", default=list(MARKETS), choices=list(MARKETS),
                        help="Kinds of market each seed is played in (--domain market).")
    parser.add_argument("--accounts", type=int, default=20_000,
                        help="Accounts of the payment network (--domain payments).")
    parser.add_argument("--detectors", help="Comma-separated detector ids (default: the "
                                            "domain's that a scan runs by default).")
    parser.add_argument("--history", type=int, default=0,
                        help="Days of payments simulated and stored before the --days that "
                             "are scanned and scored (--domain payments): the accounts' own "
                             "past, as a deployed store holds it.")
    parser.add_argument("--save", type=Path,
                        help="Write the alerts here (Parquet), each with its detector's own "
                             "score (`raw`, before calibration) and whether it matched a case "
                             "(`true`): what bench/calibrate.py fits and reports on. (The "
                             "alerts' `score` is the shipped calibration's.)")
    args = parser.parse_args()
    used = sorted(set(args.seeds) & set(TUNING_SEEDS))
    if used:
        print(f"warning: seeds {used} were used to set the parameters")
    work = Path(tempfile.mkdtemp(prefix="suptech-detection-"))
    labels, alerts, paid = [], [], []
    per_market: dict[str, int] = {}  # instrument-days by kind of market
    events, units = 0, 0  # units: instrument-days (market) or days (payments)
    try:
        runs = [(seed, market) for seed in args.seeds
                for market in (args.markets if args.domain == "market" else [""])]
        for seed, market in runs:
            name = f"{seed}{'-' + market if market else ''}"
            out = work / f"sim-{name}"
            if args.domain == "market":
                result = simulate_market(out, seed=seed, days=args.days, scale=args.scale,
                                         market=market)
                events += result.order_events
            else:
                result = simulate_payments(out, seed=seed, days=args.history + args.days,
                                           accounts=args.accounts, truth=True,
                                           history=args.history)
                events += result.payments
            # Unless named, the detectors a scan runs by default (the learned payment
            # model only where it was fitted on the institution's own labels).
            detectors = [d for d in (c() for c in REGISTRY.detectors.values()
                                     if c.domain == args.domain)
                         if (d.id in args.detectors.split(",") if args.detectors
                             else d.by_default())]
            store = open_store(work / f"db-{name}")
            ingest_files(store, sorted(out.glob("*.parquet")))
            t = time.perf_counter()
            start = None if args.domain == "market" else result.scanned_from
            found = run(store, detectors, start_ns=start, keep_raw=True)
            n_units = instrument_days(store) if args.domain == "market" else args.days
            units += n_units
            per_market[market] = per_market.get(market, 0) + n_units
            store.close()
            print(f"seed {name}: {len(result.labels)} "
                  f"cases, {found.height} alerts, scan {time.perf_counter() - t:.1f} s")
            cases = read_timestamps(pl.read_csv(out / "labels.csv"))
            if start is not None:
                # Scored: the cases begun in the scanned days. Alerts on cases begun
                # before them count neither way.
                earlier = cases.filter(pl.col("window_start") < start)
                found = found.filter(~pl.col("alert_id").is_in(
                    matches(earlier, found)["alert_id"].implode()))
                cases = cases.filter(pl.col("window_start") >= start)
            labels.append(of_run(cases, "scenario_id", name, market))
            alerts.append(of_run(found, "alert_id", name, market))
            if args.domain == "payments":
                truth = pl.read_parquet(out / "truth.parquet")
                if start is not None:
                    scanned = pl.concat([pl.read_parquet(f, columns=["payment_id", "ts_event"])
                                         for f in out.glob("payment-*.parquet")])
                    truth = truth.join(scanned.filter(pl.col("ts_event") >= start)
                                       .select("payment_id"), on="payment_id")
                paid.append(payment_scores(found, truth))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = pl.concat(labels)
    if args.detectors:  # only the chosen detectors' typologies are scored
        chosen = {c.typology for c in REGISTRY.detectors.values()
                  if c.id in args.detectors.split(",")}
        labels = labels.filter(pl.col("typology").is_in(chosen))
    alerts = pl.concat(alerts)
    if args.save:
        true = matches(labels, alerts)["alert_id"].implode()
        alerts.with_columns(true=pl.col("alert_id").is_in(true),
                            seeds=pl.lit(" ".join(map(str, args.seeds)))).write_parquet(args.save)
    rows = score(labels, alerts)
    what = (f"{args.scale} scale, {events:,} order events" if args.domain == "market"
            else f"{args.accounts:,} accounts, {events:,} payments")
    markets = f" in {' and '.join(args.markets)} markets" if args.domain == "market" else ""
    history = f" after {args.history} days stored" if args.history else ""
    print(f"\n{args.domain}: seeds {' '.join(map(str, args.seeds))}{markets}, {args.days} days "
          f"each{history}, "
          f"{what}; parameters set on seeds "
          f"{', '.join(map(str, TUNING_SEEDS))}\n")
    # The analyst's queue: false alerts per instrument-day (per day for payments).
    unit = "instrument-day" if args.domain == "market" else "day"
    print(f"{units:,} {unit}s\n")
    # Whether the scores rank: the average precision of the queue worked top down.
    ranked = average_precision(labels, alerts)
    print(f"| typology | cases | found | recall | alerts | true | precision | F1 | "
          f"false per {unit} | AP |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in rows:
        ap = ranked.get(s.typology)
        print(f"| {s.typology} | {s.cases} | {s.found} | {s.recall:.2f} | {s.alerts} | "
              f"{s.true_alerts} | {s.precision:.2f} | {s.f1:.2f} | "
              f"{(s.alerts - s.true_alerts) / units:.3f} | "
              f"{'-' if ap is None else f'{ap:.2f}'} |")
    by_variant(labels, alerts, per_market if args.domain == "market" else None)
    if args.domain == "payments":
        over_payments(paid)


def over_payments(runs: list[list]) -> None:
    """Scores over payments (a payment flagged when an alert's evidence names it), the
    runs' counts added up."""
    total: dict[str, list[int]] = {}
    for rows in runs:
        for s in rows:
            counts = total.setdefault(s.typology, [0, 0, 0, 0])
            for i, v in enumerate((s.flagged, s.true_flagged, s.laundering, s.found)):
                counts[i] += v
    print("\nOver payments:\n\n| typology | laundering | found | recall | flagged | "
          "laundering flagged | precision | F1 |\n|---|---|---|---|---|---|---|---|")
    for name in sorted(total, key=lambda t: (t == "ALL", t)):
        s = PaymentScore(name, *total[name])
        print(f"| {name} | {s.laundering:,} | {s.found:,} | {s.recall:.2f} | {s.flagged:,} | "
              f"{s.true_flagged:,} | {s.precision:.2f} | {s.f1:.2f} |")


def average_precision(labels: pl.DataFrame, alerts: pl.DataFrame) -> dict[str, float]:
    """Per typology (and ALL), the mean over true alerts of the precision of the queue
    down to each, alerts sorted by score, ties broken against the detector (false
    alerts first): 1.00 when every true alert scores above every false one."""
    true = set(matches(labels, alerts)["alert_id"])
    q = alerts.with_columns(true=pl.col("alert_id").is_in(list(true)))
    out = {}
    for typology, part in [("ALL", q)] + list(q.group_by("typology")):
        name = typology if isinstance(typology, str) else typology[0]
        part = part.sort(["score", "true"], descending=[True, False])
        hits = part["true"].cum_sum()
        k = pl.Series(range(1, part.height + 1))
        at_true = (hits / k).filter(part["true"])
        if at_true.len():
            out[name] = float(at_true.mean())
    return out


def of_run(frame: pl.DataFrame, id_column: str, name: str, market: str) -> pl.DataFrame:
    """Labels or alerts of one run, told apart from other runs': ids are per run, and
    one seed's markets share accounts and instruments, so that without this an alert
    would match another run's case."""
    return frame.with_columns(
        pl.format("{}-{}", pl.lit(name), id_column).alias(id_column),
        pl.format("{}-{}", pl.lit(name), "isin").alias("isin"),
        (pl.lit(f"{name}-") + pl.col("account_ids").str.replace_all(
            ";", f";{name}-", literal=True)).alias("account_ids"),
        pl.lit(market).alias("market"))


def by_variant(labels: pl.DataFrame, alerts: pl.DataFrame, units: dict[str, int] | None) -> None:
    """Per kind of market: recall per way a typology was carried out (`variant`, where
    the labels say), and with the `units` (instrument-days) of each market, precision and
    false alerts per instrument-day per typology."""
    if "variant" not in labels.columns:
        labels = labels.with_columns(variant=pl.lit(""))
    found = set(matches(labels, alerts)["scenario_id"])
    per = (labels.with_columns(found=pl.col("scenario_id").is_in(list(found)),
                               variant=pl.col("variant").fill_null(""))
           .group_by("market", "typology", "variant")
           .agg(cases=pl.len(), found=pl.col("found").sum())
           .sort("market", "typology", "variant"))
    print("\n| market | typology | variant | cases | found | recall |\n|---|---|---|---|---|---|")
    for r in per.iter_rows(named=True):
        print(f"| {r['market']} | {r['typology']} | {r['variant'] or '-'} | {r['cases']} | "
              f"{r['found']} | {r['found'] / r['cases']:.2f} |")
    if units is None:
        return
    print("\n| market | typology | alerts | true | precision | false per instrument-day |"
          "\n|---|---|---|---|---|---|")
    for market in sorted(units):
        for s in score(labels.filter(pl.col("market") == market),
                       alerts.filter(pl.col("market") == market)):
            if s.typology == "ALL" or s.alerts:
                print(f"| {market} | {s.typology} | {s.alerts} | {s.true_alerts} | "
                      f"{s.precision:.2f} | {(s.alerts - s.true_alerts) / units[market]:.3f} |")


def instrument_days(store) -> int:
    """Instruments times the local days they traded (the scan's clock)."""
    from suptech.detect.market.data import market_data

    t = market_data(store, materialize=False).trades
    return int(t.select("isin", "day").distinct().count().to_pyarrow().as_py())


if __name__ == "__main__":
    main()
