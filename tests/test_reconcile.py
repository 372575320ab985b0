"""Reconciliation as CAT's linker and the trade repositories' pairing do it: the venue's
trade and each member's fill of it paired and matched within the tolerances, what one
side reported and the other did not, repeats; each report against its deadline on the
exchange's calendar; and every break injected into a simulated day found, none
invented."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from builders import BROKER_A, BROKER_B, SUBMITTER, record, reference_data, write_csv

from suptech.ingest.pipeline import ingest_file, ingest_files
from suptech.model.calendar import DEFAULT, EPOCH, SECOND
from suptech.reconcile.rules import Match, Rules, rules
from suptech.reconcile.run import new_days, reconcile
from suptech.reconcile.run import record as keep
from suptech.reconcile.timeliness import due_ns
from suptech.store.database import open_store

T0 = "2026-03-02T09:30:00+08:00"
T1 = "2026-03-02T09:30:01+08:00"
#: The evening of the trading day: every report is in on time.
EVENING = DEFAULT.day_start((dt.date(2026, 3, 2) - EPOCH).days) + 18 * 3600 * SECOND


def fill(n: int, order: str, side: str, account: str, member: str, **changes) -> dict:
    return record("order_event", n, **{
        "report_id": f"F{n}", "submitter": member, "order_id": order, "event_type": "FILL",
        "side": side, "account_id": account, "member_lei": member, "quantity": "100",
        "leaves_quantity": "0", "trade_id": "T1", "fill_price": "10.01",
        "fill_quantity": "100", **changes})


def day(buy: dict | None = None, sell: dict | None = None,
        trades: list[dict] | None = None) -> dict[str, list[dict]]:
    """Order O1 (A1 at broker A) buys 100 from O2 (A2 at broker B) in trade T1 at
    10.01; each member's fill changed by `buy` and `sell` (None: not reported)."""
    events = [record("order_event", 1, report_id="N1", order_id="O1", ts_event=T0),
              record("order_event", 2, report_id="N2", order_id="O2", side="SELL",
                     account_id="A2", member_lei=BROKER_B, submitter=BROKER_B, ts_event=T0)]
    if buy is not None:
        events.append(fill(3, "O1", "BUY", "A1", BROKER_A, **{"ts_event": T1, **buy}))
    if sell is not None:
        events.append(fill(4, "O2", "SELL", "A2", BROKER_B, **{"ts_event": T1, **sell}))
    return {"order_event": events, "trade": [record("trade", 1, ts_event=T1, buy_order_id="O1",
                                                     sell_order_id="O2")]
            if trades is None else trades}


def breaks(tmp_path, reports: dict[str, list[dict]], settings: Rules | None = None,
           received: int = EVENING) -> pl.DataFrame:
    tmp_path.mkdir(exist_ok=True)
    files = reference_data(tmp_path) + [
        write_csv(tmp_path, f"{k}.csv", v, columns=list(dict.fromkeys(c for r in v for c in r)))
        for k, v in reports.items() if v]
    store = open_store(tmp_path / "db")
    try:
        results = ingest_files(store, files, now_ns=received)
        assert all(r.summary.rejected == 0 for r in results), [r.feedback for r in results]
        return reconcile(store, rules=settings).breaks
    finally:
        store.close()


def kinds(found: pl.DataFrame) -> list[tuple]:
    return sorted(found.select("kind", "field", "side").rows(), key=str)


def test_a_trade_and_the_two_fills_of_it_that_agree_make_no_break(tmp_path):
    assert breaks(tmp_path, day({}, {})).is_empty()


@pytest.mark.parametrize("price, at, broken", [
    ("10.02", T1, []),  # a cent off, within the cent allowed
    ("10.03", T1, [("MISMATCH", "price", "BUY")]),
    ("10.01", "2026-03-02T09:30:02+08:00", []),  # 1 s after the venue's: at the line
    ("10.01", "2026-03-02T09:30:02.001+08:00", [("MISMATCH", "ts_event", "BUY")]),
])
def test_a_fill_is_matched_to_its_trade_within_the_tolerances(tmp_path, price, at, broken):
    settings = Rules(match=Match(price=0.01, time_ms=1000))
    found = breaks(tmp_path, day({"fill_price": price, "ts_event": at}, {}), settings)
    assert kinds(found) == broken
    if broken and broken[0][1] == "price":
        assert found.row(0, named=True)["venue_value"].startswith("10.01")
        assert found.row(0, named=True)["member_value"].startswith("10.03")


