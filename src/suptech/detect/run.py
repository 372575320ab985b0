"""Run detectors over the report database and turn their hits into alerts."""

from __future__ import annotations

import polars as pl

import suptech.detect.market  # noqa: F401  (registers the built-in detectors)
import suptech.detect.payments  # noqa: F401
import suptech.investor  # noqa: F401
import suptech.risk  # noqa: F401
from suptech.detect.base import REGISTRY, Detector
from suptech.detect.calibration import shipped
from suptech.detect.market.data import market_data
from suptech.detect.payments.data import payment_data
from suptech.investor.data import investor_data
from suptech.risk.data import risk_data
from suptech.model.alert import COLUMNS, alert_id, also
from suptech.store.schema import alert_schema

DATA = {"market": market_data, "payments": payment_data, "risk": risk_data,
        "investor": investor_data}
#: The reports a domain's detectors start from: none in a run's range, none of them runs
#: (a scan of a market day spends nothing on the payment detectors).
PRIMARY = {"market": ("order_event", "trade"), "payments": ("payment",),
           "risk": ("trade", "order_event", "exposure"), "investor": ("product_sale", "complaint")}
#: Reports that stand until changed: made before a run's range, they still call for its
#: domain (a reassessment falls due with nothing reported that day).
STANDING = {"risk": ("tech_application", "pilot"),
            "investor": ("complaint", "investor_assessment")}  # assessed investors trade

#: The frame of alerts with none in it, typed.
EMPTY = pl.DataFrame(schema=alert_schema(COLUMNS))


def default_case(accounts: str, isin: str | None, start: int) -> str:
    """The case key of a detector whose hits name none: its accounts, instrument and
    start (the key every alert had before detectors named their cases)."""
    return f"{accounts}|{isin or ''}|{start}"


def run(store, detectors: list[Detector] | None = None, start_ns: int | None = None,
        end_ns: int | None = None, keep_raw: bool = False) -> pl.DataFrame:
    """Every alert the detectors raise over [start_ns, end_ns), one per case, its score
    calibrated (`suptech.detect.calibration`); `keep_raw` keeps each detector's own
    score beside, as `raw` (what a calibration is fitted on)."""
    if detectors is None:
        detectors = [d for cls in REGISTRY.detectors.values() if (d := cls()).by_default()]
    results, data, options = [], {}, {}
    for d in detectors:
        mine = options.setdefault(d.domain, {})
        for k, v in d.data_options().items():
            mine[k] = max(mine.get(k, v), v)
    try:
        for d in detectors:
            if d.domain not in data:  # each domain's tables are built once per run
                data[d.domain] = DATA[d.domain](store, start_ns, end_ns, **options[d.domain]) \
                    if _any(store, PRIMARY[d.domain], start_ns, end_ns) \
                    or _any(store, STANDING.get(d.domain, ()), None, end_ns) else None
            if data[d.domain] is not None:
                results.append((d, pl.from_arrow(d.hits(data[d.domain]).to_pyarrow())))
    finally:
        for m in data.values():
            if m is not None:
                m.release()
    return one_per_case(alerts_of(results, keep_raw))


def _any(store, names: tuple[str, ...], start_ns: int | None, end_ns: int | None) -> bool:
    """Whether the store holds a report of any of `names` in [start_ns, end_ns)."""
    return any(store.view(n, start_ns=start_ns, end_ns=end_ns).limit(1).count()
               .to_pyarrow().as_py() for n in names)


