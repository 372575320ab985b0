"""Binance public trades (one CSV a pair, as `../shared/data/pumps/` holds them) to reports.

A file has one row per trade: symbol, timestamp (ms since the epoch, UTC), datetime,
side (the taker's: buy or sell), price (in BTC), amount (in the coin), btc_volume.
What the feed does not say is filled in openly, as the LOBSTER importer does:

- Trades are anonymous: each side of each trade gets its own order and its own
  account (`BIN-<n>-B`, `BIN-<n>-S`), so no two trades look related. The taker's order
  is an IOC order, the maker's a resting limit order entered at the trade.
- A coin pair has no ISIN and the venue no MIC: the ISIN is the user's (`--isin`), the
  venue `XOFF` by default (ISO 10383's "off-exchange"), whose calendar is a continuous
  24 hours, UTC (`suptech.model.calendar`). The price currency is `XXX` (ISO 4217: none),
  and the asset class `FX`, the nearest the specification has to a coin pair.
- Amounts may have decimals, report quantities may not: a quantity counts units of
  10^-d coin (d the most decimals in the file) and the lot is one unit; prices are in
  satoshi (10^-8 BTC) per unit, so that price times quantity stays the traded value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from suptech.formats import ids
from suptech.formats.files import anonymous_accounts, write_reports
from suptech.model.reports import DECIMAL_SCALE

SUBMITTER = ids.lei("BINC", 1)
COLUMNS = ["symbol", "timestamp", "datetime", "side", "price", "amount", "btc_volume"]
SATOSHI = Decimal(10) ** 8


class BinanceError(ValueError):
    """A trades file that cannot be read; the message names the file and line."""


@dataclass
class Converted:
    files: list[Path]
    trades: int
    order_events: int
    unit_decimals: int  # a quantity unit is 10^-this coin


def _decimals(values) -> int:
    """The most decimals of numbers (Decimals, or text in plain or scientific notation)."""
    return max((max(0, -Decimal(v).normalize().as_tuple().exponent) for v in set(values)),
               default=0)


def read_trades(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, schema_overrides={"timestamp": pl.Int64, "side": pl.String,
                                                    "price": pl.String, "amount": pl.String})
    except (OSError, pl.exceptions.PolarsError) as e:
        raise BinanceError(f"{path}: not a Binance trades file ({str(e).splitlines()[0]})") from None
    missing = [c for c in ("timestamp", "side", "price", "amount") if c not in frame.columns]
    if missing:
        raise BinanceError(f"{path}: no column {', '.join(missing)} (a Binance trades file "
                           f"has {', '.join(COLUMNS)})")
    number = r"^\d+(\.\d+)?([eE][-+]?\d+)?$"
    bad = frame.with_row_index("line", 2).filter(
        pl.col("timestamp").is_null() | ~pl.col("side").is_in(["buy", "sell"])
        | ~pl.col("price").str.contains(number).fill_null(False)
        | ~pl.col("amount").str.contains(number).fill_null(False))
    if bad.height:
        raise BinanceError(f"{path}: line {bad['line'][0]}: not a Binance trade (timestamp in "
                           "ms, side buy or sell, price and amount positive numbers)")
    return frame


def convert(path: Path, isin: str, out: Path, mic: str = "XOFF", region: str = "CN-SH",
            fmt: str = "parquet") -> Converted:
    """`region`: where the anonymous accounts' owners are taken to be (the feed does
    not say; a supervisor's alerts are routed by it)."""
    t = read_trades(path).sort("timestamp", maintain_order=True)
    d = _decimals(t["amount"])
    unit = Decimal(10) ** -d
    prices = [Decimal(p) * SATOSHI * unit for p in t["price"]]
    scale = _decimals(prices)
    if scale > DECIMAL_SCALE:
        raise BinanceError(f"{path}: a price of {scale} decimals in satoshi per unit; "
                           f"reports carry {DECIMAL_SCALE}")
    dec = pl.Decimal(38, DECIMAL_SCALE)
    qty = [int(Decimal(a) / unit) for a in t["amount"]]
    if min(qty, default=1) <= 0:
        raise BinanceError(f"{path}: a trade of amount 0")
    n = pl.int_range(1, t.height + 1, eager=True).cast(pl.String)
    base = pl.DataFrame({"n": n, "ts_event": t["timestamp"] * 1_000_000,
                         "price": pl.Series(prices, dtype=dec), "quantity": qty,
                         "aggressor_side": t["side"].str.to_uppercase()})
    base = base.with_columns(buy=pl.format("BIN-{}-B", "n"), sell=pl.format("BIN-{}-S", "n"))
    envelope = [pl.lit("NEW").alias("action"), pl.lit(SUBMITTER).alias("submitter")]
    trades = base.select(
        pl.format("BINT{}", "n").alias("report_id"), *envelope, "ts_event",
        pl.format("BIN-T{}", "n").alias("trade_id"), pl.lit(isin).alias("isin"),
        pl.lit(mic).alias("mic"), "price", "quantity", pl.col("buy").alias("buy_account_id"),
        pl.col("sell").alias("sell_account_id"), pl.col("buy").alias("buy_order_id"),
        pl.col("sell").alias("sell_order_id"), "aggressor_side")
    sides = []
    for side, col in (("BUY", "buy"), ("SELL", "sell")):
        taking = (pl.col("aggressor_side") == side)
        for kind, leaves in (("NEW", pl.col("quantity")), ("FILL", pl.lit(0, pl.Int64))):
            sides.append(base.select(
                "ts_event", "n", pl.lit(side).alias("side"), pl.col(col).alias("order_id"),
                pl.lit(kind).alias("event_type"), "price", "quantity",
                leaves.alias("leaves_quantity"),
                pl.when(taking).then(pl.lit("IOC")).otherwise(pl.lit("DAY")).alias("time_in_force")))
    events = (pl.concat(sides)
              .sort(["ts_event", "n", "event_type"], descending=[False, False, True])
              .with_row_index("k", 1))
    orders = events.select(
        pl.format("BINE{}", "k").alias("report_id"), *envelope, "ts_event", "order_id",
        "event_type", pl.lit(isin).alias("isin"), pl.lit(mic).alias("mic"),
        pl.col("order_id").alias("account_id"), pl.lit(SUBMITTER).alias("member_lei"), "side",
        pl.lit("LIMIT").alias("order_type"), "price", "quantity", "leaves_quantity",
        "time_in_force")
    files = _register(orders["account_id"].unique().sort(), isin, mic,
                      int(base["ts_event"].min()), path, out, fmt, unit, scale, region)
    files += [write_reports(orders, "order_event", out, f"order_event-{isin}", fmt),
              write_reports(trades, "trade", out, f"trade-{isin}", fmt)]
    return Converted(files, trades.height, orders.height, d)


def _register(accounts: pl.Series, isin: str, mic: str, ts: int, path: Path, out: Path,
              fmt: str, unit: Decimal, scale: int, region: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    symbol = path.stem.split("_")[0]
    instrument = pl.DataFrame([{
        "report_id": "BINI1", "action": "NEW", "submitter": SUBMITTER, "ts_event": ts,
        "isin": isin, "mic": mic, "name": f"{symbol}/BTC (Binance; satoshi per {unit} coin)",
        "asset_class": "FX", "currency": "XXX", "tick_size": Decimal(10) ** -scale,
        "lot_size": 1, "board": "BINANCE"}])
    party, account = anonymous_accounts(accounts.to_list(), "BIN", SUBMITTER, ts, region,
                                        date(2017, 7, 14))
    return [write_reports(instrument, "instrument", out, f"instrument-{isin}", fmt),
            write_reports(party, "party", out, f"party-{isin}", fmt),
            write_reports(account, "account", out, f"account-{isin}", fmt)]
