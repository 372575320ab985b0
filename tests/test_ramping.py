"""Ramping, as the rule defines it: bursts of orders, seconds apart, that take liquidity
on one side, each large for the instrument's market that day, from an account that
neither trades nor quotes the other side while it ramps. What it does the rest of the
day does not matter; a market maker's quotes on both sides are no ramp."""

from __future__ import annotations

import pytest
from builders import ISIN_A, detector_alerts, record

_n = iter(range(1, 10_000))


def at(minute: int, second: float) -> str:
    return f"2026-03-02T10:{minute:02d}:{second:06.3f}+08:00"


def take(minute: int, second: float, side: str = "BUY", lots: int = 20,
         account: str = "A1", tif: str = "IOC") -> tuple[list[dict], list[dict]]:
    """An order of `account` that takes `lots` from a resting order of A2: its events
    and its trade."""
    n = next(_n)
    ts, qty, other = at(minute, second), str(lots * 100), "SELL" if side == "BUY" else "BUY"
    resting = record("order_event", n * 2, order_id=f"R{n}", ts_event=at(minute, 0),
                     side=other, account_id="A2", price="10.01", quantity=qty,
                     leaves_quantity=qty)
    mine = record("order_event", n * 2 + 1, order_id=f"T{n}", ts_event=ts, side=side,
                  account_id=account, price="10.01", quantity=qty, leaves_quantity=qty,
                  time_in_force=tif)
    fills = [dict(o, report_id=f"{o['report_id']}F", event_type="FILL", ts_event=ts,
                  leaves_quantity="0") for o in (resting, mine)]
    buy, sell = (mine, resting) if side == "BUY" else (resting, mine)
    trade = record("trade", n, trade_id=f"X{n}", ts_event=ts, quantity=qty, price="10.01",
                   buy_account_id=buy["account_id"], sell_account_id=sell["account_id"],
                   buy_order_id=buy["order_id"], sell_order_id=sell["order_id"],
                   aggressor_side=side)
    return [resting, mine] + fills, [trade]


def day(*orders: tuple[list[dict], list[dict]]) -> tuple[list[dict], list[dict]]:
    """The orders, among the market's usual takers: 2-lot orders of A2 every minute."""
    usual = [take(m, 30, "SELL" if m % 2 else "BUY", lots=2, account="A2") for m in range(40)]
    parts = list(orders) + usual
    return [e for es, _ in parts for e in es], [t for _, ts in parts for t in ts]


def burst(minute: int, **kw) -> list[tuple[list[dict], list[dict]]]:
    return [take(minute, 1 + 3 * k, **kw) for k in range(3)]


def quote(minute: int, side: str, account: str = "A1") -> tuple[list[dict], list[dict]]:
    """A resting order that never trades."""
    n = next(_n)
    return [record("order_event", n * 2, order_id=f"Q{n}", ts_event=at(minute, 2),
                   side=side, account_id=account, price="10.05" if side == "SELL" else "9.95",
                   quantity="2000", leaves_quantity="2000")], []


def ramping_alerts(tmp_path, orders) -> list[dict]:
    return detector_alerts(tmp_path, "ramping", *day(*orders))


def test_two_bursts_of_large_takers_on_one_side_are_a_ramp(tmp_path):
    alerts = ramping_alerts(tmp_path, burst(5) + burst(8))
    assert [(a["account_ids"], a["isin"]) for a in alerts] == [("A1", ISIN_A)]
    assert len(alerts[0]["evidence"].split(";")) == 6


def test_an_account_that_trades_both_sides_at_other_times_still_ramps(tmp_path):
    ordinary = [take(20, 0, "SELL", lots=3), take(30, 0, "BUY", lots=2), quote(35, "SELL")]
    assert len(ramping_alerts(tmp_path, burst(5) + burst(8) + ordinary)) == 1


def test_marketable_day_orders_ramp_as_ioc_orders_do(tmp_path):
    assert len(ramping_alerts(tmp_path, burst(5, tif="DAY") + burst(8, tif="DAY"))) == 1


@pytest.mark.parametrize("orders", [
    burst(5),  # one burst
    burst(5, lots=2) + burst(8, lots=2),  # no larger than the market's usual takers
    burst(5) + burst(8) + [quote(6, "SELL"), quote(7, "SELL")],  # quoting the other side
    [take(5, 1 + 10 * k) for k in range(3)] + [take(8, 1 + 10 * k) for k in range(3)],
], ids=["one burst", "usual sizes", "a market maker's quotes", "ten seconds apart"])
def test_not_ramping(tmp_path, orders):
    assert ramping_alerts(tmp_path, orders) == []