def test_what_one_side_reported_and_the_other_did_not_is_told_to_both(tmp_path):
    """Broker B never reported its fill: the venue's side is unpaired and names broker B
    (from the account) beside the venue; broker A reported a fill of a trade T9 that the
    venue never reported, and the same fill twice."""
    ghost = fill(5, "O1", "BUY", "A1", BROKER_A, report_id="F5", trade_id="T9", ts_event=T1)
    again = fill(6, "O1", "BUY", "A1", BROKER_A, report_id="F6", ts_event=T1)
    reports = day({}, None)
    reports["order_event"] += [ghost, again]
    found = breaks(tmp_path, reports)
    assert kinds(found) == [("DUPLICATE", None, "BUY"), ("UNPAIRED_MEMBER", None, "BUY"),
                            ("UNPAIRED_VENUE", None, "SELL")]
    venue_only = found.filter(pl.col("kind") == "UNPAIRED_VENUE").row(0, named=True)
    assert (venue_only["venue"], venue_only["member"]) == (SUBMITTER, BROKER_B)
    member_only = found.filter(pl.col("kind") == "UNPAIRED_MEMBER").row(0, named=True)
    assert (member_only["trade_id"], member_only["member_report_id"]) == ("T9", "F5")
    assert member_only["venue"] == SUBMITTER  # the venue of the market, told as well
    dup = found.filter(pl.col("kind") == "DUPLICATE").row(0, named=True)
    assert (dup["member_report_id"], dup["member_value"]) == ("F6", "F3")


def test_fills_that_name_no_trade_pair_in_the_order_of_the_orders_life(tmp_path):
    """O1 fills 100 then 200 against T1 and T2; its fills name no trade. In order they
    agree; a member that reports 200 first, then 100, disagrees on both."""
    trades = [record("trade", 1, ts_event=T0, buy_order_id="O1", sell_order_id="O2"),
              record("trade", 2, trade_id="T2", ts_event=T1, quantity="200",
                     buy_order_id="O1", sell_order_id="O2")]

    def reports(first: str, second: str) -> dict:
        r = day(trades=trades)
        r["order_event"] += [
            fill(3, "O1", "BUY", "A1", BROKER_A, event_type="PARTIAL_FILL", quantity="300",
                 leaves_quantity="200", trade_id=None, fill_quantity=first, ts_event=T0),
            fill(4, "O1", "BUY", "A1", BROKER_A, quantity="300", trade_id=None,
                 fill_quantity=second, ts_event=T1),
            fill(5, "O2", "SELL", "A2", BROKER_B, quantity="300", leaves_quantity="200",
                 event_type="PARTIAL_FILL", ts_event=T0),
            fill(6, "O2", "SELL", "A2", BROKER_B, quantity="300", trade_id="T2",
                 fill_quantity="200", ts_event=T1)]
        return r
    assert breaks(tmp_path / "a", reports("100", "200")).is_empty()
    assert kinds(breaks(tmp_path / "b", reports("200", "100"))) == [
        ("MISMATCH", "quantity", "BUY")] * 2


def routed(tmp_path, routes: list[dict], account: str = "A3") -> list[tuple]:
    """Broker B executes O1 (its own NEW and fill, and the trade) for account `account`:
    A3 is held by broker A, whose client order C1 routes are `routes`."""
    held = [record("account", 3, account_id="A3", owner_party_id="P1")]
    client = dict(order_id="C1", account_id="A3", submitter=BROKER_A, ts_event=T0)
    reports = day({"member_lei": BROKER_B, "submitter": BROKER_B, "account_id": account}, {})
    reports["order_event"][0].update(member_lei=BROKER_B, submitter=BROKER_B, account_id=account)
    reports["trade"][0]["buy_account_id"] = account
    reports["order_event"] += [record("order_event", 10 + k, **client, **{
        "report_id": f"R{k}", **r}) for k, r in enumerate(routes)]
    tmp_path.mkdir(exist_ok=True)
    files = reference_data(tmp_path, held) + [
        write_csv(tmp_path, f"{k}.csv", v, columns=list(dict.fromkeys(c for r in v for c in r)))
        for k, v in reports.items()]
    store = open_store(tmp_path / "db")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files, now_ns=EVENING))
        b = reconcile(store).breaks
    finally:
        store.close()
    return b.select("kind", "order_id", "member", "venue").rows()


