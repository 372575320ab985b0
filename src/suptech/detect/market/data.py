"""The report database as market detectors see it: a few derived tables, built once.

Every table here is an Ibis expression over the store's current view, restricted to the
scanned days, so each engine evaluates it where the data lives. Times are int64
nanoseconds UTC; `day` is the local (UTC+8) trading day as a number of days since the
epoch, which keeps day arithmetic integer on every engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import SECOND, SharedTables

LOCAL_OFFSET = 8 * 3600 * SECOND  # China Standard Time
DAY = 86_400 * SECOND
CLOSE_CALL_START = (14 * 3600 + 57 * 60) * SECOND  # since local midnight
CONTINUOUS_END = CLOSE_CALL_START


def local_day(ts: ir.IntegerValue) -> ir.IntegerValue:
    return ((ts + LOCAL_OFFSET) // DAY).cast("int64")


def time_of_day(ts: ir.IntegerValue) -> ir.IntegerValue:
    return (ts + LOCAL_OFFSET) % DAY


LUNCH_START = (11 * 3600 + 30 * 60) * SECOND
LUNCH = 90 * 60 * SECOND


def trading_time(ts: ir.IntegerValue) -> ir.IntegerValue:
    """A clock that stops over the lunch break (11:30-13:00), for windows in trading time:
    an order at 11:29 and one at 13:01 are two minutes apart for a trader."""
    tod = time_of_day(ts)
    return ts - ibis.ifelse(tod >= LUNCH_START + LUNCH, LUNCH,
                            ibis.ifelse(tod >= LUNCH_START, tod - LUNCH_START, 0))


@dataclass
class MarketData(SharedTables):
    """Tables several detectors read; `shared` computes a derived one once per scan."""

    orders: ir.Table  # one row per order: its NEW event, with lot size
    events: ir.Table  # every order event
    trades: ir.Table
    executions: ir.Table  # one row per trade and side: account, side, aggressive or not
    accounts: ir.Table  # account_id, owner, group_key, member_lei, account_type
    parties: ir.Table  # party_id, group_key
    instruments: ir.Table
    announcements: ir.Table
    insiders: ir.Table
    cancels: ir.Table  # order_id, ts_cancel: orders withdrawn


def market_data(store, start_ns: int | None = None, end_ns: int | None = None) -> MarketData:
    def within(t: ir.Table) -> ir.Table:
        if start_ns is not None:
            t = t.filter(t.ts_event >= start_ns)
        if end_ns is not None:
            t = t.filter(t.ts_event < end_ns)
        return t

    inst = store.view("instrument").select("isin", "asset_class", "lot_size",
                                           "underlying_isin", "mic")
    events = within(store.view("order_event")).select(
        "report_id", "ts_event", "order_id", "event_type", "isin", "account_id",
        "member_lei", "side", "order_type", "price", "quantity", "leaves_quantity",
        "time_in_force")
    events = events.mutate(day=local_day(events.ts_event), tt=trading_time(events.ts_event))
    new = events.filter(events.event_type == "NEW")
    orders = new.join(inst.select("isin", "lot_size"), "isin").mutate(
        lots=lambda t: t.quantity / t.lot_size)
    trades = within(store.view("trade")).select(
        "trade_id", "ts_event", "isin", "price", "quantity", "buy_account_id",
        "sell_account_id", "buy_order_id", "sell_order_id", "aggressor_side")
    trades = trades.mutate(day=local_day(trades.ts_event), tt=trading_time(trades.ts_event))
    buys = trades.select(
        "trade_id", "ts_event", "tt", "day", "isin", "price", "quantity",
        account_id=trades.buy_account_id, order_id=trades.buy_order_id,
        other_account_id=trades.sell_account_id, side=ibis.literal("BUY"),
        aggressive=trades.aggressor_side == "BUY")
    sells = trades.select(
        "trade_id", "ts_event", "tt", "day", "isin", "price", "quantity",
        account_id=trades.sell_account_id, order_id=trades.sell_order_id,
        other_account_id=trades.buy_account_id, side=ibis.literal("SELL"),
        aggressive=trades.aggressor_side == "SELL")
    executions = buys.union(sells).join(inst.select("isin", "lot_size"), "isin")
    party = store.view("party")
    # Parties are related when they share a household or control group; a party without
    # one is related only to itself. Accounts are related through their owners.
    parties = party.select("party_id", group_key=ibis.coalesce(
        party.group_id.concat(ibis.literal("#group")),
        party.party_id.concat(ibis.literal("#party"))))
    acct = store.view("account")
    accounts = acct.join(parties, acct.owner_party_id == parties.party_id, how="left").select(
        acct.account_id, owner=acct.owner_party_id, member_lei=acct.member_lei,
        account_type=acct.account_type,
        group_key=ibis.coalesce(parties.group_key,
                                acct.owner_party_id.concat(ibis.literal("#party"))))
    ann = store.view("announcement").select("announcement_id", "isin", "ts_event",
                                            "price_sensitive", "category")
    ins = store.view("insider").select("isin", "party_id", "valid_from", "valid_to")
    cancels = events.filter(events.event_type == "CANCEL").select(
        "order_id", ts_cancel=events.ts_event)
    m = MarketData(orders, events, trades, executions, accounts, parties, inst, ann, ins,
                   cancels)
    # The big tables every detector starts from, computed once for the scan.
    m.orders = m.shared(("orders",), lambda: orders)
    m.executions = m.shared(("executions",), lambda: executions)
    m.cancels = m.shared(("cancels",), lambda: cancels)
    return m
