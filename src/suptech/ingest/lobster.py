"""LOBSTER message files (NASDAQ TotalView-ITCH, as lobsterdata.com sells them) to reports.

A LOBSTER message file has one row per book event: time (seconds after midnight,
exchange time), type (1 new limit order, 2 partial cancellation, 3 deletion, 4
execution of a visible order, 5 execution of a hidden order, 7 trading halt), order id,
size, price (USD times 10,000) and direction (1 buy, -1 sell).

What the feed does not say is filled in openly, so that nothing looks real that is not:

- Orders are anonymous: each order gets its own account, `LOB-<order id>`.
- An execution names only the resting order. The order that took it gets a synthetic
  IOC order, `LOB-AGG-<n>`, on the other side, with its own account; a hidden
  execution gets synthetic orders on both sides.
- An order already resting when the file starts gets a NEW at its first appearance.
- Trading halts (type 7) carry no order and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from suptech.formats import ids
from suptech.formats.files import anonymous_accounts, write_reports

NEW_LIMIT, PARTIAL_CANCEL, DELETE, EXECUTE, EXECUTE_HIDDEN, HALT = 1, 2, 3, 4, 5, 7
SUBMITTER = ids.lei("LOBS", 1)
COLUMNS = ["time", "type", "order_id", "size", "price", "direction"]


class LobsterError(ValueError):
    """A message file that cannot be read; the message names the file and line."""


@dataclass
class Converted:
    files: list[Path]
    messages: int
    order_events: int
    trades: int


def read_messages(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, has_header=False, new_columns=COLUMNS,
                            schema_overrides={"time": pl.Float64, "type": pl.Int64,
                                              "order_id": pl.Int64, "size": pl.Int64,
                                              "price": pl.Int64, "direction": pl.Int64})
    except (OSError, pl.exceptions.PolarsError) as e:
        raise LobsterError(f"{path}: not a LOBSTER message file ({str(e).splitlines()[0]})") from None
    if frame.width != 6:
        raise LobsterError(f"{path}: {frame.width} columns, a LOBSTER message file has 6")
    bad = frame.with_row_index("line", 1).filter(
        ~pl.col("type").is_in([1, 2, 3, 4, 5, 6, 7]) | ~pl.col("direction").is_in([1, -1])
        | pl.col("time").is_null())
    if bad.height:
        raise LobsterError(f"{path}: line {bad['line'][0]}: not a LOBSTER message "
                           "(type must be 1-7 and direction 1 or -1)")
    return frame


def convert(path: Path, isin: str, day: date, out: Path, mic: str = "XNAS",
            tz: str = "America/New_York", fmt: str = "parquet") -> Converted:
    msgs = read_messages(path)
    out.mkdir(parents=True, exist_ok=True)
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    base_ns = int(midnight.timestamp()) * 1_000_000_000
    events: list[dict] = []
    trades: list[dict] = []
    resting: dict[int, dict] = {}  # order id -> its state
    synthetic = 0

    def event(ts: int, order: dict, kind: str) -> None:
        events.append({"ts_event": ts, "order_id": order["id"], "event_type": kind,
                       "account_id": order["account"], "side": order["side"],
                       "price_ticks": order["price"], "quantity": order["qty"],
                       "leaves_quantity": order["leaves"], "tif": order["tif"]})

    def aggressor(ts: int, side: str, price: int, qty: int) -> dict:
        nonlocal synthetic
        synthetic += 1
        o = {"id": f"LOB-AGG-{synthetic}", "account": f"LOB-AGG-{synthetic}", "side": side,
             "price": price, "qty": qty, "leaves": qty, "tif": "IOC"}
        event(ts, o, "NEW")
        o["leaves"] = 0
        event(ts, o, "FILL")
        return o

    for t, kind, oid, size, price, direction in msgs.iter_rows():
        ts = base_ns + int(round(t * 1e9))
        side = "BUY" if direction == 1 else "SELL"
        ticks = price // 100  # USD x 10,000 -> cents
        if kind == HALT:
            continue
        if kind == EXECUTE_HIDDEN:
            hidden = aggressor(ts, side, ticks, size)  # the hidden resting order
            taker = aggressor(ts, "SELL" if side == "BUY" else "BUY", ticks, size)
            trades.append(_trade(ts, ticks, size, hidden, taker, resting_side=side))
            continue
        order = resting.get(oid)
        if order is None:
            order = {"id": f"LOB-{oid}", "account": f"LOB-{oid}", "side": side,
                     "price": ticks, "qty": size, "leaves": size, "tif": "DAY"}
            resting[oid] = order
            event(ts, order, "NEW")
            if kind == NEW_LIMIT:
                continue
        if kind == PARTIAL_CANCEL:
            order["qty"] -= size
            order["leaves"] -= size
            if order["leaves"] <= 0:
                order["leaves"] = 0
                event(ts, order, "CANCEL")
                resting.pop(oid, None)
            else:
                event(ts, order, "MODIFY")
        elif kind == DELETE:
            event(ts, order, "CANCEL")
            resting.pop(oid, None)
        elif kind == EXECUTE:
            fill = min(size, order["leaves"])
            taker = aggressor(ts, "SELL" if side == "BUY" else "BUY", order["price"], fill)
            order["leaves"] -= fill
            event(ts, order, "FILL" if order["leaves"] == 0 else "PARTIAL_FILL")
            trades.append(_trade(ts, order["price"], fill, order, taker, resting_side=side))
            if order["leaves"] == 0:
                resting.pop(oid, None)
    files = _write(events, trades, isin, mic, base_ns, out, fmt)
    return Converted(files, msgs.height, len(events), len(trades))


def _trade(ts: int, ticks: int, qty: int, resting: dict, taker: dict, resting_side: str) -> dict:
    buy, sell = (resting, taker) if resting_side == "BUY" else (taker, resting)
    return {"ts_event": ts, "price_ticks": ticks, "quantity": qty,
            "buy_account_id": buy["account"], "sell_account_id": sell["account"],
            "buy_order_id": buy["id"], "sell_order_id": sell["id"],
            "aggressor_side": "SELL" if resting_side == "BUY" else "BUY"}


def _write(events: list[dict], trades: list[dict], isin: str, mic: str, base_ns: int,
           out: Path, fmt: str) -> list[Path]:
    cents = pl.lit(Decimal("0.01"), dtype=pl.Decimal(18, 2))
    envelope = [pl.lit("NEW").alias("action"), pl.lit(SUBMITTER).alias("submitter")]
    ev = pl.DataFrame(events).with_row_index("n", 1).select(
        pl.format("LOBE{}", "n").alias("report_id"), *envelope, "ts_event", "order_id",
        "event_type", pl.lit(isin).alias("isin"), pl.lit(mic).alias("mic"), "account_id",
        pl.lit(SUBMITTER).alias("member_lei"), "side", pl.lit("LIMIT").alias("order_type"),
        (pl.col("price_ticks").cast(pl.Decimal(18, 0)) * cents).alias("price"),
        "quantity", "leaves_quantity", pl.col("tif").alias("time_in_force"))
    tr = pl.DataFrame(trades).with_row_index("n", 1).select(
        pl.format("LOBT{}", "n").alias("report_id"), *envelope, "ts_event",
        pl.format("LOB-T{}", "n").alias("trade_id"), pl.lit(isin).alias("isin"),
        pl.lit(mic).alias("mic"),
        (pl.col("price_ticks").cast(pl.Decimal(18, 0)) * cents).alias("price"), "quantity",
        "buy_account_id", "sell_account_id", "buy_order_id", "sell_order_id",
        "aggressor_side")
    accounts = sorted(set(ev["account_id"]))
    ts = base_ns
    instrument = pl.DataFrame([{
        "report_id": "LOBI1", "action": "NEW", "submitter": SUBMITTER, "ts_event": ts,
        "isin": isin, "mic": mic, "name": isin, "asset_class": "EQUITY", "currency": "USD",
        "tick_size": Decimal("0.01"), "lot_size": 1, "board": "NASDAQ"}])
    owners, account = anonymous_accounts(accounts, "LOB", SUBMITTER, ts, "US-NY",
                                         date(2000, 1, 3))
    stem = f"{isin}"
    return [write_reports(instrument, "instrument", out, f"instrument-{stem}", fmt),
            write_reports(owners, "party", out, f"party-{stem}", fmt),
            write_reports(account, "account", out, f"account-{stem}", fmt),
            write_reports(ev, "order_event", out, f"order_event-{stem}", fmt),
            write_reports(tr, "trade", out, f"trade-{stem}", fmt)]
