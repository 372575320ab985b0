"""Streaming detection end to end: a simulated trading day replayed through a real NATS
JetStream server raises, while it streams, exactly the alerts the batch scan of the
same data raises (tests/test_window.py specifies the same without NATS), stored and
published on the regions of their accounts."""

from __future__ import annotations

import asyncio
import json

import polars as pl
from test_stream import _pending, config, nats_url  # noqa: F401  (fixtures)

from suptech.detect.run import run
from suptech.detect.window import incremental
from suptech.ops import access
from suptech.ops.db import connect
from suptech.simulate.market_run import simulate_market
from suptech.store.database import open_store
from suptech.stream.consumer import consume
from suptech.stream.replay import load, replay

SAME = ["alert_id", "typology", "account_ids", "isin", "window_start", "window_end", "score",
        "evidence"]


def test_a_replayed_day_streams_exactly_the_alerts_of_the_batch_scan(config, tmp_path):
    sim = tmp_path / "sim"
    simulate_market(sim, seed=62, days=1, instruments=6, scale="tiny")
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
        # A slice's reports arrive in any order within it, and a fetch commits its orders
        # before its trades: a trade may come after the orders of the next slice.
        config.lateness = 240
        config.batch = 64  # small fetches: a slice's orders and trades in many of them
        task = asyncio.create_task(consume(config, stop))
        # Two minutes of trading per message of each member: a day in some 1,500 messages.
        await replay(sim, config, slice_ms=120_000)
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
        batch = run(store, incremental())
    finally:
        store.close()
    published = pl.DataFrame([a for alerts in heard.values() for a in alerts])
    # What was stored is what the scan finds, alert for alert (the fullest version of
    # each: a case is stored again as it grows).
    only_stream = stored.select(SAME).join(batch.select(SAME), on=SAME, how="anti")
    only_batch = batch.select(SAME).join(stored.select(SAME), on=SAME, how="anti")
    assert only_stream.is_empty() and only_batch.is_empty(), \
        f"streamed only:\n{only_stream.to_dicts()}\nscanned only:\n{only_batch.to_dicts()}"
    assert set(stored["typology"]) == {d.typology for d in incremental()}
    # Every version stored was published, on its accounts' regions' subjects.
    assert set(published["alert_id"]) == set(stored["alert_id"])
    regions = {s.rsplit(".", 1)[1] for s in heard}
    assert regions and regions <= {"CN-SH", "CN-JS", "CN-ZJ", "CN-AH", "unassigned"}
    for subject, alerts in heard.items():
        assert all(subject.rsplit(".", 1)[1] in (a["regions"] or ["unassigned"]) for a in alerts)


def test_a_consumer_started_on_a_stored_day_carries_on_from_it(tmp_path):
    """The detectors' window is memory; a consumer started again feeds it the store's
    recent reports before its first batch. Started on a store holding a whole day, and
    drained, it raises the scan's alerts of that day, and stores them once."""
    from suptech.ingest.pipeline import ingest_files
    from suptech.stream.ingestor import Ingestor
    from suptech.stream.messages import Config

    sim = tmp_path / "sim"
    simulate_market(sim, seed=63, days=1, instruments=3, scale="tiny")
    store = open_store(tmp_path)
    try:
        ingest_files(store, sorted(sim.glob("*.parquet")))
        batch = run(store, incremental())
    finally:
        store.close()

    def started():
        """A consumer started, idle: the register, the stored reports, then drained."""
        ingestor = Ingestor(Config(tmp_path, prefix="t"))
        try:
            ingestor.idle()
            return ingestor.take_alerts(wait=True), ingestor.store.alerts()
        finally:
            ingestor.close()

    raised, stored = started()
    again, _ = started()
    assert raised is not None and again is None
    assert stored.select(SAME).sort("alert_id").equals(batch.select(SAME).sort("alert_id"))


def test_each_batch_is_answered_once_in_order_and_a_bad_one_does_not_stop_the_rest():
    """The detectors' process answers every batch, in the order sent, once the window has
    advanced over it; a batch it cannot take is answered with the error, and the batches
    after it are still taken."""
    import threading
    from multiprocessing import Pipe

    from suptech.detect.window import EVENTS
    from suptech.stream.detectors import serve

    mine, child = Pipe()
    worker = threading.Thread(target=serve, args=(child, 5_000_000_000, "STREAM-test"),
                              daemon=True)
    worker.start()
    good = pl.DataFrame({c: [] for c in EVENTS["trade"]}, schema={
        c: pl.Int64 if c in ("ts_event", "quantity") else pl.String for c in EVENTS["trade"]})
    mine.send(("rows", "trade", pl.DataFrame({"nonsense": [1]})))
    mine.send(("rows", "trade", good))
    mine.send(("drained",))
    answers = [mine.recv() for _ in range(3) if mine.poll(20)]  # a silent child fails
    assert len(answers) == 3, answers
    mine.send(("stop",))
    worker.join(timeout=30)
    assert answers[0][0] == "error" and 'unable to find column "trade_id"' in answers[0][1]
    assert [a[0] for a in answers[1:]] in (["alerts", "alerts"], ["covered", "alerts"])
    assert not worker.is_alive()
