"""A month of data quality as the page and the report card show it: each institution's
indicators over the month beside the market's, the ones far worse than the market
flagged, and the days' trend. Read from what `suptech reconcile` kept
(`Store.reconciled`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from suptech.model.calendar import date_of, day_of
from suptech.reconcile.quality import INDICATORS

#: An institution's misses (what an indicator counts against it: the rate itself where
#: less is better, what is missing from it where more is) flagged beyond this many times
#: the market's.
FLAG = 2.0


@dataclass
class Month:
    label: str  # YYYY-MM
    first: int  # local days since the epoch
    last: int
    quality: pl.DataFrame  # `quality.COLUMNS` and value, of the month's days
    breaks: pl.DataFrame  # `breaks.COLUMNS` and day

    @property
    def empty(self) -> bool:
        return self.quality.is_empty()


def month_of(store, month: str | None) -> Month | None:
    """The month named (YYYY-MM), else the one of the latest trading day reconciled;
    None where nothing was reconciled, or `month` is not one."""
    if month:
        try:
            start = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            return None
    else:  # the latest day of trading reported (rejections are dated by receipt)
        q = store.con.table("quality")
        latest = q.filter(q.indicator != "rejected").day.max().execute()
        if latest is None:
            return None
        start = date_of(int(latest)).replace(day=1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    first, last = day_of(start), day_of(end) - 1
    q = store.reconciled("quality", first, last)
    q = q.with_columns(value=pl.col("numerator") / pl.col("denominator"))
    return Month(start.strftime("%Y-%m"), first, last, q,
                 store.reconciled("breaks", first, last))


def _misses(frame: pl.DataFrame) -> pl.DataFrame:
    """numerator/denominator as the misses they count: the shortfall of the indicators
    where more is better."""
    better = [k for k, (_, high) in INDICATORS.items() if high]
    high = pl.col("indicator").is_in(better)
    return frame.with_columns(
        missed=pl.when(high).then(pl.col("denominator") - pl.col("numerator"))
        .otherwise(pl.col("numerator")))


def summary(m: Month) -> pl.DataFrame:
    """Per institution and indicator over the month: numerator, denominator, value, the
    market's value (every institution pooled), and `flagged` where its misses are over
    FLAG times the market's."""
    q = _misses(m.quality)
    per = q.group_by("institution", "indicator").agg(
        pl.col("numerator", "denominator", "missed").sum())
    market = q.group_by("indicator").agg(
        market=pl.col("numerator").sum() / pl.col("denominator").sum(),
        market_missed=pl.col("missed").sum() / pl.col("denominator").sum())
    return per.join(market, on="indicator").with_columns(
        value=pl.col("numerator") / pl.col("denominator"),
        flagged=(pl.col("missed") > 0) & (pl.col("missed") / pl.col("denominator")
                                          > FLAG * pl.col("market_missed"))).sort(
        ["institution", "indicator"])


def table(m: Month, names: dict[str, str] | None = None) -> list[dict]:
    """One row per institution: its name, each indicator's value and flag, the number
    flagged; the most flagged first, then by name."""
    s = summary(m)
    rows = []
    for (lei,), part in s.group_by(["institution"]):
        cells = {r["indicator"]: r for r in part.iter_rows(named=True)}
        rows.append({"institution": lei, "name": (names or {}).get(lei, ""),
                     "cells": cells, "flagged": sum(r["flagged"] for r in cells.values())})
    return sorted(rows, key=lambda r: (-r["flagged"], r["institution"]))


def market(m: Month) -> dict[str, float]:
    s = summary(m)
    return dict(s.select("indicator", "market").unique().iter_rows())


def daily(m: Month, institution: str | None = None) -> pl.DataFrame:
    """Each day's value of each indicator (date, indicator, value): the institution's,
    or the market's (every institution pooled)."""
    q = m.quality if institution is None else m.quality.filter(
        pl.col("institution") == institution)
    return q.group_by("day", "indicator").agg(
        value=pl.col("numerator").sum() / pl.col("denominator").sum()).with_columns(
        date=pl.col("day").cast(pl.Date)).sort(["indicator", "day"])
