"""The risk indicators' rules, each at, just below and just above its line.

Each test builds a few shares (or members, or accounts) in one store, one per case: at
the line, a little below, a little above; and reads which the indicator raises. Where a
shipped line needs more data than a test should carry (20 days of history, 20,000
orders), the test sets the line in the rules, as an installation would.
"""

from __future__ import annotations

import datetime as dt
import json

from builders import BROKER_A, BROKER_B, record, write_csv
from stdnum import isin as isin_code
from stdnum.iso7064 import mod_97_10

from suptech.detect.base import REGISTRY
from suptech.detect.run import run
from suptech.ingest.pipeline import ingest_files
from suptech.risk.indicator import RuleParams
from suptech.risk.rules import rules
from suptech.store.database import open_store

START = dt.date(2026, 3, 2)  # a Monday


def day(n: int) -> str:
    """The n-th trading day (weekdays) from START."""
    d, left = START, n
    while left:
        d += dt.timedelta(days=1)
        left -= d.weekday() < 5
    return d.isoformat()


def isin(n: int) -> str:
    body = f"CNE1000{n:04d}"
    return body + isin_code.calc_check_digit(body)


def lei(n: int) -> str:
    body = f"5493MBR{n:09d}00"[:18]
    return body + mod_97_10.calc_check_digits(body)


class Market:
    """A small market to ingest: shares, index levels, share capital, trades, orders,
    and seven accounts A1-A7 of seven parties, A1 at BROKER_A, A2 at BROKER_B and each
    other at a member of its own (`lei(k)`)."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = {}
        self.n = 0
        self.index("000001", [1000] * 40)  # the main board's benchmark, flat

    def add(self, kind: str, **fields) -> dict:
        self.n += 1
        rec = record(kind, self.n, **fields)
        self.rows.setdefault(kind, []).append(rec)
        return rec

    def share(self, n: int, board: str = "MAIN", limit: str | None = "10",
              float_shares: int | None = None, tick: str = "0.0001") -> str:
        code = isin(n)
        self.add("instrument", isin=code, board=board, price_limit_pct=limit,
                 tick_size=tick, lot_size="1")
        if float_shares:
            self.add("share_capital", isin=code, total_shares=str(2 * float_shares),
                     float_shares=str(float_shares), ts_event=f"{day(0)}T08:00:00+08:00")
        return code

    def trade(self, code: str, d: int, price, qty: int = 100, time: str = "14:00:00",
              buyer: str = "A1", seller: str = "A2") -> None:
        self.add("trade", trade_id=f"T{self.n + 1}", isin=code, price=str(price),
                 ts_event=f"{day(d)}T{time}+08:00", quantity=str(qty),
                 buy_account_id=buyer, sell_account_id=seller, buy_order_id="O1",
                 sell_order_id="O2")

    def closes(self, code: str, prices) -> None:
        for d, p in enumerate(prices):
            self.trade(code, d, p)

    def index(self, index_id: str, levels) -> None:
        for d, level in enumerate(levels):
            self.add("index_level", index_id=index_id, level=str(level),
                     ts_event=f"{day(d)}T15:00:00+08:00")

    def orders(self, account: str, member: str, d: int, new: int, cancel: int = 0,
               at: str = "10:00:00", code: str | None = None) -> None:
        code = code or isin(1)
        for k in range(new):
            oid = f"{account}-{self.n}"
            fields = dict(order_id=oid, account_id=account, member_lei=member, isin=code,
                          ts_event=f"{day(d)}T{at}.{k % 1000:03d}+08:00")
            self.add("order_event", **fields)
            if k < cancel:
                self.add("order_event", **fields, event_type="CANCEL", leaves_quantity="0")

    def alerts(self, tmp_path, indicator: str, everything: bool = False,
               **lines) -> dict[str, dict] | list[dict]:
        """The indicator's alerts by subject (isin, or accounts; the last of a subject's
        days), or `everything` as a list, its rules' lines changed by `lines`."""
        for oid in ("O1", "O2"):  # the orders the trades name
            self.add("order_event", order_id=oid, isin=self.rows["instrument"][0]["isin"],
                     account_id="A2", member_lei=BROKER_B)
        parties = [record("party", k, party_id=f"P{k}") for k in range(1, 8)]
        members = {1: BROKER_A, 2: BROKER_B}
        accounts = [record("account", k, account_id=f"A{k}", owner_party_id=f"P{k}",
                           member_lei=members.get(k, lei(k))) for k in range(1, 8)]
        tmp_path.mkdir(parents=True, exist_ok=True)
        files = [write_csv(tmp_path, "party.csv", parties),
                 write_csv(tmp_path, "account.csv", accounts)]
        files += [write_csv(tmp_path, f"{kind}.csv", rows, columns=_columns(rows))
                  for kind, rows in self.rows.items()]
        cls = REGISTRY.get(indicator)
        section = getattr(rules(), cls.section)
        chosen = cls(RuleParams(section.model_copy(update=lines)) if lines else None)
        store = open_store(tmp_path / "db")
        try:
            results = ingest_files(store, files)
            assert all(r.summary.rejected == 0 for r in results), [
                r.feedback.head(3).rows() for r in results if r.summary.rejected]
            found = run(store, [chosen]).to_dicts()
            if everything:
                return found
            return {(a["isin"] if cls.subject == "instrument" else a["account_ids"]): a
                    for a in found}
        finally:
            store.close()


