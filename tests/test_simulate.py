"""The simulators: a real order book, files that ingest cleanly, labels that point at data."""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from suptech.detect.run import REGISTRY
from suptech.cli import app
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.book import BUY, IOC, SELL, Book, EventLog, Order
from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments
from suptech.store.database import open_store


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    out = tmp_path_factory.mktemp("market")
    return out, simulate_market(out, seed=11, days=2, instruments=4)


@pytest.fixture(scope="module")
def pay(tmp_path_factory):
    out = tmp_path_factory.mktemp("payments")
    return out, simulate_payments(out, seed=5, days=3, accounts=5_000)


def read(out, prefix: str) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted(out.glob(f"{prefix}*.parquet"))])


def ingest_all(out, data_dir):
    store = open_store(data_dir)
    try:
        return ingest_files(store, sorted(out.glob("*.parquet")))
    finally:
        store.close()


def labels(out) -> pl.DataFrame:
    return pl.read_csv(out / "labels.csv").with_columns(
        pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="ns").dt.epoch("ns")
        for c in ("window_start", "window_end"))


# ---- the order book --------------------------------------------------------------------

def random_flow(book: Book, rng: np.random.Generator, n: int):
    ids = iter(range(1, 10 * n))
    for k in range(n):
        side = BUY if rng.random() < 0.5 else SELL
        price = int(rng.integers(95, 106))
        o = book.submit(k, Order(next(ids), int(rng.integers(0, 20)), side, price,
                                 int(rng.integers(1, 10)) * 100,
                                 tif=IOC if rng.random() < 0.1 else 0))
        if rng.random() < 0.3 and book.orders:
            book.cancel(k, int(rng.choice(list(book.orders))))
        yield o


def test_continuous_matching_never_leaves_the_book_crossed():
    book = Book(EventLog(0), low=90, high=110, last=100)
    for _ in random_flow(book, np.random.default_rng(3), 5_000):
        bid, ask = book.best(BUY), book.best(SELL)
        assert bid is None or ask is None or bid < ask
    assert book.volume > 0


def test_fills_never_exceed_the_order_and_trade_at_the_resting_price():
    log = EventLog(0)
    book = Book(log, low=90, high=110, last=100)
    orders = {o.oid: o for o in random_flow(book, np.random.default_rng(4), 5_000)}
    trades = pl.DataFrame({"buy": log.tr[5], "sell": log.tr[6], "qty": log.tr[2]})
    filled = pl.concat([trades.select(pl.col("buy").alias("oid"), "qty"),
                        trades.select(pl.col("sell").alias("oid"), "qty")]) \
        .group_by("oid").agg(pl.col("qty").sum())
    for oid, qty in filled.iter_rows():
        assert qty == orders[oid].qty - orders[oid].leaves <= orders[oid].qty


def test_the_closing_auction_uncrosses_at_the_price_of_most_volume():
    book = Book(EventLog(0), low=90, high=110, last=100)
    for oid, side, price, qty in [(1, BUY, 102, 300), (2, BUY, 101, 200), (3, SELL, 99, 200),
                                  (4, SELL, 101, 400), (5, SELL, 103, 100)]:
        book.submit(0, Order(oid, oid, side, price, qty), match=False)
    assert book.auction(1) == 101  # 500 wanted at 101 and up, 600 offered up to 101
    assert book.volume == 500
    assert book.best(BUY) is None and book.best(SELL) == 101


def test_orders_outside_the_price_limits_are_rejected():
    log = EventLog(0)
    book = Book(log, low=90, high=110, last=100)
    book.submit(0, Order(1, 1, BUY, 111, 100))
    assert log.ev[2] == [0, 5]  # NEW, then REJECT
    assert book.best(BUY) is None


# ---- the market's files ----------------------------------------------------------------

