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
    """One alert a case: without the alerts that hold a payment or an order another
    alert holds where that other names the case better. A rule's alert names it better
    than a learned detector's (one that names each case's typology: its typologies were
    often another name for a rule's case, a fan-in called a dormant account, a stack a
    bipartite block); the model raises what the rules did not see. Among rules, a
    detector says which typologies it names better (`Detector.supersedes`: a dormant
    account that wakes to collect from many is an activation, not a fan-in)."""
    if alerts.is_empty():
        return alerts
    kind = {cls.id: cls for cls in REGISTRY.detectors.values()}
    rows = list(alerts.select("detector", "typology").iter_rows())
    held = [set((e or "").split(";")) - {""} for e in alerts["evidence"]]
    holding: dict[str, list[int]] = {}
    for k, ids in enumerate(held):
        for e in ids:
            holding.setdefault(e, []).append(k)

    def yields(k: int) -> bool:
        detector, typology = rows[k]
        learned = kind[detector].typology == "*"
        others = {o for e in held[k] for o in holding[e]}
        return any(learned and kind[rows[o][0]].typology != "*"
                   or typology in kind[rows[o][0]].supersedes for o in others - {k})

    return alerts.filter(pl.Series([not yields(k) for k in range(len(rows))]))


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
