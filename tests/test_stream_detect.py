"""Streaming detection, specified against the batch scan: a simulated trading day replayed
through a real NATS JetStream server raises, while it streams, alerts that the batch scan
of the same data also raises (none of its own) and at least 90 % of the batch alerts for
the typologies that must be caught while they happen."""

from __future__ import annotations

import asyncio
import json

import polars as pl
from test_stream import _pending, config, nats_url  # noqa: F401  (fixtures)

from suptech.detect.base import REGISTRY, SECOND
from suptech.model.calendar import DEFAULT
from suptech.detect.run import run
from suptech.ops import access
from suptech.ops.db import connect
from suptech.simulate.market_run import simulate_market
from suptech.store.database import open_store
from suptech.stream.consumer import consume
from suptech.stream.monitor import REGISTRY as STREAMING
from suptech.stream.monitor.ladder import Ladder
from suptech.stream.replay import load, replay

TYPOLOGIES = {"SPOOFING", "LAYERING", "WASH_TRADE", "MARKING_THE_CLOSE", "RAMPING"}


def cases(alerts: pl.DataFrame) -> set[tuple]:
    """What an alert is about: typology, accounts, instrument, local day."""
    day = DEFAULT.local_day(alerts["window_start"])
    accounts = [frozenset(a.split(";")) for a in alerts["account_ids"]]
    return set(zip(alerts["typology"], accounts, alerts["isin"], day))


def confirms(batch: tuple, streamed: tuple) -> bool:
    """The same case: a streaming alert names the accounts known when it was raised
    (a wash-trade ring's later trades may add one), the batch alert all of the day's."""
    return (batch[0], batch[2], batch[3]) == (streamed[0], streamed[2], streamed[3]) \
        and streamed[1] <= batch[1]


def test_streaming_detectors_cover_the_typologies_caught_in_real_time():
    assert {REGISTRY.get(d).typology for d in STREAMING} == TYPOLOGIES


def test_a_replayed_day_raises_alerts_the_batch_scan_confirms(config, tmp_path):
    sim = tmp_path / "sim"
    simulate_market(sim, seed=61, days=2, instruments=6, cases_per_typology=2)
    senders = set()
    for frame in load(sim).values():
        senders |= set(frame["submitter"].unique().to_list())
    ops = connect(config.data_dir)
    with ops.begin() as con:
        for i, lei in enumerate(sorted(senders)):
            access.add_user(con, "test", f"venue{i}", "submitter", "CN-SH", lei)
    ops.dispose()
    heard: dict[str, list[dict]] = {}

    async def main() -> None:
        import nats

        nc = await nats.connect(config.nats_url)

        async def alert(m) -> None:
            heard.setdefault(m.subject, []).append(json.loads(m.data))

        await nc.subscribe(f"{config.prefix}.alerts.>", cb=alert)
        stop = asyncio.Event()
        config.lateness = 60  # a slice's reports arrive in any order within it
        config.batch = 64  # small fetches: a slice's orders and trades in many of them
        task = asyncio.create_task(consume(config, stop))
        # A minute of trading per message of each member: a day in some 3,000 messages.
        await replay(sim, config, slice_ms=60_000)
        for _ in range(1200):
            if await _pending(nc.jetstream(), config) == 0:
                break
            await asyncio.sleep(0.1)
        stop.set()
        counters = await task
        await nc.flush()
        await asyncio.sleep(0.5)  # the last alerts' delivery to our subscription
        await nc.close()
        assert counters.refused == 0

    asyncio.run(main())
    store = open_store(config.data_dir)
    try:
        stored = store.alerts()
        batch = run(store, [REGISTRY.get(d)() for d in STREAMING])
    finally:
        store.close()
    published = pl.DataFrame([a for alerts in heard.values() for a in alerts])
    streamed, confirmed = cases(stored), cases(batch)
    assert {a["typology"] for a in published.to_dicts()} <= TYPOLOGIES
    # Every streaming alert is stored and published on its accounts' regions' subjects.
    assert cases(published) == streamed
    regions = {s.rsplit(".", 1)[1] for s in heard}
    assert regions and regions <= {"CN-SH", "CN-JS", "CN-ZJ", "CN-AH", "unassigned"}
    for subject, alerts in heard.items():
        assert all(subject.rsplit(".", 1)[1] in (a["regions"] or ["unassigned"]) for a in alerts)
    unconfirmed = [s for s in streamed if not any(confirms(b, s) for b in confirmed)]
    assert not unconfirmed, f"not confirmed by the batch scan: {unconfirmed}"
    found = [b for b in confirmed if any(confirms(b, s) for s in streamed)]
    assert len(found) >= 0.9 * len(confirmed), \
        f"{len(found)} of {len(confirmed)} batch alerts: missed {set(confirmed) - set(found)}"
    # Each typology was injected, so each is found while streaming.
    assert {c[0] for c in streamed} == TYPOLOGIES


def test_the_ladder_forgets_what_no_later_report_can_pair_with():
    """Ten minutes of large orders, each cancelled a second later just after its account
    sold into the market: every episode is found, and what the ladder holds at the end
    is the last few seconds of orders (its horizon), not the day's."""
    ladder = Ladder(max_life_s=1, lateness=SECOND // 10)
    found = set()
    for k in range(1, 600):
        at = k * SECOND
        account = f"A{(k - 1) % 5}"  # the account of the order placed a second ago
        orders = pl.DataFrame({
            "order_id": [f"O{k}", f"O{k - 1}"], "event_type": ["NEW", "CANCEL"],
            "account_id": [f"A{k % 5}", account], "isin": "XS0000000001", "side": "BUY",
            "order_type": "LIMIT", "time_in_force": "DAY", "price": [10.0 + k % 3, None],
            "lots": [50.0, None], "ts_event": at, "day": 0})
        trade = pl.DataFrame({"trade_id": [f"T{k}"], "ts_event": [at - SECOND // 2],
                              "isin": "XS0000000001", "aggressor_side": "SELL",
                              "buy_account_id": "MM", "sell_account_id": account})
        ladder.feed_orders(orders, k)
        ladder.feed_trades(trade, k)
        found |= {(v.order.order_id, v.order.trades[0][0]) for v in ladder.verdicts(k) if v.final}
    assert found == {(f"O{k - 1}", f"T{k}") for k in range(2, 600)}  # O0 was never placed
    horizon = 2 * (1 + 0.1 + 2)  # seconds: 2 x (life + lateness + peer window)
    assert 0 < len(ladder.orders) <= horizon + 1
    assert len(ladder.arrived) == sum(ladder.holders.values()) == len(ladder.orders) \
        == sum(len(o) for o in ladder.by_side.values())
    assert sum(len(q) for q in ladder.quick.values()) <= horizon + 1
    assert sum(len(t) for t in ladder.taken.values()) <= horizon + 1