def test_an_order_followed_from_the_clients_firm_to_its_execution(tmp_path):
    """Broker A's client order C1 is routed to broker B as O1, which B executes: no break.
    Routed under a wrong id, the route arrives nowhere (told to A and B) and B's
    execution has no route into it (told to B and A); never routed, only the latter. B
    executing for its own client needs no route."""
    new = {"event_type": "NEW"}
    route = {"event_type": "ROUTE", "routed_to": BROKER_B, "routed_order_id": "O1"}
    assert routed(tmp_path / "a", [new, route]) == []
    assert routed(tmp_path / "b", [new, {**route, "routed_order_id": "O7"}]) == [
        ("ROUTE_UNMATCHED", "C1", BROKER_A, BROKER_B),
        ("UNROUTED_EXECUTION", "O1", BROKER_B, BROKER_A)]
    assert routed(tmp_path / "c", [new]) == [("UNROUTED_EXECUTION", "O1", BROKER_B, BROKER_A)]
    assert routed(tmp_path / "d", [new], account="A2") == []  # A2 is broker B's own
    # The whole life, from either end: the client's order, its route, the execution.
    from typer.testing import CliRunner

    from suptech.cli import app

    for asked in ("C1", "O1"):
        said = CliRunner().invoke(app, ["lifecycle", asked, "--data-dir", str(tmp_path / "a" / "db"),
                                        "--png", str(tmp_path / "life.png")], terminal_width=200)
        assert said.exit_code == 0, said.output
        assert "C1 -> O1" in said.output and "ROUTE" in said.output and "T1" in said.output
        assert (tmp_path / "life.png").read_bytes()[:4] == b"\x89PNG"
    said = CliRunner().invoke(app, ["lifecycle", "O9", "--data-dir", str(tmp_path / "a" / "db")])
    assert said.exit_code == 1 and "no order O9" in said.output


