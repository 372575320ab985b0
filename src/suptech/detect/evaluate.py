"""Detection quality against labels, exactly as spec/EVALUATION.md defines it, and over
payments where the truth says which are laundering (`payment_scores`).

An alert matches a labelled case when the typology is the same, the account sets share
an account, the instrument is the same (market typologies; for cross-market
manipulation the derivative or the underlying also counts), and the windows overlap
once each is widened by 5 minutes (24 hours for payment typologies). A risk
indicator's case is its days: the windows overlap as they are, the instrument is the
same, a label that names no account (an instrument's day) needs none, and a label that
names a subject (an institution, a sale) needs the alert's (its explanation's first
key); an investor-protection alert (a sale) is matched the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

import suptech.detect.market  # noqa: F401  (registers the built-in detectors)
import suptech.detect.payments  # noqa: F401
import suptech.investor  # noqa: F401
import suptech.risk  # noqa: F401
from suptech.detect.base import REGISTRY

MINUTE_NS = 60 * 1_000_000_000
DAY_NS = 24 * 60 * MINUTE_NS
#: A risk indicator's explanation begins with its case's subject (`Indicator.hits`).
SUBJECT = r'^\{"subject": "([^"]*)"'


@dataclass(frozen=True)
class Score:
    typology: str
    cases: int
    found: int
    alerts: int
    true_alerts: int

    @property
    def recall(self) -> float:
        return self.found / self.cases if self.cases else float("nan")

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def read_timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """window_start/window_end as int64 ns, from ISO 8601 text or integers."""
    return frame.with_columns(
        pl.col(c).str.to_datetime(time_unit="ns", time_zone="UTC").dt.epoch("ns")
        if frame.schema[c] == pl.String else pl.col(c).cast(pl.Int64)
        for c in ("window_start", "window_end"))


def matches(labels: pl.DataFrame, alerts: pl.DataFrame,
            related_isins: dict[str, set[str]] | None = None) -> pl.DataFrame:
    """Every (label, alert) pair that matches: scenario_id, alert_id."""
    related_isins = related_isins or {}
    # Windows widen by the typology's domain: one unknown to every detector fails here
    # rather than being scored by another domain's rule.
    domain = {t: REGISTRY.domain(t) for t in set(labels["typology"]) | set(alerts["typology"])}
    market = [t for t, d in domain.items() if d == "market"]
    # An investor-protection case is a sale, as a risk indicator's is a day: matched
    # as they are, by their subject.
    risk = [t for t, d in domain.items() if d in ("risk", "investor")]
    lab = read_timestamps(labels).with_columns(
        pl.col("account_ids").cast(pl.String).fill_null("").str.split(";").alias("l_accounts"),
        pl.col("isin").fill_null("").alias("l_isin"),
        (pl.col("subject").cast(pl.String) if "subject" in labels.columns
         else pl.lit(None, pl.String)).fill_null("").alias("l_subject"))
    al = read_timestamps(alerts).with_columns(
        pl.col("account_ids").cast(pl.String).fill_null("").str.split(";").alias("a_accounts"),
        pl.col("isin").fill_null("").alias("a_isin"),
        (pl.col("explanation").cast(pl.String).str.extract(SUBJECT)
         if "explanation" in alerts.columns else pl.lit(None, pl.String))
        .fill_null("").alias("a_subject"))
    pairs = lab.select("scenario_id", "typology", "l_accounts", "l_isin", "l_subject",
                       pl.col("window_start").alias("l_start"),
                       pl.col("window_end").alias("l_end")).join(
        al.select("alert_id", "typology", "a_accounts", "a_isin", "a_subject",
                  pl.col("window_start").alias("a_start"),
                  pl.col("window_end").alias("a_end")), on="typology")
    if pairs.is_empty():
        return pairs.select("scenario_id", "alert_id")
    widen = pl.when(pl.col("typology").is_in(market)).then(5 * MINUTE_NS) \
        .when(pl.col("typology").is_in(risk)).then(0).otherwise(DAY_NS)
    same_accounts = (pl.col("l_accounts").list.set_intersection("a_accounts").list.len() > 0) \
        | (pl.col("typology").is_in(risk) & (pl.col("l_accounts") == [""]))
    overlap = ((pl.col("l_start") - widen) <= (pl.col("a_end") + widen)) \
        & ((pl.col("a_start") - widen) <= (pl.col("l_end") + widen))
    isin_ok = pl.struct("typology", "l_isin", "a_isin").map_elements(
        lambda r: r["typology"] not in market + risk or r["l_isin"] == r["a_isin"]
        or (r["typology"] == "CROSS_MARKET_MANIPULATION"
            and r["a_isin"] in related_isins.get(r["l_isin"], set())),
        return_dtype=pl.Boolean)
    same_subject = (pl.col("l_subject") == "") | (pl.col("l_subject") == pl.col("a_subject"))
    return pairs.filter(same_accounts & overlap & isin_ok & same_subject) \
        .select("scenario_id", "alert_id")


def score(labels: pl.DataFrame, alerts: pl.DataFrame,
          related_isins: dict[str, set[str]] | None = None) -> list[Score]:
    """Per typology present in the labels or the alerts, then ALL."""
    hits = matches(labels, alerts, related_isins)
    found = set(hits["scenario_id"])
    true_alerts = set(hits["alert_id"])
    typologies = sorted(set(labels["typology"]) | set(alerts["typology"]))
    rows = []
    for t in typologies:
        lab = labels.filter(pl.col("typology") == t)["scenario_id"]
        al = alerts.filter(pl.col("typology") == t)["alert_id"]
        rows.append(Score(t, lab.len(), sum(s in found for s in lab), al.len(),
                          sum(a in true_alerts for a in al)))
    rows.append(Score("ALL", labels.height, len(found), alerts.height, len(true_alerts)))
    return rows


@dataclass(frozen=True)
class PaymentScore:
    """Minority-class scores over payments (the AMLworld papers' measure): a payment is
    flagged when an alert's evidence names it."""

    typology: str
    flagged: int  # payments in the evidence of this typology's alerts
    true_flagged: int  # of those, laundering (of any typology)
    laundering: int  # payments of this typology's laundering
    found: int  # of those, flagged by any alert

    @property
    def precision(self) -> float:
        return self.true_flagged / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.laundering if self.laundering else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def payment_scores(alerts: pl.DataFrame, truth: pl.DataFrame) -> list[PaymentScore]:
    """Per typology in the truth or the alerts, then ALL. `truth`: payment_id and
    typology (null when benign), of the payments scored; evidence outside them is not
    counted."""
    typology = dict(truth.select("payment_id", "typology").iter_rows())
    flags = [(t, p) for t, ev in alerts.select("typology", "evidence").iter_rows()
             if ev for p in ev.split(";") if p in typology]
    everywhere = {p for _, p in flags}
    names = sorted({t for t in typology.values() if t} | {t for t, _ in flags})
    rows = []
    for name in [*names, "ALL"]:
        mine = {p for t, p in flags if name in (t, "ALL")}
        bad = [p for p, t in typology.items() if t and name in (t, "ALL")]
        rows.append(PaymentScore(name, len(mine), sum(typology[p] is not None for p in mine),
                                 len(bad), sum(p in everywhere for p in bad)))
    return rows
