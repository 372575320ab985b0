"""Every indicator's levels over some days, as one frame: what the risk page's heat map,
the daily report and `suptech risk levels` show. The alerts come from the same levels
(`Indicator.hits`)."""

from __future__ import annotations

import polars as pl

from suptech.detect.base import REGISTRY
from suptech.model.calendar import DAY, DEFAULT
from suptech.risk.data import risk_data
from suptech.risk.indicator import Indicator

SCHEMA = {"indicator": pl.String, "typology": pl.String, "day": pl.Int64, "isin": pl.String,
          "subject": pl.String, "value": pl.Float64, "level": pl.Float64, "why": pl.String}


def indicators(rules_path=None) -> list[Indicator]:
    """Every registered risk indicator, under the rules at `rules_path` (default: the
    rules in force, `rules.rules`)."""
    import suptech.risk  # noqa: F401  (registers them)

    return [cls(rules_path=rules_path) for cls in REGISTRY.detectors.values()
            if cls.domain == "risk"]


def last_day(store) -> int | None:
    """The local day of the store's last trade (days since the epoch): the day the risk
    commands and page show when none is named; None without trades."""
    last = store.view("trade").ts_event.max().to_pyarrow().as_py()
    return None if last is None else DEFAULT.local_day(last)


def day_range(first: int, last: int) -> tuple[int, int]:
    """[start, end) in ns of local days `first` to `last` (days since the epoch)."""
    return DEFAULT.day_start(first), DEFAULT.day_start(last) + DAY


#: A level's colour on the heat maps, over 0 to 2 (the line at 1, past it in red): the
#: risk page's and the report's.
LEVEL_COLOURS = ((0, "#f7fbff"), (0.35, "#c6dbef"), (0.499, "#fdd49e"), (0.5, "#fc8d59"),
                 (1, "#b30000"))


def grid(levels: pl.DataFrame, shown: int) -> tuple[list[str], list[str], dict]:
    """The heat map's cells (the risk page's and the report's): the typologies measured
    of shares, the `shown` shares with the highest level of any, and per (share,
    typology) the highest level that day (a member's or group's in that share) and its
    measure."""
    per = levels.filter(pl.col("isin").is_not_null()).group_by(["isin", "typology"]) \
        .agg(pl.col("level").max(), pl.col("value").sort_by("level").last())
    typologies = sorted(per["typology"].unique().to_list()) if per.height else []
    top = per.group_by("isin").agg(pl.col("level").max().alias("top")) \
        .sort(["top", "isin"], descending=[True, False]).head(shown)["isin"].to_list()
    return typologies, top, {(r["isin"], r["typology"]): r for r in per.iter_rows(named=True)}


def institutions(levels: pl.DataFrame, shown: int) -> pl.DataFrame:
    """The measures of institutions (exposure contagion), highest first: subject,
    level, value."""
    return levels.filter(pl.col("isin").is_null() & (pl.col("indicator") == "debtrank")) \
        .sort(["level", "subject"], descending=[True, False]).head(shown) \
        .select("subject", "level", "value")


def levels(store, first: int, last: int, chosen: list[Indicator] | None = None) -> pl.DataFrame:
    """Each indicator's levels on local days `first` to `last`, one row per subject and
    day, highest level first."""
    start, end = day_range(first, last)
    chosen = chosen or indicators()
    r = risk_data(store, start, end, history=max(i.data_options()["history"] for i in chosen))
    frames = []
    try:
        for ind in chosen:
            t = r.reported(ind.levels(r)).select("day", "isin", "subject", "value", "level",
                                                 "why")
            frames.append(pl.from_arrow(t.to_pyarrow()).with_columns(
                indicator=pl.lit(ind.id), typology=pl.lit(ind.typology)))
    finally:
        r.release()
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    out = pl.concat([f.select(list(SCHEMA)).cast(SCHEMA) for f in frames])
    return out.sort(["level", "indicator", "subject"], descending=[True, False, False],
                    nulls_last=True)
