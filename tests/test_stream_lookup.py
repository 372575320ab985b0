"""The streaming consumer remembers what validation asks the database; these specify that
what it remembers never changes a verdict: a taken report id, a cancelled order and a
report another process stored are judged as the file pipeline judges them."""

from __future__ import annotations

import json

import pytest

from builders import BROKER_A, SUBMITTER, record, reference_data

from suptech.ingest.pipeline import ingest_file, ingest_files
from suptech.ops import access
from suptech.ops.db import connect
from suptech.store.database import open_store
from suptech.stream.ingestor import Ingestor
from suptech.stream.messages import Config, Message


def jsonl(*records: dict) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in records)


def consumer(tmp_path) -> Ingestor:
    data = tmp_path / "data"
    store = open_store(data)
    ingest_files(store, reference_data(tmp_path))
    store.close()
    ops = connect(data)
    with ops.begin() as con:
        access.add_user(con, "test", "venue", "submitter", "CN-SH", SUBMITTER)
    ops.dispose()
    return Ingestor(Config(data, prefix="t", detect=False))


class Stream:
    """Messages to one consumer, numbered as JetStream would."""

    def __init__(self, ingestor: Ingestor):
        self.ingestor, self.seq = ingestor, 0

    def send(self, report_type: str, *records: dict) -> list[tuple[int, str]]:
        self.seq += 1
        [(_, body)] = self.ingestor.handle(
            [Message(f"t.reports.{report_type}.{SUBMITTER}", jsonl(*records), self.seq)])
        assert body["error"] is None, body["error"]
        return [(f["row"], f["code"]) for f in body["feedback"] if f["code"].startswith("E")]


def test_a_report_id_taken_in_an_earlier_message_is_refused(tmp_path):
    ingestor = consumer(tmp_path)
    stream = Stream(ingestor)
    try:
        assert stream.send("order_event", record("order_event", 1)) == []
        # The same id again, as a new report: taken (E007), whatever is remembered.
        assert stream.send("order_event", record("order_event", 1, order_id="O2")) == [(1, "E007")]
        assert stream.send("order_event", record("order_event", 2, order_id="O2")) == []
    finally:
        ingestor.close()


def test_a_trade_naming_a_cancelled_order_is_refused_after_the_order_was_remembered(tmp_path):
    ingestor = consumer(tmp_path)
    stream = Stream(ingestor)
    orders = [record("order_event", 1), record("order_event", 2, order_id="O2",
                                                 account_id="A2", member_lei=BROKER_A,
                                                 side="SELL")]
    try:
        assert stream.send("order_event", *orders) == []
        assert stream.send("trade", record("trade", 1)) == []  # both orders remembered
        assert stream.send("order_event", {**record("order_event", 2), "action": "CANC"}) == []
        assert stream.send("trade", record("trade", 2)) == [(1, "E009")]  # O2 is gone
    finally:
        ingestor.close()


def test_what_another_process_stored_or_cancelled_is_seen(tmp_path):
    ingestor = consumer(tmp_path)
    stream = Stream(ingestor)
    sell = dict(order_id="O2", account_id="A2", side="SELL")
    try:
        assert stream.send("order_event", record("order_event", 1),
                           record("order_event", 2, **sell)) == []
        # Meanwhile a file (or the API) cancels one of those orders and adds another.
        path = tmp_path / "order_event.jsonl"
        path.write_bytes(jsonl({**record("order_event", 2, **sell), "action": "CANC"},
                               record("order_event", 3, order_id="O3")))
        assert ingest_file(ingestor.store, path).summary.accepted == 2
        assert stream.send("trade", record("trade", 1)) == [(1, "E009")]  # O2 is gone
        # The report id the file took is taken for the stream too.
        assert stream.send("order_event", record("order_event", 3, order_id="O9")) == [(1, "E007")]
    finally:
        ingestor.close()


