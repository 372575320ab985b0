"""Suitability as the CSRC's Measures define it: every cell of the C1-C5 x R1-R5 table,
every exception path, the recording of high-risk sales; then the detectors on a few
inline sales, and the filings' own validation."""

from __future__ import annotations

import json

import ibis
import pytest
from builders import BROKER_A, BROKER_B, ISIN_A, ISIN_B, record, write_csv

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.investor.suitability import CATEGORIES, LEVELS, needs_recording, unsuitable
from suptech.store.database import open_store


def verdict(level, category, lowest=False, initiated=False, warning=None,
            confirmation=None) -> str | None:
    """The one definition, evaluated by the engine on one row."""
    t = ibis.memtable({"level": [level], "category": [category], "lowest": [lowest],
                       "initiated": [initiated], "warning": [warning],
                       "confirmation": [confirmation]},
                      schema={"level": "string", "category": "string", "lowest": "boolean",
                              "initiated": "boolean", "warning": "string",
                              "confirmation": "string"})
    return t.select(r=unsuitable(t.level, t.category, t.lowest, t.initiated, t.warning,
                                 t.confirmation)).to_pyarrow()["r"][0].as_py()


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("level", LEVELS)
def test_a_product_within_the_investors_category_is_suitable_and_above_it_is_not(
        category, level):
    """R_n to C_m is suitable where n <= m; above, sold unasked, it is not."""
    within = int(level[1]) <= int(category[1])
    assert verdict(level, category) == (None if within else "UNSOLICITED")


@pytest.mark.parametrize("level", LEVELS)
def test_a_professional_investor_may_buy_any_level(level):
    assert verdict(level, "PROFESSIONAL") is None


@pytest.mark.parametrize("path, expected", [
    (dict(initiated=True, warning="W1", confirmation="K1"), None),  # the exception, whole
    (dict(initiated=True, warning="W1"), "NO_CONFIRMATION"),
    (dict(initiated=True, confirmation="K1"), "NO_WARNING"),
    (dict(initiated=True), "NO_WARNING"),
    (dict(warning="W1", confirmation="K1"), "UNSOLICITED"),  # warned, but promoted to them
    (dict(lowest=True, initiated=True, warning="W1", confirmation="K1"), "PROHIBITED_LOWEST"),
])
def test_above_the_category_only_the_investors_own_warned_confirmed_request_allows_it(
        path, expected):
    assert verdict("R3", "C1" if path.get("lowest") else "C2", **path) == expected


def test_an_investor_not_assessed_is_sold_nothing():
    assert verdict("R1", None) == "NO_ASSESSMENT"


@pytest.mark.parametrize("level, category, needed", [
    ("R4", "C4", True), ("R5", "C5", True), ("R3", "C5", False), ("R5", "PROFESSIONAL", False),
    ("R4", None, True)])
def test_a_high_risk_sale_to_an_ordinary_investor_is_recorded(level, category, needed):
    t = ibis.memtable({"level": [level], "category": [category]},
                      schema={"level": "string", "category": "string"})
    assert t.select(n=needs_recording(t.level, t.category)).to_pyarrow()["n"][0].as_py() \
        is needed


