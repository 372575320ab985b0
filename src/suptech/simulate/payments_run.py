"""`suptech simulate payments`: the payment flow of a few days, with laundering labelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from suptech.formats import ids
from suptech.simulate.market import midnight_ns
from suptech.formats.files import (
    Label, institution_parties, write_labels, write_reports, write_truth)
from suptech.simulate.payment_cases import PAYMENT_TYPOLOGIES, Injected
from suptech.simulate.payments import FOREIGN, Network, as_reports, background, build_network
from suptech.simulate.universe import REGION_WEIGHTS, REGIONS

DEFAULT_START = date(2026, 3, 2)
#: Share of payments that are laundering, as in AMLworld.
LAUNDERING_SHARE = 0.001


@dataclass
class PaymentResult:
    files: list[Path]
    labels: list[Label]
    payments: int
    laundering: int
    #: The first moment after the `history` days (ns), where a scan of the laundering
    #: days starts; None without history.
    scanned_from: int | None = None


def simulate_payments(out: Path, seed: int = 1, days: int = 3, accounts: int = 20_000,
                      start: date = DEFAULT_START, fmt: str = "parquet",
                      cases_per_typology: int | None = None,
                      truth: bool = False, history: int = 0) -> PaymentResult:
    """Simulate; `truth` also writes truth.parquet (the typology of every payment).
    `history`: the first days are ordinary payments only (the accounts' past, before
    the days laundering is injected into)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    net = build_network(rng, accounts, days)
    flow = background(net)
    net.first_case_day = history
    per_case = 12  # payments in an average injected case
    share = LAUNDERING_SHARE * (days - history) / days
    per_typology = cases_per_typology or max(
        2, round(share * flow.height / per_case / len(PAYMENT_TYPOLOGIES)))
    injected: list[Injected] = [inject(net) for inject in PAYMENT_TYPOLOGIES.values()
                                for _ in range(per_typology)]
    laundering = [case.frame.with_columns(pl.lit(k, dtype=pl.Int64).alias("case"))
                  for k, case in enumerate(injected)]
    every = pl.concat([flow.with_columns(pl.lit(None, dtype=pl.Int64).alias("case")),
                       *laundering])
    reports = as_reports(every, net, start, first_id=1)
    # pacs.008 carries payments only: the register goes beside it as CSV.
    files = _reference_files(net, start, out, "csv" if fmt == "xml" else fmt)
    # The reports' order (as_reports sorts the same way, keeping ties in place).
    ordered = every.sort(["day", "second"], maintain_order=True)
    day_of = ordered["day"]
    for d in range(days):
        stem = (start + timedelta(days=d)).isoformat()
        files.append(write_reports(reports.filter(day_of == d), "payment", out,
                                   f"payment-{stem}", fmt))
    labels = _labels(injected, ordered, net, start)
    files.append(write_labels(labels, out))
    typology = pl.Series([c.typology for c in injected], dtype=pl.String)
    if truth:
        write_truth(reports["payment_id"], ordered["case"].replace_strict(
            pl.Series(range(len(injected))), typology, default=None,
            return_dtype=pl.String), out)
    return PaymentResult(files, labels, reports.height, sum(c.frame.height for c in injected),
                         midnight_ns(start + timedelta(days=history)) if history else None)


def _labels(injected: list[Injected], every: pl.DataFrame, net: Network,
            start: date) -> list[Label]:
    labels = []
    for k, case in enumerate(injected):
        mine = every.filter(pl.col("case") == k)
        ns = [midnight_ns(start + timedelta(days=int(d))) + int(s * 1e9)
              for d, s in mine.select("day", "second").iter_rows()]
        labels.append(Label(f"{case.typology}-{k + 1:04d}", case.typology,
                            [f"PAY{a}" for a in case.accounts], None, min(ns), max(ns),
                            case.variant))
    return labels


def _reference_files(net: Network, start: date, out: Path, fmt: str) -> list[Path]:
    """Parties and accounts of the domestic accounts (foreign ones are not reported)."""
    ts = midnight_ns(start) + 8 * 3600 * 1_000_000_000
    kind = np.array(net.kind)
    domestic = np.flatnonzero(kind != FOREIGN)
    rng = np.random.default_rng(len(net.kind))
    owner_type = np.array(net.owner_type)[domestic]
    leis = pl.Series([ids.lei("PCOM", int(i)) if t == "ENTITY" else None
                      for i, t in zip(domestic, owner_type)], dtype=pl.String)
    banks = np.array(net.bank)[domestic]
    submitter = pl.Series(net.bank_leis).gather(banks)
    n = len(domestic)
    parties = pl.DataFrame({
        "report_id": [f"PPA{i}" for i in domestic],
        "action": "NEW", "submitter": submitter, "ts_event": ts,
        "party_id": [f"PP{i}" for i in domestic], "party_type": owner_type,
        "lei": leis, "region": np.array(REGIONS)[rng.choice(4, n, p=REGION_WEIGHTS)],
        "group_id": pl.Series([net.group.get(int(i)) for i in domestic], dtype=pl.String),
    })
    # A savings account is held by its saver's party: no party of its own.
    holds = np.array(net.owner)[domestic]
    parties = pl.concat([parties.filter(pl.Series(holds == domestic)), institution_parties(
        [(lei, f"Bank {k + 1}", REGIONS[k % len(REGIONS)])
         for k, lei in enumerate(net.bank_leis)], ts)], how="diagonal_relaxed")
    accounts = pl.DataFrame({
        "report_id": [f"PAC{i}" for i in domestic], "action": "NEW", "submitter": submitter,
        "ts_event": ts, "account_id": [f"PAY{i}" for i in domestic],
        "owner_party_id": [f"PP{o}" for o in holds], "member_lei": submitter,
        "account_type": "PAYMENT", "opened_date": [net.opened[i] for i in domestic],
        # As the bank knows it: in the weeks before the first simulated day, or years ago.
        "last_active_date": [net.idle_since.get(int(i)) or max(
            net.opened[i], start - timedelta(days=int(d)))
            for i, d in zip(domestic, rng.integers(1, 60, n))],
    })
    return [write_reports(parties, "party", out, "party-payments", fmt),
            write_reports(accounts, "account", out, "account-payments", fmt)]