def test_market_files_ingest_with_no_rejections(market, tmp_path):
    out, result = market
    results = ingest_all(out, tmp_path / "db")
    assert {r.summary.report_type for r in results} >= {
        "instrument", "party", "account", "order_event", "trade", "announcement", "insider"}
    for r in results:
        assert r.summary.rejected == 0, (r.summary.file, r.summary.counts)
    assert result.order_events > 50_000 and result.trades > 5_000


def test_every_trade_comes_from_two_orders_that_fill_at_that_moment(market):
    out, _ = market
    events, trades = read(out, "order_event"), read(out, "trade")
    fills = events.filter(pl.col("event_type").is_in(["FILL", "PARTIAL_FILL"]))
    for side in ("buy", "sell"):
        joined = trades.join(fills, left_on=[f"{side}_order_id", "ts_event"],
                             right_on=["order_id", "ts_event"], how="anti")
        assert joined.is_empty(), f"{joined.height} trades without a {side} fill"
    assert (trades["buy_order_id"] != trades["sell_order_id"]).all()


def test_filled_quantity_matches_the_order_events(market):
    out, _ = market
    events, trades = read(out, "order_event"), read(out, "trade")
    per_order = pl.concat([
        trades.select(pl.col("buy_order_id").alias("order_id"), "quantity"),
        trades.select(pl.col("sell_order_id").alias("order_id"), "quantity"),
    ]).group_by("order_id").agg(pl.col("quantity").sum().alias("traded"))
    last = events.filter(pl.col("event_type").is_in(["FILL", "PARTIAL_FILL"])) \
        .group_by("order_id").agg(pl.col("quantity").last(), pl.col("leaves_quantity").min())
    check = per_order.join(last, on="order_id")
    assert check.height == per_order.height
    assert (check["traded"] <= check["quantity"]).all()
    assert (check["traded"] == check["quantity"] - check["leaves_quantity"]).all()