def test_the_detectors_on_sales_name_the_sale_the_reason_and_the_investors_account(tmp_path):
    """P1 (C3 from January) buys an R3 (suitable) and an R4 unasked (UNSOLICITED, and no
    recording); P2 (C4, assessed until February) buys an R2 in March (NO_ASSESSMENT: its
    assessment ran out); P3 (C5) buys an R5 recorded (suitable). P1's account at the
    seller (A1 at broker A), not its other (A4 at broker B), is the alert's."""
    instruments = [record("instrument", 1, isin=ISIN_A, product_risk_level="R3"),
                   record("instrument", 2, isin=ISIN_B, product_risk_level="R4")]
    parties = [record("party", k, party_id=f"P{k}") for k in (1, 2, 3)]
    accounts = [record("account", 1, account_id="A1", owner_party_id="P1"),
                record("account", 4, account_id="A4", owner_party_id="P1",
                       member_lei=BROKER_B),
                record("account", 2, account_id="A2", owner_party_id="P2"),
                record("account", 3, account_id="A3", owner_party_id="P3")]
    assessments = [
        record("investor_assessment", 1, party_id="P1", category="C3"),
        record("investor_assessment", 2, party_id="P2", category="C4", valid_until="2026-02-01"),
        record("investor_assessment", 3, party_id="P3", category="C5")]
    sales = [record("product_sale", 1, sale_id="S1", party_id="P1", isin=ISIN_A),
             record("product_sale", 2, sale_id="S2", party_id="P1", isin=ISIN_B,
                    member_lei=BROKER_A),
             record("product_sale", 3, sale_id="S3", party_id="P2", isin=ISIN_A,
                    product_risk_level="R2"),
             record("product_sale", 4, sale_id="S4", party_id="P3", isin=ISIN_B,
                    product_risk_level="R5", recording_id="REC4")]
    files = [write_csv(tmp_path, f"{name}.csv", rows,
                       columns=list(dict.fromkeys(c for r in rows for c in r)))
             for name, rows in (("instrument", instruments), ("party", parties),
                                ("account", accounts), ("investor_assessment", assessments),
                                ("product_sale", sales))]
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, files)
        assert all(r.summary.rejected == 0 for r in results), [r.feedback for r in results]
        alerts = run(store, [REGISTRY.get("unsuitable_sale")(),
                             REGISTRY.get("missing_recording")()]).to_dicts()
    finally:
        store.close()
    found = {(a["typology"], json.loads(a["explanation"])["subject"]):
             (json.loads(a["explanation"])["reason"], a["account_ids"]) for a in alerts}
    assert found == {("UNSUITABLE_SALE", "S2"): ("UNSOLICITED", "A1"),
                     ("MISSING_RECORDING", "S2"): ("NO_RECORDING", "A1"),
                     ("UNSUITABLE_SALE", "S3"): ("NO_ASSESSMENT", "A2")}


def test_assessments_and_sales_that_contradict_themselves_are_refused(tmp_path):
    rows = {"party": [record("party", 1)],
            "investor_assessment": [
                record("investor_assessment", 1),
                record("investor_assessment", 2, lowest_category="true"),  # C3
                record("investor_assessment", 3, valid_until="2025-12-31")],
            "instrument": [record("instrument", 1)],
            "product_sale": [record("product_sale", 1),
                             record("product_sale", 2, sale_id="S2", confirmation_ref="K2")]}
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, [write_csv(tmp_path, f"{k}.csv", v,
                                                 columns=list(dict.fromkeys(
                                                     c for r in v for c in r)))
                                       for k, v in rows.items()])
    finally:
        store.close()
    failed = {(f, c) for r in results for _, f, c in
              r.feedback.select("report_id", "field", "code").rows()}
    assert failed == {("lowest_category", "E010"), ("valid_until", "E010"),
                      ("confirmation_ref", "E010")}
    assert sum(r.summary.accepted for r in results) == 4  # the party, one of each other


def scanned(tmp_path, detector: str, assessments: list[dict], sales: list[dict],
            extra: dict[str, list[dict]] | None = None, **params) -> dict[str, dict]:
    """One detector's alerts over inline assessments and sales of one R1-R5 product
    each (isins N1-N5), and `extra` reports by type, by their subject."""
    from suptech.formats.ids import isin_code

    products = [record("instrument", k, isin=isin_code("CN", k, "N"),
                       product_risk_level=f"R{k}") for k in range(1, 6)]
    parties = {s["party_id"] for s in sales}
    rows = {"instrument": products,
            "party": [record("party", k, party_id=p) for k, p in enumerate(sorted(parties))],
            "investor_assessment": [record("investor_assessment", k, **a)
                                    for k, a in enumerate(assessments)],
            "product_sale": [record("product_sale", k, sale_id=f"S{k}", isin=isin_code(
                "CN", int(s.pop("level")[1]), "N"), recording_id="REC", **s)
                for k, s in enumerate(sales)], **(extra or {})}
    files = [write_csv(tmp_path, f"{k}.csv", v, columns=list(dict.fromkeys(
        c for r in v for c in r))) for k, v in rows.items()]
    cls = REGISTRY.get(detector)
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, files)
        assert all(r.summary.rejected == 0 for r in results), [r.feedback for r in results]
        alerts = run(store, [cls(cls.Params(**params))]).to_dicts()
    finally:
        store.close()
    return {json.loads(a["explanation"])["subject"]: json.loads(a["explanation"])
            for a in alerts}