def one_per_case(alerts: pl.DataFrame) -> pl.DataFrame:
    """One alert a case: an alert that holds a payment or an order another alert holds,
    where that other names the case better, joins that other one; the one kept lists
    it under "also" in its explanation (`model.alert.also`), with its typology, score
    and reasons, so the analyst sees every detector that fired.

    - A rule's alert names a case better than a learned detector's (one that names each
      case's typology: its typologies were often another name for a rule's case, a
      fan-in called a dormant account, a stack a bipartite block); the model raises
      alone what the rules did not see.
    - Among rules, a detector says which typologies it names better
      (`Detector.supersedes`: a dormant account that wakes to collect from many is an
      activation, not a fan-in), or which it names better when it holds all the other
      alert holds and more (`Detector.encloses`: a ring carved out of a walk).

    Other alerts that share evidence stay apart: a pump's trades can be an insider's
    too, and a true walk through a hub's fan-out is a case of its own (joining them
    under the likelier alert lost three true walks of 48 on the development seeds)."""
    if alerts.is_empty():
        return alerts
    kind = {cls.id: cls for cls in REGISTRY.detectors.values()}
    rows = list(alerts.select("detector", "typology").iter_rows())
    held = [set((e or "").split(";")) - {""} for e in alerts["evidence"]]
    holding: dict[str, list[int]] = {}
    for k, ids in enumerate(held):
        for e in ids:
            holding.setdefault(e, []).append(k)

    def names_better(o: int, k: int) -> bool:
        (dk, tk), (do, _) = rows[k], rows[o]
        learned = kind[dk].typology == "*"
        return (learned and kind[do].typology != "*" or tk in kind[do].supersedes
                or tk in kind[do].encloses and held[k] < held[o])

    over = [{o for e in held[k] for o in holding[e] if o != k and names_better(o, k)}
            for k in range(len(rows))]
    kept = [not o for o in over]
    joined: dict[int, list[int]] = {}
    for k in range(len(rows)):
        # To the better ones kept; where those yield in turn, to whoever took them.
        targets, seen, todo = set(), set(), list(over[k])
        while todo:
            o = todo.pop()
            if o not in seen:
                seen.add(o)
                if kept[o]:
                    targets.add(o)
                else:
                    todo += over[o]
        for target in sorted(targets):
            joined.setdefault(target, []).append(k)
    if not joined:
        return alerts.filter(pl.Series(kept))
    records = alerts.to_dicts()
    why = [also(records[k]["explanation"], [records[j] for j in joined.get(k, [])])
           for k in range(len(records))]
    return alerts.with_columns(pl.Series("explanation", why, pl.String)) \
        .filter(pl.Series(kept))


def alerts_of(results: list[tuple[Detector, pl.DataFrame]],
              keep_raw: bool = False) -> pl.DataFrame:
    """Detectors' hits as alerts: the one place hits become alerts, for the scan and
    the stream alike, each scored by the shipped calibration (`detect.calibration`)."""
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
        return EMPTY.with_columns(raw=pl.lit(None, pl.Float64)) if keep_raw else EMPTY
    alerts = pl.concat(frames, how="diagonal")
    if "case" not in alerts.columns:
        alerts = alerts.with_columns(pl.lit(None, pl.String).alias("case"))
    ids = [alert_id(d, c if c is not None else default_case(a, i, s)) for d, c, a, i, s in
           alerts.select("detector", "case", "account_ids", "isin", "window_start").iter_rows()]
    alerts = alerts.with_columns(pl.Series("alert_id", ids, pl.String)).select(COLUMNS)
    if alerts["alert_id"].is_duplicated().any():
        # A detector that finds one case twice (a mesh of four accounts is a stack's
        # layers either way round) raises it once: an id is one alert.
        alerts = alerts.group_by("alert_id", maintain_order=True).agg(
            pl.col("evidence").str.split(";").list.explode(keep_nulls=False, empty_as_null=False)
            .unique().sort().str.join(";"),
            pl.col("score").max(), pl.col("window_start").min(), pl.col("window_end").max(),
            pl.exclude("evidence", "score", "window_start", "window_end").first(),
        ).select(COLUMNS)
    raw, calibration = alerts["score"], shipped()
    if calibration is not None:
        # A risk indicator's score says how far past its line a measure is, not how
        # likely a suspicion is true: it is not calibrated.
        measured = [d.id for d, _ in results if not d.calibrated]
        alerts = alerts.with_columns(
            pl.when(pl.col("detector").is_in(measured)).then(pl.col("score"))
            .otherwise(calibration.apply(alerts)["score"]).alias("score"))
    if keep_raw:
        alerts = alerts.with_columns(raw.alias("raw"))
    return alerts.sort(["typology", "window_start", "alert_id"])