def test_trade_prices_stay_within_each_days_price_limits(market):
    out, result = market
    trades = read(out, "trade").with_columns(
        pl.from_epoch("ts_event", "ns").dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Asia/Shanghai").dt.date().alias("day"))
    for (day, isin), group in trades.group_by(["day", "isin"]):
        low, high = result.bands[(day, isin)]
        assert group["price"].min() >= low and group["price"].max() <= high, (day, isin)


def test_market_labels_cover_every_typology_and_point_at_existing_records(market):
    out, _ = market
    lab, events = labels(out), read(out, "order_event")
    accounts = set(read(out, "account")["account_id"])
    isins = set(read(out, "instrument")["isin"])
    assert set(lab["typology"]) == set(REGISTRY.typologies("market"))
    for row in lab.iter_rows(named=True):
        mine = row["account_ids"].split(";")
        assert set(mine) <= accounts and row["isin"] in isins
        acted = events.filter(pl.col("account_id").is_in(mine)
                              & pl.col("ts_event").is_between(row["window_start"], row["window_end"]))
        assert acted.height > 0, row["scenario_id"]
        assert row["window_start"] <= row["window_end"]


def test_wash_trades_cross_between_the_labelled_accounts(market):
    out, _ = market
    trades = read(out, "trade")
    for ids in labels(out).filter(pl.col("typology") == "WASH_TRADE")["account_ids"]:
        ring = ids.split(";")
        among = trades.filter(pl.col("buy_account_id").is_in(ring)
                              & pl.col("sell_account_id").is_in(ring))
        assert among.height > 0, ring


def test_insider_dealing_ends_at_a_price_sensitive_announcement(market):
    out, _ = market
    news = read(out, "announcement").filter(pl.col("price_sensitive"))
    for row in labels(out).filter(pl.col("typology") == "INSIDER_DEALING").iter_rows(named=True):
        hit = news.filter((pl.col("isin") == row["isin"])
                          & (pl.col("ts_event") == row["window_end"]))
        assert hit.height == 1, row["scenario_id"]


def test_the_market_shows_every_kind_of_order_event(market):
    out, _ = market
    kinds = set(read(out, "order_event")["event_type"])
    assert kinds >= {"NEW", "MODIFY", "CANCEL", "PARTIAL_FILL", "FILL", "EXPIRE"}


def test_the_same_seed_gives_the_same_files(tmp_path):
    def digest(out):
        simulate_market(out, seed=3, days=1, instruments=2, cases_per_typology=1)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_a_market_without_a_closing_call_trades_shares_on_to_the_close(tmp_path):
    """In Shanghai shares trade in one uncross at 15:00 after a call from 14:57; a
    continuous market trades them through those minutes, and its close is marked by
    trading up to it."""
    def last_minutes(market: str) -> pl.DataFrame:
        out = tmp_path / market
        simulate_market(out, seed=4, days=1, instruments=3, cases_per_typology=2,
                        market=market)
        t = read(out, "trade").with_columns(
            tod=pl.from_epoch("ts_event", "ns").dt.convert_time_zone("Asia/Shanghai").dt.time())
        shares = t.filter(pl.col("isin").str.starts_with("CNE"))
        return shares.filter(pl.col("tod") >= datetime(2026, 1, 1, 14, 57).time()), \
            pl.read_csv(out / "labels.csv")
    call, call_labels = last_minutes("call")
    continuous, labels = last_minutes("continuous")
    assert call["tod"].unique().to_list() == [datetime(2026, 1, 1, 15, 0).time()]
    assert continuous["tod"].n_unique() > 10 and continuous["tod"].max() < datetime(
        2026, 1, 1, 15, 0).time()
    marking = labels.filter(pl.col("typology") == "MARKING_THE_CLOSE")
    assert set(marking["variant"]) <= {"sweeps", "upticks", "final"} and marking.height == 2
    assert set(call_labels.filter(pl.col("typology") == "MARKING_THE_CLOSE")["variant"]) \
        == {"call"}


# ---- the payment files -----------------------------------------------------------------

def test_payment_files_ingest_with_no_rejections(pay, tmp_path):
    out, result = pay
    results = ingest_all(out, tmp_path / "db")
    assert sum(r.summary.accepted for r in results if r.summary.report_type == "payment") \
        == result.payments
    for r in results:
        assert r.summary.rejected == 0, (r.summary.file, r.summary.counts)


def test_payment_labels_point_at_payments_of_their_accounts(pay):
    out, result = pay
    lab, flows = labels(out), read(out, "payment")
    assert len(set(lab["typology"])) == 12
    for row in lab.iter_rows(named=True):
        mine = row["account_ids"].split(";")
        inside = flows.filter(
            (pl.col("debtor_account_id").is_in(mine) | pl.col("creditor_account_id").is_in(mine))
            & pl.col("ts_event").is_between(row["window_start"], row["window_end"]))
        assert inside.height >= 1, row["scenario_id"]
        assert row["isin"] is None


def test_structuring_stays_below_the_reporting_threshold(pay):
    out, _ = pay
    lab, flows = labels(out), read(out, "payment")
    smurfs = [a for ids in lab.filter(pl.col("typology") == "STRUCTURING")["account_ids"]
              for a in ids.split(";")]
    cash = flows.filter(pl.col("debtor_account_id").is_in(smurfs) & (pl.col("channel") == "CASH"))
    assert cash.height > 0 and (cash["amount"] < 50_000).all()


def test_laundering_is_about_a_thousandth_of_a_large_flow(tmp_path):
    result = simulate_payments(tmp_path, seed=9, days=2, accounts=60_000)
    assert 0.0005 < result.laundering / result.payments < 0.003


def test_each_payment_typology_is_carried_out_in_three_ways_on_networks_that_differ():
    """Every typology has at least three variants, named in its cases; two seeds give
    networks of different shapes (mix, rates, scale of money, hours, currencies)."""
    from suptech.simulate.payment_cases import PAYMENT_TYPOLOGIES
    from suptech.simulate.payments import background, build_network

    net = build_network(np.random.default_rng(3), 2_000, 2)
    background(net)
    for typology, inject in PAYMENT_TYPOLOGIES.items():
        ways = {inject(net).variant for _ in range(30)}
        assert len(ways) >= 3, (typology, ways)
    other = build_network(np.random.default_rng(4), 2_000, 2).shape
    differ = [f for f in net.shape.__dataclass_fields__
              if getattr(net.shape, f) != getattr(other, f)]
    assert len(differ) == len(net.shape.__dataclass_fields__)


def test_every_account_drawn_for_a_block_pays_or_is_paid_in_it():
    """A bipartite case names its payers and payees: each of them takes part (a block
    drawn pair by pair can leave an account out, which the case would still name)."""
    from suptech.simulate.payment_cases import bipartite
    from suptech.simulate.payments import background, build_network

    net = build_network(np.random.default_rng(3), 2_000, 2)
    background(net)
    for _ in range(40):
        case = bipartite(net)
        used = set(case.frame["debtor"]) | set(case.frame["creditor"])
        assert used == set(case.accounts), case.variant


def test_a_walk_names_the_accounts_it_took_in_and_never_closes_a_simple_ring():
    """A random walk's case names the accounts the money went through, and no walk is a
    simple ring (each account paying once, back to the first: a cycle by its shape),
    as walks of five steps or more among four to eight accounts now and then were."""
    from suptech.simulate.payment_cases import random_walk
    from suptech.simulate.payments import background, build_network

    net = build_network(np.random.default_rng(3), 2_000, 2)
    background(net)
    for _ in range(200):
        case = random_walk(net)
        payers, payees = list(case.frame["debtor"]), list(case.frame["creditor"])
        assert set(payers) | set(payees) == set(case.accounts)
        assert not (len(set(payers)) == len(payers) and set(payers) == set(payees))


def test_a_case_that_runs_into_the_last_moment_still_steps_forward():
    """A slow case on a one-day network: its steps are hurried at the end of the day,
    never piled on one moment (a ring's hops must follow one another)."""
    from suptech.simulate.payment_cases import Timeline
    from suptech.simulate.payments import build_network

    net = build_network(np.random.default_rng(5), 500, 1)
    line = Timeline(net, 1, stretch=10)
    moments = [line.step(3600, 7200) for _ in range(12)]
    assert all(a < b for a, b in zip(moments, moments[1:])) and moments[-1] < line.end


def test_an_idle_account_is_reported_as_last_used_years_ago_and_the_others_lately(pay):
    out, _ = pay
    lab, accounts = labels(out), read(out, "account")
    sleepers = {a for ids in lab.filter(pl.col("typology") == "DORMANT_ACTIVATION")["account_ids"]
                for a in ids.split(";")}
    idle = accounts.filter(pl.col("account_id").is_in(list(sleepers)))
    busy = accounts.filter(~pl.col("account_id").is_in(list(sleepers)))
    assert idle.height == len(sleepers) and (idle["last_active_date"].dt.year() < 2020).all()
    assert (busy["last_active_date"] >= busy["opened_date"]).all()
    assert (busy["last_active_date"].dt.year() >= 2025).all()


# ---- the command line --------------------------------------------------------------------

def test_simulate_cli_writes_files_and_refuses_an_unknown_scale(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["simulate", "market", "--scale", "huge", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "huge" in bad.output
    bad = runner.invoke(app, ["simulate", "market", "--market", "dark", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "dark" in bad.output and "continuous" in bad.output
    ok = runner.invoke(app, ["simulate", "payments", "--accounts", "500", "--days", "1",
                             "--format", "csv", "--out", str(tmp_path / "p")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "p" / "labels.csv").exists()
    assert datetime.fromisoformat(
        pl.read_csv(tmp_path / "p" / "payment-2026-03-02.csv")["ts_event"][0]).utcoffset()