def _columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def why(alert: dict) -> dict:
    return json.loads(alert["explanation"])


def test_abnormal_fluctuation_is_20_percent_of_deviation_over_3_days_on_the_main_board(
        tmp_path):
    """Returns of 5 %, 5 % and 10 % on a flat index add up to the line."""
    m = Market()
    for n, last in ((1, "12.1275"), (2, "12.1274"), (3, "12.1276")):
        m.closes(m.share(n), ["10", "10.5", "11.025", last])
    raised = m.alerts(tmp_path, "abnormal_fluctuation")
    assert set(raised) == {isin(1), isin(3)}
    assert why(raised[isin(1)])["benchmark"] == "000001"
    assert raised[isin(1)]["typology"] == "ABNORMAL_FLUCTUATION"
    assert raised[isin(1)]["score"] == 0.5  # at the line; a measure is not calibrated


def test_abnormal_fluctuation_lines_are_the_boards(tmp_path):
    """The same +20 % is abnormal on the main board, not on STAR (±30 %), and an ST
    share's +12 % is; a falling share counts as a rising one."""
    m = Market()
    m.closes(m.share(1, board="STAR"), ["10", "10.5", "11.025", "12.1275"])
    m.closes(m.share(2, board="ST"), ["10", "10.4", "10.816", "11.24864"])  # +4 % x 3
    m.closes(m.share(3, board="ST"), ["10", "10.4", "10.816", "11.24863"])
    m.closes(m.share(4), ["10", "9.5", "9.025", "8.1225"])  # -5, -5, -10 %
    assert set(m.alerts(tmp_path, "abnormal_fluctuation")) == {isin(2), isin(4)}


def test_abnormal_fluctuation_counts_afresh_after_a_trigger(tmp_path):
    """+20 % over days 1-3, then flat: the windows ending on days 4 and 5 still hold
    day 3's move, but the exchange counts afresh after day 3's trigger."""
    m = Market()
    m.closes(m.share(1), ["10", "10.5", "11.025", "12.1275", "12.1275", "12.1275", "12.1275"])
    m.closes(m.share(2), ["10", "10", "10", "12", "12", "12", "12"])  # +20 % on one day
    raised = m.alerts(tmp_path, "abnormal_fluctuation")
    assert set(raised) == {isin(1), isin(2)}  # one alert each, on day 3


def test_abnormal_fluctuation_by_turnover(tmp_path):
    """Mean turnover over 3 days 30 times the 5 days' before, and 20 % over the 3 days:
    1,000 shares a day out of a float of 1,000,000, then 66,667 (at), less, more."""
    m = Market()
    for n, burst in ((1, 66_667), (2, 66_666), (3, 70_000)):
        code = m.share(n, float_shares=1_000_000)
        for d in range(8):
            m.trade(code, d, "10", qty=1000 if d < 5 else burst)
    raised = m.alerts(tmp_path, "abnormal_fluctuation")
    # 66,667 x 3 = 20.0001 % and a ratio of 66.7; 66,666 x 3 = 19.9998 %.
    assert set(raised) == {isin(1), isin(3)}


def test_severe_fluctuation_at_minus_50_percent_over_10_days(tmp_path):
    """Five days of -10 % against a flat index add up to -50 %: severe (the abnormal
    fluctuation on the way is one, not three)."""
    m = Market()
    for n, last in ((1, "59.049"), (2, "59.0491"), (3, "59.0489")):
        m.closes(m.share(n), ["100", "90", "81", "72.9", "65.61", last, last, last])
    raised = m.alerts(tmp_path, "severe_fluctuation")
    assert set(raised) == {isin(1), isin(3)}
    assert why(raised[isin(1)])["abnormal_down_10d"] == 1


