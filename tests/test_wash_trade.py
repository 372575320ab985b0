"""Wash trades, as the rule defines it: trades between accounts of one owner (or one
household), each between orders sent to meet: the second seconds after the first, or
a little later for just as much. Related accounts whose orders meet by chance, at
other sizes, and a single meeting are not."""

from __future__ import annotations

import pytest
from builders import ISIN_A, detector_alerts, record

#: A second account of P1, the owner of A1.
A3 = record("account", 3, account_id="A3", owner_party_id="P1")


def at(minute: int, second: float) -> str:
    minute, second = minute + int(second // 60), second % 60
    return f"2026-03-02T10:{minute:02d}:{second:06.3f}+08:00"


def cross(n: int, minute: int, after_s: float, sell_lots: int = 10, buy_lots: int = 10,
          seller: str = "A1", buyer: str = "A3") -> tuple[list[dict], dict]:
    """`seller` rests a sell; `after_s` later `buyer` takes it with an IOC order."""
    sell, buy = f"S{n}", f"B{n}"
    lots = min(sell_lots, buy_lots)
    events = [
        record("order_event", 10 * n, order_id=sell, ts_event=at(minute, 0), side="SELL",
               account_id=seller, quantity=str(sell_lots * 100),
               leaves_quantity=str(sell_lots * 100)),
        record("order_event", 10 * n + 1, order_id=buy, ts_event=at(minute, after_s),
               side="BUY", account_id=buyer, quantity=str(buy_lots * 100),
               leaves_quantity=str(buy_lots * 100), time_in_force="IOC")]
    trade = record("trade", n, trade_id=f"T{n}", ts_event=at(minute, after_s),
                   quantity=str(lots * 100), buy_account_id=buyer, sell_account_id=seller,
                   buy_order_id=buy, sell_order_id=sell, aggressor_side="BUY")
    return events, trade


def wash_alerts(tmp_path, *crosses) -> list[dict]:
    events = [e for es, _ in crosses for e in es]
    return detector_alerts(tmp_path, "wash_trade", events, [t for _, t in crosses],
                           accounts=[A3])


def test_one_owner_crossing_at_once_twice_is_a_wash(tmp_path):
    alerts = wash_alerts(tmp_path, cross(1, 0, 0.5), cross(2, 5, 0.5))
    assert [(a["account_ids"], a["isin"]) for a in alerts] == [("A1;A3", ISIN_A)]


def test_taking_the_own_order_a_little_later_for_as_much_is_a_wash(tmp_path):
    assert len(wash_alerts(tmp_path, cross(1, 0, 20), cross(2, 5, 45))) == 1


@pytest.mark.parametrize("crosses", [
    [cross(1, 0, 0.5)],  # once
    [cross(1, 0, 20, buy_lots=7), cross(2, 5, 45, buy_lots=3)],  # later, at other sizes
    [cross(1, 0, 20, buyer="A2"), cross(2, 5, 20, buyer="A2")],  # unrelated accounts
    [cross(1, 0, 90), cross(2, 5, 120)],  # minutes later
], ids=["once", "other sizes", "unrelated", "minutes later"])
def test_not_a_wash(tmp_path, crosses):
    assert wash_alerts(tmp_path, *crosses) == []
