"""Front running, as the rule defines it: a member's proprietary account takes liquidity
ahead of its own client's large order on the same side, holds while the client's order
is worked, and unwinds after it. A proprietary account that trades both ways while the
client buys (a market maker's inventory) is no front runner, nor is one ahead of a
client of another member or of a client order of the usual size."""

from __future__ import annotations

import pytest
from builders import (
    BROKER_A, BROKER_B, ISIN_A, detector_alerts, record, taking, usual_orders)

_n = iter(range(1, 10_000))
PROP = record("account", 9, account_id="A9", account_type="PROPRIETARY")
OTHER_PROP = record("account", 8, account_id="A8", account_type="PROPRIETARY",
                    member_lei=BROKER_B)


def at(minute: int, second: int = 0) -> str:
    return f"2026-03-02T10:{minute:02d}:{second:02d}+08:00"


def take(minute: int, account: str, side: str, lots: int, second: int = 0):
    """An order of `account` (the other member's, for A8) taking `lots` from A2."""
    return taking(next(_n), at(minute, second), account, side, lots,
                  member_lei=BROKER_B if account == "A8" else BROKER_A)


def alerts(tmp_path, *parts) -> list[dict]:
    events = usual_orders() + [e for es, _ in parts for e in es]
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


def test_the_alerts_evidence_shows_the_client_order_it_ran_ahead_of(tmp_path):
    """The analyst sees the client's orders beside the proprietary account's, each said
    whose, and on the book chart the client's hollow, each marker as large as its order."""
    from suptech.detect.evidence import evidence
    from suptech.server.charts import book_replay
    from suptech.store.database import open_store

    [alert] = alerts(tmp_path, take(0, "A9", "BUY", 5), *client_buys(),
                     take(10, "A9", "SELL", 5))
    store = open_store(tmp_path / "db")
    try:
        ev = evidence(store, alert)
    finally:
        store.close()
    whose = dict(ev.orders.select("account_id", "whose").unique().iter_rows())
    assert whose == {"A9": "suspect", "A1": "named"}
    figure = book_replay(ev, alert).to_dict()
    client = [t for t in figure["data"] if t["name"] == "named in the alert: buy orders"]
    assert client and client[0]["marker"]["symbol"] == "triangle-up-open"
    suspect = next(t for t in figure["data"] if t["name"] == "suspect's buy orders")
    # 20 lots against the proprietary account's 5: a marker twice as wide.
    assert max(client[0]["marker"]["size"]) > max(suspect["marker"]["size"])
    # Beneath the prices, everyone's volume a minute: here the test day's trades.
    [volume] = [t for t in figure["data"] if t["name"] == "volume a minute (all)"]
    assert sum(volume["y"]) == ev.volume["quantity"].sum() > 0