def test_severe_fluctuation_is_three_abnormal_fluctuations_the_same_way_in_10_days(tmp_path):
    """+20 % on days 3, 6 and 9 (abnormal each time, counted afresh) is severe; the
    third at +19 % is not, and +60 % in 9 days is far from the 10-day line."""
    m = Market()
    for n, third in ((1, 1.20), (2, 1.19)):
        prices, p = ["10"], 10.0
        for d in range(1, 10):
            p *= (third if d == 9 else 1.20) if d % 3 == 0 else 1
            prices.append(f"{p:.4f}")
        m.closes(m.share(n), prices)
    raised = m.alerts(tmp_path, "severe_fluctuation")
    assert set(raised) == {isin(1)}
    assert why(raised[isin(1)])["abnormal_up_10d"] == 3


def test_disclosure_triggers(tmp_path):
    """A day's deviation of 7 % on the main board (and not 6.99 %), a change of 15 % on
    STAR, a range of 15 % of the previous close, turnover of 20 % of the float."""
    m = Market()
    m.closes(m.share(1), ["10", "10.7"])
    m.closes(m.share(2), ["10", "10.699"])
    m.closes(m.share(3, board="STAR"), ["10", "11.5"])
    m.closes(m.share(4, board="STAR"), ["10", "10.7"])  # 7 % is nothing on STAR
    code = m.share(5)
    m.closes(code, ["10", "10"])
    m.trade(code, 1, "11.5", time="10:00:00")  # a range of 1.5 = 15 %
    code = m.share(6)
    m.closes(code, ["10", "10"])
    m.trade(code, 1, "11.499", time="10:00:00")
    code = m.share(7, float_shares=1000)
    m.trade(code, 0, "10")
    m.trade(code, 1, "10", qty=200)  # 20 % of the float
    code = m.share(8, float_shares=1000)
    m.trade(code, 0, "10")
    m.trade(code, 1, "10", qty=199)
    assert set(m.alerts(tmp_path, "disclosure_trigger")) == {isin(1), isin(3), isin(5),
                                                             isin(7)}


def test_consecutive_limit_hits(tmp_path):
    """Three closes in a row at the 10 % limit are raised once, with the largest
    buyers' share; two are not; a close a tick under the limit breaks the run. The limit
    is rounded half up to the tick: 17.15 up 10 % is 18.865, a limit of 18.87 (in binary
floating point 1886.4999... ticks)."""
    m = Market()
    m.closes(m.share(5, tick="0.01"), ["17.15", "18.87", "20.76", "22.84"])
    m.closes(m.share(6, tick="0.01"), ["17.15", "18.86", "20.75", "22.83"])
    m.closes(m.share(1), ["10", "11", "12.1", "13.31", "14.641"])
    m.closes(m.share(2), ["10", "11", "12.1", "12.1"])
    m.closes(m.share(3), ["10", "11", "12.0999", "13.3099"])
    m.closes(m.share(4), ["10", "9", "8.1", "7.29"])  # limit down
    raised = m.alerts(tmp_path, "limit_hits")
    assert set(raised) == {isin(1), isin(4), isin(5)}
    assert why(raised[isin(1)])["top_share"] == 1.0
    assert raised[isin(1)]["account_ids"] == "A1"
    assert why(raised[isin(4)])["direction"] == "SELL"


def test_order_to_trade_ratio_of_250_messages_a_trade(tmp_path):
    """Three members send 250 (at), 249 (below) and 251 (above) orders for one trade of
    one order's size each; a fourth sends 99 orders for none (too few to rate)."""
    m = Market()
    code = m.share(1)
    for k, n in ((3, 250), (4, 249), (5, 251)):
        m.orders(f"A{k}", lei(k), 0, n)
        m.trade(code, 0, "10", qty=1000, buyer=f"A{k}")
    m.orders("A6", lei(6), 0, 99)
    code_b = m.share(2)  # A5's member passes the line in a second share that day
    m.orders("A5", lei(5), 0, 251, code=code_b)
    m.trade(code_b, 0, "10", qty=1000, buyer="A5")
    alerts = m.alerts(tmp_path, "order_to_trade", everything=True)
    assert sorted((a["account_ids"], a["isin"]) for a in alerts) == \
        [("A3", isin(1)), ("A5", isin(1)), ("A5", code_b)]
    assert len({a["alert_id"] for a in alerts}) == 3  # two cases of one member, apart
    raised = {a["account_ids"]: a for a in alerts}
    assert set(raised) == {"A3", "A5"}
    assert why(raised["A3"])["by_number"] == 250.0