def test_a_register_loaded_from_a_file_is_read_once_and_what_others_add_is_seen(tmp_path):
    """Accounts a file loaded are read whole at the stream's first batch, not asked batch
    by batch: an account not among them is refused from memory, and one another process
    adds later is found."""
    ingestor = consumer(tmp_path)
    stream = Stream(ingestor)
    asked: list[list[str]] = []  # the accounts asked of the database, value by value
    existing = ingestor.store.existing
    ingestor.store.existing = lambda t, f, v: (
        t == "account" and asked.append(sorted(v.to_list()))) or existing(t, f, v)
    try:
        assert stream.send("order_event", record("order_event", 1)) == []
        assert stream.send("order_event", record("order_event", 2, order_id="O2",
                                                 account_id="A9")) == [(1, "E009")]
        assert asked == []
        path = tmp_path / "account.jsonl"
        path.write_bytes(jsonl(record("account", 9, account_id="A9")))
        assert ingest_file(ingestor.store, path).summary.accepted == 1
        assert stream.send("order_event", record("order_event", 3, order_id="O3",
                                                 account_id="A9")) == []
    finally:
        ingestor.close()


def test_past_its_limit_the_cache_keeps_the_latest_values_and_asks_for_the_older(tmp_path):
    """A day's orders outgrow any cache: the trades name the orders just committed,
    which must be answered from memory; older ones are asked of the database, found."""
    from suptech.stream.lookup import CachedLookup

    ingestor = consumer(tmp_path)
    stream = Stream(ingestor)
    lookup = CachedLookup(ingestor.store, limit=4)
    ingestor.lookup = lookup
    asked: list[list[str]] = []  # the orders asked of the database
    existing = ingestor.store.existing
    ingestor.store.existing = lambda t, f, v: (
        t == "order_event" and asked.append(sorted(v.to_list()))) or existing(t, f, v)
    try:
        for n in range(1, 6):  # five orders, one message each: past the limit of 4
            assert stream.send("order_event", record("order_event", n, order_id=f"O{n}")) == []
        asked.clear()
        trade = record("trade", 1, buy_order_id="O5", sell_order_id="O4")
        assert stream.send("trade", trade) == []
        assert asked == []  # the latest orders, on either side of the limit: from memory
        trade = record("trade", 2, buy_order_id="O1", sell_order_id="O5")
        assert stream.send("trade", trade) == []
        assert asked == [["O1"]]  # an older one: asked, and found
    finally:
        ingestor.close()


def test_the_hash_set_answers_as_a_set_of_the_values_added_however_it_grew():
    """Batches with repeats, past the room it was made with (so it grows and rehashes):
    each value added is found, and none that was not."""
    import random

    import polars as pl

    from suptech.stream.hashset import HashSet

    rng = random.Random(7)
    held, added = HashSet(16), set()
    for _ in range(12):
        batch = [f"ORD{rng.randrange(200_000)}" for _ in range(rng.randrange(1, 5_000))]
        held.add(pl.Series(batch + batch[:50]))  # a batch names some values twice
        added.update(batch)
        asked = [f"ORD{rng.randrange(200_000)}" for _ in range(3_000)] + batch[:20]
        assert held.contains(pl.Series(asked)).tolist() == [v in added for v in asked]
    assert len(held) == len(added)
    assert not HashSet().contains(pl.Series(["ORD1"])).any()


@pytest.mark.parametrize("background", [None, 4_000])
def test_report_key_hashes_are_found_exactly_whether_or_not_their_bit_is_shared(background):
    """The bit per hash prefix only spares searches: the answer is the runs' own, before,
    during and after merges made by the merging thread (`background`: merges into runs
    of this many hashes go to it)."""
    import numpy as np

    from suptech.stream.lookup import KeyHashes

    rng = np.random.default_rng(7)
    batches = [rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
               for n in (5_000, 300, 20_000, 1, *[700] * 30)]
    held = KeyHashes(batches[0])
    if background:
        held.BACKGROUND = background
    added = set(batches[0].tolist())
    for batch in batches[1:]:
        held.add(batch)
        added.update(batch.tolist())
        # Strangers sharing an added hash's prefix (and so its bit), and others.
        asked = np.concatenate([batch ^ np.uint64(1), batch[:50], batches[2][:100],
                                rng.integers(0, 2**64 - 1, 1_000, dtype=np.uint64)])
        assert held.may_hold(asked).tolist() == [h in added for h in asked.tolist()]
    if held.merging is not None:
        held.merging[2].result()
    held.may_hold(batches[0][:1])  # the last merge takes its runs' place
    assert held.merging is None
    assert sum(map(len, held.runs)) == sum(map(len, batches))
