"""How people are shown moments and prices: in one time zone for the deployment, said
wherever a time is shown, and prices to their instrument's tick.

The zone is `SUPTECH_TIME_ZONE` (an IANA name), Asia/Shanghai by default: the regional
supervisors' own. Stored times stay nanoseconds since the epoch (UTC) and ISO 8601
strings with their offset; only what is shown to a person is converted here.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

DEFAULT_ZONE = "Asia/Shanghai"


@cache
def zone() -> str:
    """The deployment's time zone (a name SUPTECH_TIME_ZONE gives that is no zone is
    said plainly at the first time shown, not as a wrong clock)."""
    name = os.environ.get("SUPTECH_TIME_ZONE", "").strip() or DEFAULT_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"SUPTECH_TIME_ZONE={name!r} is not a time zone "
                         "(an IANA name such as Asia/Shanghai)") from None
    return name


def local(ns: pl.Expr) -> pl.Expr:
    """Nanoseconds since the epoch as datetimes in the deployment's zone."""
    return pl.from_epoch(ns, "ns").dt.replace_time_zone("UTC").dt.convert_time_zone(zone())


def local_text(ns: pl.Expr, offset: bool = False) -> pl.Expr:
    """... as text to the millisecond (`offset`: ISO 8601 with the zone's offset)."""
    return local(ns).dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z" if offset
                                 else "%Y-%m-%d %H:%M:%S%.3f")


def local_times(ns: pl.Series) -> list[str]:
    return pl.select(local_text(pl.lit(ns))).to_series().to_list()


def iso_local(text: str) -> str:
    """An ISO 8601 moment with its offset (an audit or case log entry's) in the
    deployment's zone, to the second."""
    return datetime.fromisoformat(text).astimezone(ZoneInfo(zone())).strftime("%Y-%m-%d %H:%M:%S")


def at_tick(price: Decimal | None, tick: Decimal | None) -> str:
    """A price with as many decimals as its instrument's tick (two where the tick is
    not known), not the store's nine."""
    if price is None:
        return ""
    places = max(0, -tick.normalize().as_tuple().exponent) if tick else 2
    return f"{price:.{places}f}"


def readable(frame: pl.DataFrame, ticks: dict[str, Decimal] | None = None) -> pl.DataFrame:
    """Evidence as people read it: its moments (`ts_` columns) in the deployment's zone,
    its prices at their instrument's tick (`ticks`, by ISIN) and its amounts in cents."""
    ticks = ticks or {}
    frame = frame.with_columns(local_text(pl.col(c)).alias(c)
                               for c in frame.columns if c.startswith("ts_"))
    isins = frame["isin"].to_list() if "isin" in frame.columns else [None] * frame.height
    for column in ("price", "amount"):
        if column in frame.columns:
            frame = frame.with_columns(pl.Series(column, [
                at_tick(v, ticks.get(i) if column == "price" else None)
                for v, i in zip(frame[column].to_list(), isins)], dtype=pl.String))
    return frame
