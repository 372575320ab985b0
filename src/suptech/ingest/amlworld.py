"""IBM AMLworld transactions (Altman et al., NeurIPS 2023) to payment reports and labels.

AMLworld's transaction files have: Timestamp, From Bank, Account, To Bank, Account.1,
Amount Received, Receiving Currency, Amount Paid, Payment Currency, Payment Format, Is
Laundering. Its pattern files list, per laundering pattern, its type and transactions.

Mapping, said openly where the source has no such field:

- account ids are AMLworld's; a bank number becomes a synthetic BIC (`S...US..`) and
  both countries are US, since AMLworld has no geography;
- the amount is what the debtor paid, in its currency; currency names become ISO 4217
  codes; Bitcoin, which has none, becomes XXX ("no currency"); amounts are rounded to
  the currency's minor unit (AMLworld has yen with cents);
- payment_id is a UUID v4 drawn from a seeded generator, so re-imports are identical;
- with `--patterns`, background is the file's non-laundering rows and the cases are the
  patterns' transactions (EVALUATION.md's AMLworld setting), and labels.csv gets one
  case per pattern.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import iso4217
import numpy as np
import polars as pl

from suptech.formats import ids
from suptech.formats.files import Label, write_labels, write_reports, write_truth

SUBMITTER = ids.lei("AMLW", 1)
CURRENCIES = {
    "US Dollar": "USD", "Euro": "EUR", "Yuan": "CNY", "Yen": "JPY", "UK Pound": "GBP",
    "Swiss Franc": "CHF", "Canadian Dollar": "CAD", "Australian Dollar": "AUD",
    "Mexican Peso": "MXN", "Brazil Real": "BRL", "Ruble": "RUB", "Rupee": "INR",
    "Shekel": "ILS", "Saudi Riyal": "SAR", "Bitcoin": "XXX",
}
TYPOLOGIES = {"FAN-OUT": "FAN_OUT", "FAN-IN": "FAN_IN", "CYCLE": "CYCLE",
              "GATHER-SCATTER": "GATHER_SCATTER", "SCATTER-GATHER": "SCATTER_GATHER",
              "STACK": "STACK", "BIPARTITE": "BIPARTITE", "RANDOM": "RANDOM"}
COLUMNS = ["timestamp", "from_bank", "from_account", "to_bank", "to_account",
           "amount_received", "receiving_currency", "amount_paid", "payment_currency",
           "payment_format", "is_laundering"]


class AmlworldError(ValueError):
    """A file that is not AMLworld's format; the message names the file and why."""


@dataclass
class Imported:
    files: list[Path]
    payments: int
    laundering: int
    cases: int


def read_transactions(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise AmlworldError(f"{path}: cannot read ({str(e).splitlines()[0]})") from None
    if frame.width != len(COLUMNS):
        raise AmlworldError(f"{path}: {frame.width} columns, AMLworld transactions have "
                            f"{len(COLUMNS)}")
    return frame.rename(dict(zip(frame.columns, COLUMNS)))


def read_patterns(path: Path) -> list[dict]:
    try:
        patterns = json.loads(path.read_text())["patterns"]
    except (OSError, ValueError, KeyError) as e:
        raise AmlworldError(f"{path}: not an AMLworld pattern file ({e})") from None
    return patterns


def _minor(code: str) -> int:
    unit = iso4217.Currency(code).exponent if code != "XXX" else None
    return 8 if unit is None else unit  # Bitcoin: satoshi


def convert(trans: Path, out: Path, patterns: Path | None = None, seed: int = 0,
            fmt: str = "parquet") -> Imported:
    rows = read_transactions(trans)
    labels: list[Label] = []
    if patterns is not None:
        found = read_patterns(patterns)
        rows = rows.filter(pl.col("is_laundering") == "0")
        cases = []
        for k, p in enumerate(found):
            frame = pl.DataFrame(p["transactions"], infer_schema_length=None).select(
                pl.col(c).cast(pl.String) for c in COLUMNS)
            cases.append(frame.with_columns(pl.lit(k).alias("case")))
        laundering = pl.concat(cases)
        rows = pl.concat([rows.with_columns(pl.lit(None, dtype=pl.Int32).alias("case")),
                          laundering.with_columns(pl.col("case").cast(pl.Int32))])
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int32).alias("case"))
    ts = pl.col("timestamp").str.to_datetime("%Y/%m/%d %H:%M", time_unit="ns",
                                             time_zone="UTC", strict=False)
    rows = rows.with_columns(ts.dt.epoch("ns").alias("ts_event"))
    bad = rows.filter(pl.col("ts_event").is_null())
    if bad.height:
        raise AmlworldError(f"{trans}: timestamp {bad['timestamp'][0]!r} is not YYYY/MM/DD HH:MM")
    rows = rows.sort("ts_event", maintain_order=True)
    currency = pl.col("payment_currency").replace_strict(CURRENCIES, default=None)
    rows = rows.with_columns(currency.alias("currency"))
    unknown = rows.filter(pl.col("currency").is_null())
    if unknown.height:
        raise AmlworldError(f"{trans}: unknown currency {unknown['payment_currency'][0]!r}")
    amounts = [Decimal(a).quantize(Decimal(1).scaleb(-_minor(c)), rounding=ROUND_HALF_EVEN)
               for a, c in rows.select("amount_paid", "currency").iter_rows()]
    banks = sorted(set(rows["from_bank"]) | set(rows["to_bank"]))
    bic = {b: ids.bic(i, "US") for i, b in enumerate(banks)}
    rng = np.random.default_rng(seed)
    reports = rows.select(
        pl.format("AW{}", pl.int_range(1, pl.len() + 1)).alias("report_id"),
        pl.lit("NEW").alias("action"), pl.lit(SUBMITTER).alias("submitter"), "ts_event",
        ids.uuid4s(rng, rows.height).alias("payment_id"),
        pl.col("from_account").alias("debtor_account_id"),
        pl.col("to_account").alias("creditor_account_id"),
        pl.col("from_bank").replace_strict(bic).alias("debtor_agent"),
        pl.col("to_bank").replace_strict(bic).alias("creditor_agent"),
        pl.Series("amount", amounts, dtype=pl.Decimal(38, 9)),
        "currency", pl.col("payment_format").alias("channel"),
        pl.lit("US").alias("debtor_country"), pl.lit("US").alias("creditor_country"))
    out.mkdir(parents=True, exist_ok=True)
    files = [write_reports(reports, "payment", out, f"payment-{trans.stem}", fmt)]
    if patterns is not None:
        for k, p in enumerate(found):
            mine = rows.filter(pl.col("case") == k)
            accounts = sorted(set(mine["from_account"]) | set(mine["to_account"]))
            labels.append(Label(f"AMLW-{k + 1:04d}", TYPOLOGIES[p["pattern_type"].split(":")[0].strip()],
                                accounts, None, int(mine["ts_event"].min()),
                                int(mine["ts_event"].max())))
        files.append(write_labels(labels, out))
        # Which payments are laundering, for transaction-level scores.
        typology = pl.Series([x.typology for x in labels], dtype=pl.String)
        write_truth(reports["payment_id"], rows["case"].replace_strict(
            pl.Series(range(len(labels)), dtype=pl.Int32), typology, default=None,
            return_dtype=pl.String), out)
    return Imported(files, reports.height, int(rows["case"].is_not_null().sum()), len(labels))
