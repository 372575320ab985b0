"""Run detectors over the report database and turn their hits into alerts."""

from __future__ import annotations

import polars as pl

import suptech.detect.market  # noqa: F401  (registers the built-in detectors)
import suptech.detect.payments  # noqa: F401
from suptech.detect.base import REGISTRY, Detector
from suptech.detect.market.data import market_data
from suptech.detect.payments.data import payment_data
from suptech.model.alert import COLUMNS, alert_id
from suptech.store.schema import alert_schema

DATA = {"market": market_data, "payments": payment_data}

#: The frame of alerts with none in it, typed.
EMPTY = pl.DataFrame(schema=alert_schema(COLUMNS))


def default_case(accounts: str, isin: str | None, start: int) -> str:
    """The case key of a detector whose hits name none: its accounts, instrument and
    start (the key every alert had before detectors named their cases)."""
    return f"{accounts}|{isin or ''}|{start}"


def run(store, detectors: list[Detector] | None = None, start_ns: int | None = None,
        end_ns: int | None = None) -> pl.DataFrame:
    if detectors is None:
        detectors = [d for cls in REGISTRY.detectors.values() if (d := cls()).by_default()]
    results, data = [], {}
    try:
        for d in detectors:
            if d.domain not in data:  # each domain's tables are built once per run
                data[d.domain] = DATA[d.domain](store, start_ns, end_ns)
            results.append((d, pl.from_arrow(d.hits(data[d.domain]).to_pyarrow())))
    finally:
        for m in data.values():
            m.release()
    return one_per_case(alerts_of(results))


def one_per_case(alerts: pl.DataFrame) -> pl.DataFrame:
    """Without the alerts of a learned detector (one that names each case's typology)
    that hold a payment or an order a rule's alert holds: the case is the rule's, which
    says what the shape is; the model raises what the rules did not see. (Learned
    typologies were often another name for a rule's case: a fan-in called a dormant
    account, a stack a bipartite block.)"""
    learned = {cls.id for cls in REGISTRY.detectors.values() if cls.typology == "*"}
    mine = pl.col("detector").is_in(list(learned))
    if alerts.is_empty() or alerts.filter(mine).is_empty():
        return alerts
    held = set(alerts.filter(~mine)["evidence"].drop_nulls().str.split(";").explode())
    seen = [d not in learned or not held.intersection((e or "").split(";"))
            for d, e in alerts.select("detector", "evidence").iter_rows()]
    return alerts.filter(pl.Series(seen))


def alerts_of(results: list[tuple[Detector, pl.DataFrame]]) -> pl.DataFrame:
    """Detectors' hits as alerts: the one place hits become alerts, for the scan and
    the stream alike."""
    frames = []
    for d, hits in results:
        if hits.is_empty():
            continue
        frames.append(hits.with_columns(
            pl.col("account_ids").list.sort().list.join(";"),
            pl.col("evidence").list.unique().list.sort().list.join(";"),
            pl.col("score").round(4),
            pl.lit(d.id).alias("detector"),
            # A learned detector names each case's typology and why it was raised.
            pl.col("typology") if "typology" in hits.columns
            else pl.lit(d.typology).alias("typology"),
            pl.col("explanation") if "explanation" in hits.columns
            else pl.lit(None, dtype=pl.String).alias("explanation"),
            pl.lit(d.version).alias("detector_version"),
            pl.lit(d.params.as_json()).alias("parameters"))
            .select([c for c in COLUMNS if c != "alert_id"] + ["case"] * ("case" in hits.columns)))
    if not frames:
        return EMPTY
    alerts = pl.concat(frames, how="diagonal")
    if "case" not in alerts.columns:
        alerts = alerts.with_columns(pl.lit(None, pl.String).alias("case"))
    ids = [alert_id(d, c if c is not None else default_case(a, i, s)) for d, c, a, i, s in
           alerts.select("detector", "case", "account_ids", "isin", "window_start").iter_rows()]
    return alerts.with_columns(pl.Series("alert_id", ids, pl.String)).select(COLUMNS) \
        .sort(["typology", "window_start", "alert_id"])
