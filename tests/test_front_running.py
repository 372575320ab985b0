"""Front running, as the rule defines it: a member's proprietary account takes liquidity
ahead of its own client's large order on the same side, holds while the client's order
is worked, and unwinds after it. A proprietary account that trades both ways while the
client buys (a market maker's inventory) is no front runner, nor is one ahead of a
client of another member or of a client order of the usual size."""

from __future__ import annotations

import pytest
from builders import BROKER_A, BROKER_B, ISIN_A, detector_alerts, record

_n = iter(range(1, 10_000))
PROP = record("account", 9, account_id="A9", account_type="PROPRIETARY")
OTHER_PROP = record("account", 8, account_id="A8", account_type="PROPRIETARY",
                    member_lei=BROKER_B)


def at(minute: int, second: int = 0) -> str:
    return f"2026-03-02T10:{minute:02d}:{second:02d}+08:00"


def take(minute: int, account: str, side: str, lots: int, second: int = 0):
    """An order of `account` taking `lots` from a resting order of A2 (another member's
    client): both orders' events and the trade."""
    n = next(_n)
    ts, qty, other = at(minute, second), str(lots * 100), "SELL" if side == "BUY" else "BUY"
    resting = record("order_event", 2 * n, order_id=f"R{n}", ts_event=at(minute), side=other,
                     account_id="A2", member_lei=BROKER_B, quantity=qty, leaves_quantity=qty)
    mine = record("order_event", 2 * n + 1, order_id=f"T{n}", ts_event=ts, side=side,
                  account_id=account, quantity=qty, leaves_quantity=qty, time_in_force="IOC",
                  member_lei=BROKER_B if account == "A8" else BROKER_A)
    buy, sell = (mine, resting) if side == "BUY" else (resting, mine)
    trade = record("trade", n, trade_id=f"X{n}", ts_event=ts, quantity=qty,
                   buy_account_id=buy["account_id"], sell_account_id=sell["account_id"],
                   buy_order_id=buy["order_id"], sell_order_id=sell["order_id"],
                   aggressor_side=side)
    return [resting, mine], [trade]


def usual() -> list[dict]:
    """The market's ordinary resting orders: 2 lots a minute from 09:30, never traded."""
    return [record("order_event", 5000 + k, order_id=f"U{k}",
                   ts_event=f"2026-03-02T{9 + (30 + k) // 60:02d}:{(30 + k) % 60:02d}:30+08:00",
                   side="BUY", account_id="A2", member_lei=BROKER_B, price="9.90",
                   quantity="200", leaves_quantity="200") for k in range(40)]


def alerts(tmp_path, *parts) -> list[dict]:
    events = usual() + [e for es, _ in parts for e in es]
    trades = [t for _, ts in parts for t in ts]
    return detector_alerts(tmp_path, "front_running", events, trades,
                           accounts=[PROP, OTHER_PROP])


def client_buys(lots: int = 20) -> list:
    """The member's client A1 works a large buy order: three orders a minute apart."""
    return [take(m, "A1", "BUY", lots) for m in (1, 2, 3)]


def test_buying_ahead_of_the_own_clients_large_order_and_selling_after_is_front_running(
        tmp_path):
    found = alerts(tmp_path, take(0, "A9", "BUY", 5), *client_buys(),
                   take(10, "A9", "SELL", 5))
    assert [(a["account_ids"], a["isin"]) for a in found] == [("A9", ISIN_A)]


@pytest.mark.parametrize("parts", [
    # trades both ways while the client buys: a market maker's inventory, not a position
    [take(0, "A9", "BUY", 5), take(1, "A9", "SELL", 5, second=30), *client_buys(),
     take(10, "A9", "SELL", 5)],
    # the client's orders are of the market's usual size
    [take(0, "A9", "BUY", 5), *client_buys(lots=2), take(10, "A9", "SELL", 5)],
    # the proprietary account is another member's: it cannot know the client's order
    [take(0, "A8", "BUY", 5), *client_buys(), take(10, "A8", "SELL", 5)],
], ids=["both ways while the client buys", "a usual client order", "another member"])
def test_not_front_running(tmp_path, parts):
    assert alerts(tmp_path, *parts) == []
