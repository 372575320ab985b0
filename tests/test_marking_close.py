"""Marking the close: aggressive buying in the last minutes, then an order into the
closing call. A call trades at one moment, its uncross at the close; where a share
traded on through the call's hours, the venue ran no call that day, and an order then
is no call order."""

from __future__ import annotations

from builders import detector_alerts, record


def at(hhmmss: str) -> str:
    return f"2026-03-02T{hhmmss}+08:00"


def order(oid: str, ts: str, account: str, side: str, tif: str = "DAY") -> dict:
    return record("order_event", int(oid[1:]), order_id=oid, ts_event=at(ts),
                  account_id=account, side=side, time_in_force=tif)


def trade(n: int, ts: str, buy: str, sell: str, aggressor: str = "BUY") -> dict:
    return record("trade", n, trade_id=f"T{n}", ts_event=at(ts), buy_order_id=buy,
                  sell_order_id=sell, aggressor_side=aggressor, quantity="1000")


def day(traded_in_the_call: bool) -> tuple[list[dict], list[dict]]:
    """A1 takes A2's offers twice at 14:50 and 14:52, then bids into the call at 14:58;
    the call uncrosses at 15:00 (or, `traded_in_the_call`, A2 and A1 trade at 14:58:30
    as in continuous trading)."""
    orders = [order("O1", "14:49:00", "A2", "SELL"), order("O2", "14:50:00", "A1", "BUY", "IOC"),
              order("O3", "14:51:00", "A2", "SELL"), order("O4", "14:52:00", "A1", "BUY", "IOC"),
              order("O5", "14:58:00", "A1", "BUY"), order("O6", "14:58:10", "A2", "SELL")]
    trades = [trade(1, "14:50:00", "O2", "O1"), trade(2, "14:52:00", "O4", "O3")]
    if traded_in_the_call:
        trades.append(trade(3, "14:58:30", "O5", "O6", aggressor="SELL"))
    else:
        trades.append(trade(3, "15:00:00", "O5", "O6", aggressor="SELL"))
    return orders, trades


def alerts(tmp_path, traded_in_the_call: bool) -> list[dict]:
    return detector_alerts(tmp_path, "marking_the_close", *day(traded_in_the_call))


def test_aggressive_buying_then_a_bid_into_the_call_is_marking_the_close(tmp_path):
    assert [a["account_ids"] for a in alerts(tmp_path, traded_in_the_call=False)] == ["A1"]


def test_a_share_that_trades_on_through_the_call_hours_had_no_call(tmp_path):
    assert alerts(tmp_path, traded_in_the_call=True) == []
