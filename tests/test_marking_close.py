"""Marking the close: aggressive buying in the last minutes, then an order into the
closing call. A call trades at one moment, its uncross at the close; where a share
traded on through the call's hours, the venue ran no call that day, and an order then
is no call order."""

from __future__ import annotations

from builders import BROKER_A, BROKER_B, detector_alerts, record, taking


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


# Trading on to the close: the marker must move the last prices itself.

_n = iter(range(100, 100_000))
#: The market's crowd: A3 takes, A4 rests.
CROWD = [record("account", n, account_id=f"A{n}", owner_party_id="P2") for n in (3, 4)]


def take(ts: str, account: str, side: str, price: str, lots: int,
         maker: str = "A2") -> tuple[list[dict], list[dict]]:
    """An order of `account` that takes `lots` at `price` from a resting order of
    `maker` (A2, or the crowd's A4)."""
    return taking(next(_n), at(ts), account, side, lots, price, maker=maker,
                  maker_lei=BROKER_B if maker == "A2" else BROKER_A)


def afternoon() -> list[tuple[list[dict], list[dict]]]:
    """The share's afternoon to 14:55: 2-lot orders every minute, buyers taking at 10.01
    and sellers at 10.00, so its price goes nowhere but a tick of bounce."""
    return [take(f"{13 + m // 60}:{m % 60:02d}:30", "A3", "BUY" if m % 2 else "SELL",
                 "10.01" if m % 2 else "10.00", 2, maker="A4") for m in range(115)]


def continuous_alerts(tmp_path, *orders) -> list[dict]:
    """The alerts on an afternoon that trades on to 15:00 (a trade at 14:59:50 falls in
    the call's hours, so there was no call), with `orders` in its last minutes."""
    parts = afternoon() + [take("14:59:50", "A3", "SELL", "10.00", 2, maker="A4")]
    parts += list(orders)
    events = [e for es, _ in parts for e in es]
    trades = [t for _, ts in parts for t in ts]
    return detector_alerts(tmp_path, "marking_the_close", events, trades, accounts=CROWD)


def pushes(account: str = "A1", side: str = "BUY", lots: int = 20,
           prices=("10.03", "10.06", "10.09")) -> list[tuple[list[dict], list[dict]]]:
    return [take(ts, account, side, p, lots)
            for ts, p in zip(("14:56:00", "14:57:30", "14:59:00"), prices)]


def test_large_orders_that_lift_the_last_prices_far_beyond_their_usual_moves_mark_the_close(
        tmp_path):
    alerts = continuous_alerts(tmp_path, *pushes())
    assert [(a["account_ids"], len(a["evidence"].split(";"))) for a in alerts] == [("A1", 3)]


def test_selling_the_close_down_marks_it_too(tmp_path):
    assert len(continuous_alerts(tmp_path, *pushes(side="SELL",
                                                  prices=("9.97", "9.94", "9.91")))) == 1


def test_a_fund_buying_as_much_at_the_usual_price_does_not_mark_the_close(tmp_path):
    assert continuous_alerts(tmp_path, *pushes(prices=("10.01", "10.01", "10.01"))) == []


def test_orders_of_the_usual_size_do_not_mark_the_close_whatever_they_print(tmp_path):
    assert continuous_alerts(tmp_path, *pushes(lots=2)) == []


def test_an_account_taking_both_sides_at_the_close_is_not_marking_it(tmp_path):
    both = pushes() + [take("14:58:00", "A1", "SELL", "10.05", 20)]
    assert continuous_alerts(tmp_path, *both) == []


def walks(ts: str, account: str, prices: tuple[str, ...],
          lots: int) -> tuple[list[dict], list[dict]]:
    """One buy order of `account` that takes `lots` at each of `prices`, from A2's offers
    resting there: it walks the book."""
    n, qty = next(_n), str(lots * 100)
    total = str(lots * 100 * len(prices))
    events = [record("order_event", 2 * n, order_id=f"T{n}", ts_event=at(ts), side="BUY",
                     account_id=account, price=prices[-1], quantity=total,
                     leaves_quantity=total, time_in_force="IOC")]
    trades = []
    for k, price in enumerate(prices):
        m = next(_n)
        events.append(record("order_event", 2 * m, order_id=f"R{m}", ts_event=at(ts),
                             side="SELL", account_id="A2", member_lei=BROKER_B, price=price,
                             quantity=qty, leaves_quantity=qty))
        trades.append(record("trade", m, trade_id=f"X{m}", ts_event=at(ts), price=price,
                             quantity=qty, buy_account_id=account, sell_account_id="A2",
                             buy_order_id=f"T{n}", sell_order_id=f"R{m}",
                             aggressor_side="BUY"))
    return events, trades


def test_one_order_walking_the_book_far_in_the_last_seconds_marks_the_close(tmp_path):
    alerts = continuous_alerts(tmp_path, walks("14:59:55", "A1", ("10.01", "10.03", "10.05"), 20))
    assert [a["account_ids"] for a in alerts] == ["A1"]


def test_a_fund_taking_the_touch_again_and_again_as_the_price_bounces_does_not_mark_it(
        tmp_path):
    """Each of its buys prints a tick above the one before half the time, but it never
    goes beyond a tick from where it started: the bounce is not its move."""
    bounce = [take(f"14:5{6 + k // 4}:{(k % 4) * 15:02d}", "A1", "BUY",
                   "10.02" if k % 2 else "10.01", 5) for k in range(8)]
    assert continuous_alerts(tmp_path, *bounce) == []


def test_a_large_push_among_larger_buying_is_not_a_significant_share_of_the_close(tmp_path):
    crowd = [take(ts, "A3", "BUY", "10.01", 40, maker="A4")
             for ts in ("14:56:10", "14:57:40", "14:59:10")]
    assert continuous_alerts(tmp_path, *pushes(), *crowd) == []


def test_an_account_quoting_the_other_side_as_it_buys_is_making_a_market_not_marking(
        tmp_path):
    offer = record("order_event", 4000, order_id="Q1", ts_event=at("14:57:00"),
                   account_id="A1", side="SELL", price="10.20", quantity="2000",
                   leaves_quantity="2000")
    assert continuous_alerts(tmp_path, *pushes(), ([offer], [])) == []
