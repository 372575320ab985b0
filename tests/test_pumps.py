"""Pump and dump on anonymous trade flow: Binance trades import as reports, and a pump
(a burst of buying far beyond the coin's own day, then the fall back) is raised, by
its instrument and time, with no account known."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from builders import shared_data
from typer.testing import CliRunner

from suptech.cli import app
from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.store.database import open_store

ISIN = "XS0000000009"
HEADER = "symbol,timestamp,datetime,side,price,amount,btc_volume\n"
DAY_MS = 86_400_000
START = 1_600_000_000_000 // DAY_MS * DAY_MS + DAY_MS  # a UTC midnight
PUMP = START + 17 * 3_600_000  # 17:00 UTC


def trades_csv(path, spike: float = 1.3, crowd: int = 60, fall_back: bool = True) -> None:
    """A quiet coin: a trade of 10 coins every two minutes, its price wandering three
    satoshis either way; at 17:00 `crowd` buyers of 50 coins each within a minute lift
    it by `spike`, then (`fall_back`) sellers take it back down, or it stays up."""
    rows, price = [], 1000  # satoshi
    for k in range(0, DAY_MS, 120_000):
        price += (-3, 0, 3)[k // 120_000 % 3]
        level = price if fall_back or START + k < PUMP else round(price * spike)
        rows.append((START + k, "buy" if k // 120_000 % 2 else "sell", level, 10))
    price = 1000
    for i in range(crowd):
        rows.append((PUMP + i * 1000, "buy", round(price * (1 + (spike - 1) * i / crowd)), 50))
    if fall_back:
        for i in range(crowd):
            rows.append((PUMP + 90_000 + i * 2000, "sell",
                         round(price * (spike - (spike - 1) * i / crowd)), 50))
    rows.sort()
    path.write_text(HEADER + "".join(
        f"XYZ/BTC,{ts},,{side},{Decimal(p) / 10 ** 8:f},{amount}.0,0\n"
        for ts, side, p, amount in rows))


def scanned(tmp_path, csv) -> pl.DataFrame:
    out = tmp_path / "reports"
    done = CliRunner().invoke(app, ["import", "binance-trades", str(csv), "--isin", ISIN,
                                    "--out", str(out)])
    assert done.exit_code == 0, done.output
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, sorted(out.glob("*.parquet")))
        assert [r.summary.rejected for r in results] == [0] * 5
        return run(store, [REGISTRY.get(d)() for d in ("pump_flow", "pump_and_dump")])
    finally:
        store.close()


def test_a_burst_of_buying_that_falls_back_is_a_pump_of_that_coin_at_that_time(tmp_path):
    trades_csv(tmp_path / "t.csv")
    alerts = scanned(tmp_path, tmp_path / "t.csv")
    assert alerts["detector"].to_list() == ["pump_flow"]
    a = alerts.row(0, named=True)
    assert a["typology"] == "PUMP_AND_DUMP" and a["isin"] == ISIN
    assert a["window_start"] <= PUMP * 10 ** 6 <= a["window_end"]
    # The largest buyers of the run-up are named: here each trade's own anonymous account.
    assert a["account_ids"] and all(x.endswith("-B") for x in a["account_ids"].split(";"))


@pytest.mark.parametrize("change", [dict(fall_back=False), dict(crowd=3), dict(spike=1.002)],
                         ids=["the price stays up", "no crowd", "the price hardly moves"])
def test_no_pump_without_the_crowd_the_rise_and_the_fall(tmp_path, change):
    trades_csv(tmp_path / "t.csv", **change)
    assert scanned(tmp_path, tmp_path / "t.csv").is_empty()


def test_a_real_pump_is_found_at_its_announced_minute(tmp_path):
    # APPC/BTC, pumped on 2020-11-18 at 18:00 UTC (one of the pumps parameters were set on).
    alerts = scanned(tmp_path, shared_data("pumps", "trades", "APPC_2020-11-18T1800.csv"))
    at = 1_605_722_400 * 10 ** 9
    assert alerts.filter((pl.col("window_start") <= at + 3_600 * 10 ** 9)
                         & (pl.col("window_end") >= at - 600 * 10 ** 9)).height == 1


def test_fractional_amounts_become_whole_units_and_keep_the_traded_value(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text(HEADER + f"XYZ/BTC,{START},,buy,1.5e-05,0.25,0\n"
                   f"XYZ/BTC,{START + 1},,sell,1.6e-05,2,0\n")
    out = tmp_path / "reports"
    done = CliRunner().invoke(app, ["import", "binance-trades", str(csv), "--isin", ISIN,
                                    "--out", str(out)])
    assert done.exit_code == 0 and "10^-2 coin" in done.output
    t = pl.read_parquet(next(out.glob("trade-*.parquet")))
    assert t["quantity"].to_list() == [25, 200]
    # 1500 satoshi a coin is 15 a hundredth: price times quantity is the value in satoshi.
    assert [float(v) for v in t["price"] * t["quantity"]] == [375.0, 3200.0]


def test_a_file_that_is_not_binance_trades_gets_one_clear_line(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text(HEADER + "XYZ/BTC,1600000000000,,hold,1e-05,1,0\n")
    result = CliRunner().invoke(app, ["import", "binance-trades", str(bad), "--isin", ISIN,
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "line 2" in result.output