def test_a_category_raised_just_before_a_purchase_beyond_the_old_one(tmp_path):
    """C2 then C4, the purchase of R4 7 days after the upgrade (G1: at the line of 7),
    8 days after (G2: not); G3 buys R2, within the old category; G4 was C4 then C5."""
    assessments, sales = [], []
    for p, old, new, days, level in (("G1", "C2", "C4", 7, "R4"), ("G2", "C2", "C4", 8, "R4"),
                                     ("G3", "C2", "C4", 1, "R2"), ("G4", "C4", "C5", 1, "R4")):
        assessments += [dict(party_id=p, category=old, assessed_on="2025-06-02"),
                        dict(party_id=p, category=new, assessed_on="2026-03-02")]
        sales.append(dict(party_id=p, level=level,
                          ts_event=f"2026-03-{2 + days:02d}T10:00:00+08:00"))
    raised = scanned(tmp_path, "reassessment_gaming", assessments, sales, days=7)
    assert [r["category_before"] for r in raised.values()] == ["C2"] and set(raised) == {"S0"}


def test_a_high_risk_product_sold_to_an_investor_of_70_or_more(tmp_path):
    assessments = [dict(party_id="E1", category="C5", age_band="70_PLUS"),
                   dict(party_id="E2", category="C5", age_band="60_TO_69"),
                   dict(party_id="E3", category="PROFESSIONAL", age_band="70_PLUS")]
    sales = [dict(party_id="E1", level="R4"), dict(party_id="E1", level="R3"),
             dict(party_id="E2", level="R5"), dict(party_id="E3", level="R5")]
    assert set(scanned(tmp_path, "elderly_high_risk", assessments, sales)) == {"S0"}


def test_a_salespersons_sales_above_level_are_a_pattern_at_5_and_30_percent(tmp_path):
    """Papered sales above a C2 investor's level (R3): X has 5 of 16 sales above (at 5,
    31 %), Y 4 of 4 (below 5), Z 5 of 17 (29 %)."""
    sales = []
    for who, above, within in (("X", 5, 11), ("Y", 4, 0), ("Z", 5, 12)):
        sales += [dict(party_id="Q1", level="R3", salesperson_id=who, investor_initiated="true",
                       warning_ref="W", confirmation_ref="K")] * above
        sales += [dict(party_id="Q1", level="R1", salesperson_id=who)] * within
    raised = scanned(tmp_path, "above_level_promotion",
                     [dict(party_id="Q1", category="C2")], [dict(s) for s in sales])
    assert set(raised) == {"X"} and raised["X"]["above_level"] == 5


@pytest.mark.parametrize("bad, raised", [(19, True), (18, False), (20, True)])
def test_an_institution_whose_unsuitable_rate_is_3_standard_errors_above_its_peers(
        tmp_path, bad, raised):
    """Broker B: 10 unsuitable of 100 sales (10 %); broker A: 19 of 100 is 3 standard
    errors above (sqrt(0.1 x 0.9 / 100) = 3 %: the line), 18 below, 20 above."""
    sales = []
    for member, k in ((BROKER_A, bad), (BROKER_B, 10)):
        sales += [dict(party_id="Q1", level="R3", member_lei=member)] * k
        sales += [dict(party_id="Q1", level="R1", member_lei=member)] * (100 - k)
    found = scanned(tmp_path, "mis_selling_rate", [dict(party_id="Q1", category="C2")],
                    [dict(s) for s in sales])
    assert (BROKER_A in found) is raised and BROKER_B not in found
    if raised:
        assert found[BROKER_A]["unsuitable"] == bad and found[BROKER_A]["peers_rate"] == 0.1


