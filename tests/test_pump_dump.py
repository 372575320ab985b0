"""Pump and dump, as the rule defines it: several accounts buy a share (part of it
taking liquidity, much for the share's market), then sell it dearer, and the selling is
concerted: they start within half an hour of one another, while the rise lasts. Two
households that each buy and sell their favourite share at a profit, hours apart, are
not a pump."""

from __future__ import annotations

import pytest
from builders import ISIN_A, detector_alerts, record, taking, usual_orders

_n = iter(range(1, 10_000))
#: The pumpers' accounts, of two unrelated owners.
GROUP = [record("account", 3, account_id="A3", owner_party_id="P1"),
         record("account", 4, account_id="A4", owner_party_id="P2")]


def take(hh: int, mm: int, account: str, side: str, price: str, lots: int = 10):
    return taking(next(_n), f"2026-03-02T{hh:02d}:{mm:02d}:00+08:00", account, side, lots,
                  price)


def pumper(account: str, sell_at: tuple[int, int]):
    """Three buys of 10 lots from 10:00 at 10.00-10.20, then a sale at 10.60."""
    buys = [take(10, 5 * k, account, "BUY", f"10.{2 * k}0") for k in range(3)]
    return buys + [take(*sell_at, account, "SELL", "10.60", lots=30)]


def alerts(tmp_path, *parts) -> list[dict]:
    events = usual_orders() + [e for es, _ in parts for e in es]
    trades = [t for _, ts in parts for t in ts]
    return detector_alerts(tmp_path, "pump_and_dump", events, trades, accounts=GROUP)


def test_accounts_that_buy_then_sell_together_dearer_are_a_pump(tmp_path):
    found = alerts(tmp_path, *pumper("A3", (11, 0)), *pumper("A4", (11, 10)))
    assert [(a["account_ids"], a["isin"]) for a in found] == [("A3;A4", ISIN_A)]


@pytest.mark.parametrize("parts", [
    pumper("A3", (11, 0)) + pumper("A4", (14, 0)),  # each sells when it will
    pumper("A3", (11, 0)),  # one account alone
], ids=["hours apart", "one account"])
def test_not_a_pump(tmp_path, parts):
    assert alerts(tmp_path, *parts) == []
