"""Interbank exposures for `suptech simulate risk`: institutions, their tier 1 capital
and what each has lent to others, reported on the first day whole and afterwards as
positions change, with labelled episodes of exposure contagion.

An ordinary exposure is a few per cent of its lender's capital, so that no
institution's failure takes much of the system with it. An episode is an institution
borrowing, on one day, more than their capital from lenders that together hold a share
of the system's capital past the rule's line (so that its failure would wipe them out),
repaid some days later. A look-alike borrows as much from lenders holding less than the
line (0.3-0.6 of it: the lenders it wipes out pass some of their distress on to theirs,
a tenth of the line or two): large borrowing that is not systemic, not labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from suptech.formats import ids
from suptech.formats.files import Label
from suptech.model.calendar import DEFAULT
from suptech.simulate.market import midnight_ns

SECOND = 1_000_000_000
KINDS = ("LOAN", "DEPOSIT", "REPO", "SECURITIES")
#: An ordinary exposure's share of its lender's capital.
ORDINARY = (0.005, 0.03)
#: Days an episode's borrowing stays before it is repaid.
HELD = 3


@dataclass
class Exposures:
    capital: pl.DataFrame  # institution_capital reports
    exposures: pl.DataFrame  # exposure reports
    labels: list[Label]


def simulate_exposures(rng, calendar, month: int, banks: int = 40, each: int = 2,
                       line: float = 0.10) -> Exposures:
    """`banks` institutions over the `calendar`; `each` episodes and `each` look-alikes
    in its last `month` days, against the DebtRank `line` in force."""
    lei = [ids.lei("BANK", k + 1) for k in range(banks)]
    capital = np.round(rng.lognormal(np.log(30e9), 0.8, banks), -6)
    share = capital / capital.sum()
    # (lender, borrower) -> [kind, amount]; each lends to 4-8 others.
    book: dict[tuple[int, int], list] = {}
    for i in range(banks):
        for j in rng.choice([b for b in range(banks) if b != i], rng.integers(4, 9),
                            replace=False):
            book[(i, int(j))] = [str(rng.choice(KINDS)), _ordinary(rng, capital[i])]
    rows = [(0, i, j, k, a) for (i, j), (k, a) in book.items()]
    labels: list[Label] = []
    days, n = len(calendar), 0
    # Episodes apart in time: one's lenders, wiped out, would make another's borrower
    # systemic too (contagion, but not the episode labelled).
    slots = rng.permutation(np.arange(days - month, days - HELD, HELD + 1))
    if len(slots) < 2 * each:
        raise ValueError(f"no room for {each} exposure episodes in {month} days")
    busy = set()
    for e, d in enumerate(slots[: 2 * each]):
        d = int(d)
        systemic = e % 2 == 0
        borrower = int(rng.integers(banks))
        others = [b for b in rng.permutation(banks) if b != borrower]
        lenders, held = _lenders(rng, others, share, line, systemic)
        for i in lenders:
            kind, usual = book.get((i, borrower), ["LOAN", 0.0])
            book.setdefault((i, borrower), [kind, usual])
            big = capital[i] * rng.uniform(1.05, 1.5)
            rows.append((d, i, borrower, kind, big))
            rows.append((d + HELD, i, borrower, kind, usual))
            busy.update((i, borrower, x) for x in range(d, d + HELD + 1))
        if systemic:
            n += 1
            start = midnight_ns(calendar[d])
            labels.append(Label(f"EXPOSURE-{n:03d}", "EXPOSURE_CONTAGION", [],
                                None, start, DEFAULT.close(DEFAULT.local_day(start)),
                                f"{len(lenders)} lenders, {held:.0%} of capital",
                                subject=lei[borrower]))
    # Ordinary positions drift: a tenth of them re-reported each day, within their range.
    pairs = list(book)
    for d in range(1, days):
        for p in rng.choice(len(pairs), max(1, len(pairs) // 10), replace=False):
            i, j = pairs[p]
            if (i, j, d) in busy:
                continue
            rows.append((d, i, j, book[(i, j)][0], _ordinary(rng, capital[i])))
    return Exposures(_capital(lei, capital, calendar), _exposures(lei, rows, calendar), labels)


def _ordinary(rng, capital: float) -> float:
    return float(np.round(capital * rng.uniform(*ORDINARY), -3))


def _lenders(rng, others, share, line: float, systemic: bool):
    """Lenders, in the order given, until their capital share is past the line (1.3-2.5
    times it) or, for a look-alike, within 0.3-0.6 of it."""
    lo, hi = (1.3, 2.5) if systemic else (0.3, 0.6)
    aim = line * rng.uniform(lo, hi)
    chosen, held = [], 0.0
    for b in others:
        if held + share[b] > (hi * line):
            continue
        chosen.append(int(b))
        held += share[b]
        if held >= aim:
            break
    if not lo * line <= held <= hi * line:
        raise ValueError("no set of lenders fits the episode: give more banks")
    return chosen, held


def _capital(lei, capital, calendar) -> pl.DataFrame:
    return pl.DataFrame({
        "report_id": [f"RK{k}" for k in range(len(lei))], "action": "NEW",
        "submitter": lei, "ts_event": midnight_ns(calendar[0]) + 7 * 3600 * SECOND,
        "institution_lei": lei, "tier1_capital": [f"{c:.0f}" for c in capital],
        "currency": "CNY"})


def _exposures(lei, rows, calendar) -> pl.DataFrame:
    """Reported by the lender in the evening of its day, in the order made."""
    rows.sort(key=lambda r: r[0])
    return pl.DataFrame({
        "report_id": [f"RX{k}" for k in range(len(rows))], "action": "NEW",
        "submitter": [lei[r[1]] for r in rows],
        "ts_event": [midnight_ns(calendar[r[0]]) + 18 * 3600 * SECOND + k
                     for k, r in enumerate(rows)],
        "lender_lei": [lei[r[1]] for r in rows], "borrower_lei": [lei[r[2]] for r in rows],
        "exposure_type": [r[3] for r in rows], "amount": [f"{r[4]:.0f}" for r in rows],
        "currency": "CNY"})