def test_a_sale_on_an_assessment_past_two_years_without_an_end(tmp_path):
    """Sales on 2026-03-02: T1 assessed 730 days before (at the line: not raised), T2 731
    days before (raised); T3's assessment ended, which is no assessment (UNSUITABLE_SALE's),
    not a stale one."""
    assessments = [dict(party_id="T1", assessed_on="2024-03-02"),
                   dict(party_id="T2", assessed_on="2024-03-01"),
                   dict(party_id="T3", assessed_on="2024-03-01", valid_until="2025-03-01")]
    sales = [dict(party_id=p, level="R2") for p in ("T1", "T2", "T3")]
    raised = scanned(tmp_path, "stale_assessment", assessments, sales, max_age_days=730)
    assert set(raised) == {"S1"} and raised["S1"]["days_old"] == 731


def test_an_investor_acting_far_beyond_or_far_below_their_category(tmp_path):
    """Beyond (2 levels over the category where half the money goes, 3 purchases): B1, C2,
    buys R4 3 times; B2 only twice; B3, C3, 3 times (1 level over); B4, C2, half its money
    in R4 (at the line), B5 a little less. M1, C2, buys R1 3 times but holds a margin
    account (an R4 service). Below (nothing within 3 levels, 5 purchases): L1, C5, R2 5
    times; L2 4 times; L3 R2 4 times and R3 once."""
    buys = {"B1": ["R4"] * 3, "B2": ["R4"] * 2, "B3": ["R4"] * 3, "M1": ["R1"] * 3,
            "L1": ["R2"] * 5, "L2": ["R2"] * 4, "L3": ["R2"] * 4 + ["R3"]}
    sales = [dict(party_id=p, level=lv, amount="1000") for p, levels in buys.items()
             for lv in levels]
    sales += [dict(party_id=p, level=lv, amount=a) for p, r4 in (("B4", "3000"), ("B5", "2999"))
              for lv, a in (("R4", r4), ("R1", "1000"), ("R1", "1000"), ("R1", "1000"))]
    category = {"B3": "C3", "L1": "C5", "L2": "C5", "L3": "C5"}
    assessments = [dict(party_id=p, category=category.get(p, "C2"))
                   for p in dict.fromkeys(s["party_id"] for s in sales)]
    margin = [record("account", 1, account_id="AM1", owner_party_id="M1",
                     account_type="MARGIN")]
    raised = scanned(tmp_path, "risk_profile_mismatch", assessments, sales,
                     {"account": margin})
    assert {p: r["reason"] for p, r in raised.items()} == {
        "B1": "BEYOND", "B4": "BEYOND", "M1": "BEYOND", "L1": "BELOW"}
    assert raised["B1"]["observed"] == "R4" and raised["M1"]["margin"] is True
    assert raised["L1"]["highest"] == "R2" and raised["L1"]["declared"] == "C5"


@pytest.mark.parametrize("complaints, raised", [(19, True), (18, False)])
def test_an_institution_drawing_complaints_3_standard_errors_above_its_peers(
        tmp_path, complaints, raised):
    """100 sales each; broker B drew 10 complaints (10 %): broker A's 19 are 3 standard
    errors above, 18 are not."""
    sales, filed = [], []
    for member, k in ((BROKER_A, complaints), (BROKER_B, 10)):
        sales += [dict(party_id="Q1", level="R1", member_lei=member)] * 100
        filed += [record("complaint", len(filed) + j, complaint_id=f"K{len(filed) + j}",
                         party_id="Q1", member_lei=member, isin=None) for j in range(k)]
    found = scanned(tmp_path, "complaint_rate", [dict(party_id="Q1", category="C2")],
                    [dict(s) for s in sales], {"complaint": filed})
    assert (BROKER_A in found) is raised and BROKER_B not in found
    if raised:
        assert found[BROKER_A]["complaints"] == 19 and found[BROKER_A]["peers_rate"] == 0.1


