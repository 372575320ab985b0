"""The overview's charts hold with one day of data and many typologies."""

from __future__ import annotations

import polars as pl

from suptech.detect.run import REGISTRY
from suptech.i18n import words
from suptech.server import charts

# 2026-03-02 09:30 in Shanghai.
OPEN_NS = 1_772_415_000_000_000_000


def test_one_days_alerts_of_every_typology_are_a_column_each_in_a_colour_of_its_own():
    typologies = list(REGISTRY.typologies())
    alerts = pl.DataFrame({"typology": typologies, "window_start": [OPEN_NS] * len(typologies)})
    fig = charts.alerts_per_day(alerts, typologies).to_dict()
    bars = fig["data"]
    # Named in words, in the reader's language (the CSRC's and PBoC's terms in Chinese).
    english = [words("en").typology(t) for t in typologies]
    assert [b["name"] for b in bars] == english and len(typologies) >= 20
    assert len(set(english)) == len(typologies)
    chinese = charts.alerts_per_day(alerts, typologies, words("zh")).to_dict()
    assert chinese["data"][typologies.index("WASH_TRADE")]["name"] == "自买自卖（对倒）"
    assert chinese["layout"]["title"]["text"] == "各类型每日预警数"
    assert len({b["marker"]["color"] for b in bars}) == len(bars)
    assert {tuple(b["x"]) for b in bars} == {("2026-03-02",)}
    layout = fig["layout"]
    # A day is a category, not an instant on a time axis; the legend stands beside the
    # plot, clear of its axis and its title.
    assert layout["xaxis"]["type"] == "category"
    assert layout["legend"]["orientation"] == "v" and layout["legend"]["x"] > 1


def test_a_typology_keeps_its_colour_whatever_else_was_alerted():
    typologies = list(REGISTRY.typologies())
    some = pl.DataFrame({"typology": typologies[-2:], "window_start": [OPEN_NS] * 2})
    every = pl.DataFrame({"typology": typologies, "window_start": [OPEN_NS] * len(typologies)})
    colour = {b["name"]: b["marker"]["color"]
              for b in charts.alerts_per_day(every, typologies).to_dict()["data"]}
    for bar in charts.alerts_per_day(some, typologies).to_dict()["data"]:
        assert bar["marker"]["color"] == colour[bar["name"]]
    assert charts.alerts_per_day(some.head(0), typologies).to_dict()["data"] == []


def test_a_money_flow_names_each_accounts_part_and_region_and_labels_each_payment():
    """A pays B, B pays C: A the source, B the mule, C the sink; each arrow its amount;
    each account its owner's region where the register knows it (B's it does not)."""
    from decimal import Decimal

    payments = pl.DataFrame({
        "debtor_account_id": ["A", "B"], "creditor_account_id": ["B", "C"],
        "amount": [Decimal("50000.00"), Decimal("49000.00")], "currency": ["CNY", "CNY"],
        "ts_event": [OPEN_NS, OPEN_NS + 60 * 10**9]})
    alert = {"alert_id": "AL-1", "account_ids": "B"}
    register = pl.DataFrame({"account_id": ["A", "C"], "region": ["CN-SH", "CN-ZJ"]})
    fig = charts.money_flow(payments, alert, accounts=register).to_dict()
    parts = {t["name"]: t["text"] for t in fig["data"] if t["name"] in charts.ROLES}
    assert parts == {"source": ["A · CN-SH"], "mule": ["B"], "sink": ["C · CN-ZJ"]}
    chinese = charts.money_flow(payments, alert, words("zh")).to_dict()
    assert {t["name"] for t in chinese["data"] if t.get("mode") == "markers+text"} >= {
        "资金来源账户", "过渡账户", "资金归集账户"}
    [payments_trace] = [t for t in fig["data"] if t["name"] == "payments"]
    assert sorted(payments_trace["text"]) == ["49,000", "50,000"]
