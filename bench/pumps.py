"""Pump-and-dump detection on real pumps: 54 Telegram-announced pumps on Binance.

Each file of `../shared/data/pumps/` (README there) holds every trade of one coin pair
from two days before to two days after one pump. Each is imported
(`suptech import binance-trades`: anonymous trades), ingested into a store of its own
and scanned with every market detector. A PUMP_AND_DUMP alert matches the pump when it
names the file's instrument and its window overlaps the span from 10 minutes before
the announced time to 60 minutes after it (accounts are not compared: the trades are
anonymous); any other alert in the file is false. Parameters were set on the pumps
dated before 2021-01-01; the figures that count are those of the later ones.

    .venv/bin/python bench/pumps.py [--pumps ../shared/data/pumps] [--jobs 2]
                                    [--only tuning|held-out] [--set DETECTOR.PARAM=VALUE ...]

`--only tuning` with `--set` runs a grid on the tuning side alone, without showing the
held-out pumps.
"""

from __future__ import annotations

import argparse
import ast
import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import polars as pl
from stdnum import isin as stdnum_isin

from suptech.detect.base import MINUTE, REGISTRY
from suptech.detect.run import run
from suptech.ingest.binance import convert
from suptech.ingest.pipeline import ingest_files
from suptech.store.database import open_store

SPLIT = "2021-01-01"  # tuned on pumps before this date; reported on the rest
BEFORE, AFTER = 10 * MINUTE, 60 * MINUTE


def one(row: dict, pumps: Path, n: int, params: dict | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="suptech-pump-"))
    try:
        body = f"XS{n:09d}"
        isin = body + stdnum_isin.calc_check_digit(body)
        converted = convert(pumps / row["trades_file"], isin, work / "files")
        store = open_store(work / "db")
        try:
            ingest_files(store, converted.files)
            t = time.perf_counter()
            detectors = [c(c.Params(**(params or {}).get(c.id, {})))
                         for c in REGISTRY.detectors.values() if c.domain == "market"]
            alerts = run(store, detectors)
            scan_s = time.perf_counter() - t
        finally:
            store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    at = int(datetime.fromisoformat(row["pump_time_utc"].replace("Z", "+00:00")).timestamp()
             * 1e9)
    pump = alerts.filter(pl.col("typology") == "PUMP_AND_DUMP")
    hit = (pl.col("isin") == isin) & (pl.col("window_start") <= at + AFTER) & (
        pl.col("window_end") >= at - BEFORE)
    return {"file": row["trades_file"], "tuning": row["pump_time_utc"] < SPLIT,
            "trades": converted.trades, "events": converted.trades + converted.order_events,
            "found": pump.filter(hit).height > 0, "false": pump.filter(~hit).height,
            "by": ",".join(sorted(set(pump.filter(hit)["detector"]))),
            "other": alerts.height - pump.height,
            "other_by": ",".join(sorted(set(alerts.filter(
                pl.col("typology") != "PUMP_AND_DUMP")["typology"]))),
            "scan_s": scan_s}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pumps", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared/data/pumps")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", choices=["tuning", "held-out"],
                    help="scan only the pumps of one side of the split (a grid is run "
                         "on the tuning side alone)")
    ap.add_argument("--set", action="append", default=[], metavar="DETECTOR.PARAM=VALUE",
                    help="a detector's parameter for this run, e.g. pump_flow.min_giveback=0.4")
    args = ap.parse_args()
    labels = pl.read_csv(args.pumps / "labels.csv")
    if args.only:
        tuning = pl.col("pump_time_utc") < SPLIT
        labels = labels.filter(tuning if args.only == "tuning" else ~tuning)
    params: dict[str, dict] = {}
    known = {c.id: c for c in REGISTRY.detectors.values()}
    for item in args.set:
        name, _, value = item.partition("=")
        detector, _, field = name.partition(".")
        if detector not in known or field not in known[detector].Params.__dataclass_fields__:
            ap.error(f"--set {item}: no parameter {field!r} of a detector {detector!r}")
        params.setdefault(detector, {})[field] = ast.literal_eval(value)
    began = time.perf_counter()
    # Spawned, not forked: a fork of a process with DuckDB's and polars' threads hangs.
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(one, row, args.pumps, i + 1, params)
                   for i, row in enumerate(labels.iter_rows(named=True))]
        rows = []
        for i, f in enumerate(futures, 1):
            rows.append(f.result())
            print(f"\r{i}/{len(futures)} files", end="", flush=True)
    print()
    per = pl.DataFrame(rows)
    pl.Config.set_tbl_rows(100)
    pl.Config.set_fmt_str_lengths(40)
    print(per.select("file", "tuning", "trades", "found", "by", "false", "other", "other_by"))
    for name, part in (("tuning (before 2021)", per.filter("tuning")),
                       ("held out (2021 on)", per.filter(~pl.col("tuning")))):
        if part.is_empty():
            continue
        print(f"{name}: {part.height} pumps, recall {part['found'].mean():.2f} "
              f"({part['found'].sum()}/{part.height}); false PUMP_AND_DUMP alerts "
              f"{part['false'].sum()} ({part['false'].sum() / part.height:.2f} a file, "
              f"most {part['false'].max()}, files with more than one "
              f"{part.filter(pl.col('false') > 1).height}); other typologies' alerts "
              f"{part['other'].sum()} ({part['other'].sum() / part['events'].sum() * 1e6:.1f} "
              f"per million events)")
    print(f"{per['trades'].sum():,} trades in {per.height} files; scans took "
          f"{per['scan_s'].sum():.0f} s; {time.perf_counter() - began:.0f} s in all")


if __name__ == "__main__":
    main()