def test_an_investors_market_buys_count_towards_their_profile_and_losses_are_measured(tmp_path):
    """P1 (C2) buys an R4 share three times in the market, 1,000 at 10.00 each time, and
    sells the 3,000 at 9.00: observed R4, far beyond C2, from trades alone; the loss,
    3,000 of 30,000 bought, is a tenth of it."""
    from builders import reference_data

    import datetime as dt

    from suptech.investor.data import investor_data
    from suptech.investor.profile import profiles
    from suptech.investor.views import profile

    events, trades = [], []
    for k in range(4):
        mine, theirs = f"O{k}", f"X{k}"
        side = "SELL" if k == 3 else "BUY"
        qty, price = ("3000", "9.00") if k == 3 else ("1000", "10.00")
        ts = f"2026-03-02T10:0{k}:00+08:00"
        events += [record("order_event", 2 * k, report_id=f"E{2 * k}", order_id=mine, side=side,
                          price=price, quantity=qty, leaves_quantity=qty, ts_event=ts),
                   record("order_event", 2 * k + 1, report_id=f"E{2 * k + 1}", order_id=theirs,
                          side="BUY" if side == "SELL" else "SELL", account_id="A2",
                          member_lei=BROKER_B, price=price, quantity=qty,
                          leaves_quantity=qty, ts_event=ts)]
        buyer, seller = ("A2", "A1") if side == "SELL" else ("A1", "A2")
        trades.append(record("trade", k, trade_id=f"T{k}", report_id=f"TR{k}", price=price,
                             quantity=qty, buy_account_id=buyer, sell_account_id=seller,
                             buy_order_id=mine if side == "BUY" else theirs,
                             sell_order_id=theirs if side == "BUY" else mine, ts_event=ts))
    files = reference_data(tmp_path)
    files[0] = write_csv(tmp_path, "instrument.csv", [record("instrument", 1,
                                                             product_risk_level="R4")])
    files += [write_csv(tmp_path, "order_event.csv", events),
              write_csv(tmp_path, "trade.csv", trades),
              write_csv(tmp_path, "investor_assessment.csv",
                        [record("investor_assessment", 1, category="C2")])]
    store = open_store(tmp_path / "db")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
        alerts = run(store, [REGISTRY.get("risk_profile_mismatch")()]).to_dicts()
        found = profiles(investor_data(store, materialize=False)).to_pyarrow().to_pylist()
        # Once P2 (CN-JS) is assessed too, each one's page shows their own profile.
        ingest_files(store, [write_csv(tmp_path, "investor_assessment-2.csv", [
            record("investor_assessment", 2, party_id="P2", category="C5")])])
        pages = {p: profile(store, region, p, dt.date(2026, 3, 2))["profile"]
                 for p, region in (("P1", "CN-SH"), ("P2", "CN-JS"))}
    finally:
        store.close()
    assert {p: (f["party_id"], f["declared"]) for p, f in pages.items()} == {
        "P1": ("P1", "C2"), "P2": ("P2", "C5")}
    assert alerts, found
    why = json.loads(alerts[0]["explanation"])
    assert (why["subject"], why["reason"], why["observed"]) == ("P1", "BEYOND", "R4")
    assert [f["party_id"] for f in found] == ["P1"]  # P2 was never assessed
    assert found[0]["purchases"] == 3 and found[0]["pnl"] == -3000.0
    assert abs(found[0]["loss_share"] - 0.1) < 1e-12 and found[0]["trades"] == 4