def _at(day: dt.date, hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return DEFAULT.day_start((day - EPOCH).days) + (h * 3600 + m * 60) * SECOND


def test_a_report_is_due_at_8_the_next_trading_day_on_the_exchanges_calendar():
    r = rules()
    friday = (dt.date(2026, 3, 6) - EPOCH).days
    assert due_ns(r, "trade", "XSHG", friday) == _at(dt.date(2026, 3, 9), "08:00")
    # The eve of National Day: the exchange is shut 1-7 October.
    eve = (dt.date(2026, 9, 30) - EPOCH).days
    assert due_ns(r, "order_event", "XSHG", eve) == _at(dt.date(2026, 10, 8), "08:00")
    assert due_ns(r, "party", None, friday) is None  # reference data has no deadline


@pytest.mark.parametrize("late_by, kinds_found", [(0, []), (1, ["LATE"])])
def test_a_report_received_after_its_deadline_is_late(tmp_path, late_by, kinds_found):
    """Received at 08:00 the next trading day (on time), or a nanosecond after (late:
    each of the day's order events and its trade)."""
    due = _at(dt.date(2026, 3, 3), "08:00")
    found = breaks(tmp_path, day({}, {}), received=due + late_by)
    assert sorted(set(found["kind"])) == kinds_found
    if kinds_found:
        assert set(found["report_type"]) == {"order_event", "trade"}
        assert found.height == 5 and (found["received_ns"] - found["due_ns"] == 1).all()


def test_a_correction_after_the_deadline_is_a_late_correction(tmp_path):
    """On time, then a correction two days later: reconciling what is new takes its day
    alone, and finds it late."""
    from typer.testing import CliRunner

    from suptech.cli import app

    breaks(tmp_path, day({}, {}))  # on time
    store = open_store(tmp_path / "db")
    try:
        keep(store)
    finally:
        store.close()
    args = ["reconcile", "--new", "--data-dir", str(tmp_path / "db")]
    assert "nothing received" in CliRunner().invoke(app, args).output
    corr = write_csv(tmp_path, "order_event-corr.csv", [
        fill(3, "O1", "BUY", "A1", BROKER_A, action="CORR", ts_event=T1)])
    store = open_store(tmp_path / "db")
    try:
        ingest_file(store, corr, now_ns=_at(dt.date(2026, 3, 4), "10:00"))
        assert new_days(store) == [(20514, 20514)]  # 2 March 2026, the fill's day
        found = reconcile(store).breaks
    finally:
        store.close()
    assert found.select("kind", "member_report_id").rows() == [("LATE_CORRECTION", "F3")]
    said = CliRunner().invoke(app, args)
    assert "reconciling 2026-03-02" in said.output and "R006" in said.output


def test_every_break_injected_into_a_simulated_day_is_found_and_none_invented(tmp_path):
    from suptech.simulate.breaks import inject_breaks, score
    from suptech.simulate.market_run import simulate_market

    simulate_market(tmp_path / "sim", seed=7, days=1, instruments=2, scale="tiny")
    made = inject_breaks(sorted((tmp_path / "sim").glob("*.parquet")), tmp_path / "sent",
                         seed=7, each=2)
    store = open_store(tmp_path / "db")
    try:
        for path, at in made.schedule:
            assert ingest_file(store, path, now_ns=at).summary.rejected == 0, path
        found = reconcile(store)
    finally:
        store.close()
    scores = score(made.labels, found.breaks)
    assert set(scores["kind"]) == {"UNPAIRED_VENUE", "UNPAIRED_MEMBER", "MISMATCH",
                                   "DUPLICATE", "LATE", "LATE_CORRECTION", "ROUTE_UNMATCHED",
                                   "UNROUTED_EXECUTION"}
    assert (scores["found"] == scores["labels"]).all(), scores
    assert (scores["true"] == scores["breaks"]).all(), scores
    fields = set(found.breaks.filter(pl.col("kind") == "MISMATCH")["field"])
    assert fields == {"price", "quantity", "ts_event", "account_id"}
    # The command prints them and gives each submitter its own.
    from typer.testing import CliRunner

    from suptech.cli import app

    said = CliRunner().invoke(app, ["reconcile", "--data-dir", str(tmp_path / "db"),
                                    "--feedback", str(tmp_path / "fb")])
    assert said.exit_code == 0, said.output
    assert "R003" in said.output and "MISMATCH" in said.output
    told = {p.stem: pl.read_csv(p) for p in (tmp_path / "fb").glob("*.csv")}
    venue = found.breaks["venue"].drop_nulls()[0]
    assert told[venue].height == found.breaks.filter(
        (pl.col("venue") == venue) | (pl.col("member") == venue)).height
    # What it kept makes each institution's report card, a PDF of PNG pages, in Chinese too.
    for lang in ("en", "zh"):
        said = CliRunner().invoke(app, ["report-card", venue, "--data-dir", str(tmp_path / "db"),
                                        "--out", str(tmp_path / f"{lang}.pdf"), "--lang", lang,
                                        "--png", str(tmp_path / lang)])
        assert said.exit_code == 0, said.output
        pages = sorted((tmp_path / lang).glob("*.png"))
        assert pages and all(p.read_bytes()[:4] == b"\x89PNG" for p in pages)
    said = CliRunner().invoke(app, ["report-card", "5493NOBODY0000000000", "--data-dir",
                                    str(tmp_path / "db")])
    assert said.exit_code == 1 and "no data quality measured" in said.output


@pytest.mark.parametrize("text, said", [
    ("[deadlines.trade]\ndays = 1\ntime = \"25:00\"\n", "deadlines.trade.time"),
    ("[match]\nprice = -1\n", "match.price"),
    ("[match]\ntolerance = 1\n", "match.tolerance"),
    ("[match\n", "not TOML"),
    ("[deadlines.trades]\ndays = 1\ntime = \"08:00\"\n", "no report type trades"),
    ("[markets.XSHE.orders]\ndays = 1\ntime = \"08:00\"\n", "no report type orders"),
])
def test_settings_that_say_something_wrong_are_refused_naming_the_key(tmp_path, text, said):
    from typer.testing import CliRunner

    from suptech.cli import app

    bad = tmp_path / "rules.toml"
    bad.write_text(text)
    out = CliRunner().invoke(app, ["reconcile", "--rules", str(bad), "--data-dir",
                                   str(tmp_path / "db")])
    assert out.exit_code == 2 and said in out.output and str(bad) in out.output
