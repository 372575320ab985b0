"""Spoofing, as the rule defines it: an order large for the instrument withdrawn within
seconds while the same account's small genuine order works the other side, filled or
not; a book shown on one side only. Tried once with nothing traded, it may be a change
of mind: raised, below a repeated try. A market maker's two-sided quotes are not
spoofing.
"""

from __future__ import annotations

import pytest
from builders import ISIN_A, detector_alerts, record


def at(minute: int, second: float) -> str:
    return f"2026-03-02T10:{minute:02d}:{second:06.3f}+08:00"


def order(n: int, oid: str, kind: str, ts: str, side: str, lots: int, price: str,
          account: str = "A1", leaves: int | None = None) -> dict:
    qty = str(lots * 100)
    return record("order_event", n, order_id=oid, event_type=kind, ts_event=ts, side=side,
                  account_id=account, price=price, quantity=qty,
                  leaves_quantity=str(lots * 100 if leaves is None else leaves))


def spoof(n: int, minute: int, genuine_lots: int = 3, spoof_sides=("SELL",),
          account: str = "A1") -> list[dict]:
    """A genuine BUY of `genuine_lots` at the bid, 5 s later a 50-lot order on each of
    `spoof_sides`, all withdrawn 15 s after that."""
    rows = [order(n, f"G{n}", "NEW", at(minute, 0), "BUY", genuine_lots, "10.00", account)]
    for k, side in enumerate(spoof_sides):
        price = "10.02" if side == "SELL" else "9.99"
        rows.append(order(n + 1 + k, f"S{n}{k}", "NEW", at(minute, 5), side, 50, price, account))
    for k, r in enumerate(list(rows)):
        rows.append(dict(r, report_id=f"ORD-C{n}-{k}", event_type="CANCEL",
                         ts_event=at(minute, 20), leaves_quantity="0"))
    return rows


def usual(lots: int = 2) -> list[dict]:
    """The market's ordinary resting orders: one of `lots` lots a minute from 09:30."""
    return [order(900 + k, f"U{k}", "NEW", f"2026-03-02T{9 + (30 + k) // 60:02d}:"
                  f"{(30 + k) % 60:02d}:30.000+08:00", "BUY", lots, "9.90", "A2")
            for k in range(40)]


def spoofing_alerts(tmp_path, events: list[dict], trades: list[dict] = (),
                    usual_lots: int = 2) -> list[dict]:
    return detector_alerts(tmp_path, "spoofing", events + usual(usual_lots), trades)


def test_a_spoof_repeated_while_the_genuine_order_rests_unfilled_is_raised(tmp_path):
    alerts = spoofing_alerts(tmp_path, spoof(10, 0) + spoof(20, 5))
    assert [(a["account_ids"], a["isin"]) for a in alerts] == [("A1", ISIN_A)]
    # The evidence: the spoofs and the genuine orders they served.
    assert set(alerts[0]["evidence"].split(";")) == {"S100", "S200", "G10", "G20"}


def test_once_with_a_genuine_order_that_traded_is_enough(tmp_path):
    events = spoof(10, 0) + [order(90, "X1", "NEW", at(0, 9), "SELL", 3, "10.00", "A2")]
    trade = record("trade", 1, ts_event=at(0, 9), buy_order_id="G10", sell_order_id="X1",
                   price="10.00", quantity="300", aggressor_side="SELL")
    assert len(spoofing_alerts(tmp_path, events, [trade])) == 1


def test_a_single_try_left_unserved_is_raised_below_a_repeated_one(tmp_path):
    """A spoofer waiting to be hit often is not, and may try once; or it was a change of
    mind: raised, but the analyst sees the repeated case first."""
    (tmp_path / "once").mkdir(), (tmp_path / "twice").mkdir()
    once = spoofing_alerts(tmp_path / "once", spoof(10, 0))
    twice = spoofing_alerts(tmp_path / "twice", spoof(10, 0) + spoof(20, 5))
    assert len(once) == len(twice) == 1
    assert once[0]["score"] < twice[0]["score"]


@pytest.mark.parametrize("events", [
    spoof(10, 0, genuine_lots=40) + spoof(20, 5, genuine_lots=40),  # as much on both sides
    spoof(10, 0, spoof_sides=("SELL", "BUY")) + spoof(20, 5, spoof_sides=("SELL", "BUY")),
], ids=["a two-sided book", "a market maker's quotes"])
def test_not_spoofing(tmp_path, events):
    assert spoofing_alerts(tmp_path, events) == []


def test_large_is_large_for_the_instrument_not_in_lots(tmp_path):
    """50 lots where the market's orders are of 20: not a large order there."""
    assert spoofing_alerts(tmp_path, spoof(10, 0) + spoof(20, 5), usual_lots=20) == []