def test_cancellation_ratio_of_95_percent(tmp_path):
    m = Market()
    m.share(1)
    m.orders("A3", lei(3), 0, 100, cancel=95)
    m.orders("A4", lei(4), 0, 100, cancel=94)
    m.orders("A5", lei(5), 0, 100, cancel=96)
    m.orders("A6", lei(6), 0, 99, cancel=99)  # too few orders to rate
    assert set(m.alerts(tmp_path, "cancellation")) == {"A3", "A5"}


def test_high_frequency_at_300_a_second_or_a_days_line(tmp_path):
    """300 orders and cancellations in one second, 299, 301; and, with a day's line of
    20 set in the rules, 20 spread over the day."""
    m = Market()
    m.share(1)
    m.orders("A3", lei(3), 0, 150, cancel=150)
    m.orders("A4", lei(4), 0, 150, cancel=149)
    m.orders("A5", lei(5), 0, 151, cancel=150)
    assert set(m.alerts(tmp_path, "high_frequency")) == {"A3", "A5"}

    m = Market()
    m.share(1)
    for k in range(20):
        m.orders("A6", lei(6), 0, 1, at=f"10:{k:02d}:00")
    for k in range(19):
        m.orders("A7", lei(7), 0, 1, at=f"10:{k:02d}:00")
    assert set(m.alerts(tmp_path / "day", "high_frequency", per_day=20)) == {"A6"}


def test_concentration_against_the_instruments_own(tmp_path):
    """Five members trade a share equally for five days (HHI 0.2); on day 5 one member
    holds 50 %, another 30 % and two 10 % each: HHI 0.36, the line at 1.8 times the
    usual 0.2. 49/31 and 51/29 are just below and above."""
    m = Market()
    for n, (a, b) in ((1, (50, 30)), (2, (49, 31)), (3, (51, 29))):
        code = m.share(n)
        for d in range(5):
            for k in range(3, 8):  # each member trades with itself: its share is clear
                m.trade(code, d, "10", qty=100, buyer=f"A{k}", seller=f"A{k}")
        for k, qty in zip(range(3, 7), (a, b, 10, 10)):
            m.trade(code, 5, "10", qty=qty, buyer=f"A{k}", seller=f"A{k}")
    raised = m.alerts(tmp_path, "concentration", multiple=1.8, min_trades=4, min_history=3)
    assert set(raised) == {isin(1), isin(3)}


def test_illiquidity_against_the_instruments_own(tmp_path):
    """A share rising 25 % a day on 1,000,000 traded (an Amihud measure of 0.25 a
    million), then doubling on 8,192 shares at 48.828125: 1.0 / 0.4 million = 2.5, and
    over 2 days (0.25 + 2.5) / 2 = 1.375, 5.5 times its usual (at); on 8,193 shares
    (below) and 8,191 (above)."""
    m = Market()
    for n, last in ((1, 8192), (2, 8193), (3, 8191)):
        code = m.share(n, limit=None)
        for d in range(5):
            m.trade(code, d, 10 * 1.25 ** d, qty=round(100_000 * 0.8 ** d))
        m.trade(code, 5, 2 * 10 * 1.25 ** 4, qty=last)
    raised = m.alerts(tmp_path, "illiquidity", history=5, min_history=4, days=2,
                      multiple=5.5)
    assert set(raised) == {isin(1), isin(3)}
    assert why(raised[isin(1)])["normal"] == 0.25


def test_on_a_simulated_month_the_rules_fire_on_exactly_the_injected_episodes(tmp_path):
    """Every kind of episode once, among ordinary shares whose noise stays far from the
    lines: each label found, no other alert (docs/typologies/risk.md: each episode is
    written from its rule's definition, not from the indicators)."""
    import polars as pl

    from suptech.detect.evaluate import score
    from suptech.risk.levels import indicators
    from suptech.simulate.risk_run import one_file_a_type, simulate_risk

    sim = simulate_risk(tmp_path / "sim", seed=2302, instruments=22, days=34, month=12,
                        trades=20, each=1)
    files = one_file_a_type(sim.files, tmp_path)
    store = open_store(tmp_path / "db")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
        alerts = run(store, indicators())
    finally:
        store.close()
    scores = score(pl.read_csv(sim.files[-1]), alerts)
    assert {s.typology for s in scores} == set(rules_typologies()) | {"ALL"}
    assert [(s.typology, s.found, s.true_alerts) for s in scores] == \
        [(s.typology, s.cases, s.alerts) for s in scores]


def rules_typologies() -> set[str]:
    return set(REGISTRY.typologies("risk"))
