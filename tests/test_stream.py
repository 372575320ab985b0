"""Streaming ingest over a real NATS JetStream server: bad messages are answered on the
feedback subject and never stop the consumer; a consumer killed mid-stream and started
again stores every report exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from builders import BANK, BROKER_A, SUBMITTER, record
from test_api_schema import free_port

from suptech.ops import access
from suptech.ops.db import connect
from suptech.store.database import open_store
from suptech.stream.answers import answer, feedback_bytes
from suptech.stream.consumer import consume
from suptech.stream.messages import Config, Message


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory):
    """The machine's NATS (127.0.0.1:4222), else a throwaway `nats-server -js`."""
    if _open(4222):
        yield "nats://127.0.0.1:4222"
        return
    binary = shutil.which("nats-server")
    if binary is None:
        pytest.skip("no NATS server on 4222 and no nats-server to start")
    port = free_port()
    store = tmp_path_factory.mktemp("nats")
    server = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if _open(port):
            break
        time.sleep(0.1)
    yield f"nats://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def register_bank(data_dir) -> None:
    """BANK, registered as a submitter in the data directory's register."""
    ops = connect(data_dir)
    with ops.begin() as con:
        access.add_user(con, "test", "bank", "submitter", "CN-SH", BANK)
    ops.dispose()


@pytest.fixture
def config(tmp_path, nats_url):
    """A fresh stream (its own subject prefix) and a data directory with one submitter."""
    register_bank(tmp_path)
    cfg = Config(tmp_path, nats_url, prefix=f"t{uuid.uuid4().hex[:10]}")
    yield cfg
    run_apart(_drop(cfg))


def run_apart(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API holds this thread's loop."""
    result = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result[0] if result else None


async def _drop(cfg: Config) -> None:
    import nats
    nc = await nats.connect(cfg.nats_url)
    try:
        await nc.jetstream().delete_stream(cfg.stream)
    except Exception:  # noqa: BLE001 (a test that never made it has nothing to drop)
        pass
    await nc.close()


def jsonl(records: list[dict]) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in records)


def payments(prefix: str, n: int) -> bytes:
    return jsonl([record("payment", i, submitter=BANK, report_id=f"{prefix}-{i}",
                         payment_id=str(uuid.UUID(int=i + 1, version=4))) for i in range(n)])


async def _pending(js, cfg: Config) -> int | None:
    """Messages not yet acknowledged; None before the consumer first subscribed."""
    from nats.js.errors import NotFoundError

    try:
        info = await js.consumer_info(cfg.stream, cfg.durable)
    except NotFoundError:
        return None
    return info.num_pending + info.num_ack_pending


def test_bad_messages_are_answered_and_the_consumer_goes_on(config):
    config.max_message_bytes = 5_000
    p = config.prefix

    async def run() -> list[dict]:
        import nats
        from suptech.stream.consumer import ensure_stream

        nc = await nats.connect(config.nats_url)
        js = nc.jetstream()
        answers: list[dict] = []

        async def heard(m) -> None:
            answers.append({**json.loads(m.data), "to": m.subject})

        await nc.subscribe(f"{p}.feedback.>", cb=heard)
        await ensure_stream(js, config)
        sent = [
            (f"{p}.reports.payment.{BANK}", b'{"report_id": "x", not json\n'),
            (f"{p}.reports.nonsense.{BANK}", payments("N", 1)),
            (f"{p}.reports.payment", payments("S", 1)),
            (f"{p}.reports.payment.{BROKER_A}", payments("U", 1)),
            (f"{p}.reports.payment.{BANK}", payments("O", 40)),  # over 5,000 bytes
            (f"{p}.reports.payment.{BANK}", payments("G", 3)),  # good, after all of them
        ]
        for subject, data in sent:
            await js.publish(subject, data)
        stop = asyncio.Event()
        task = asyncio.create_task(consume(config, stop))
        for _ in range(300):
            if len(answers) >= len(sent):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task
        await nc.close()
        return answers

    answers = asyncio.run(run())
    assert len(answers) == 6
    by_seq = {a["stream_seq"]: a for a in answers}
    bad_json, nonsense, short, unknown, oversized, good = (by_seq[i] for i in range(1, 7))
    assert bad_json["to"] == f"{config.prefix}.feedback.{BANK}"
    assert (bad_json["rows"], bad_json["accepted"], bad_json["rejected"]) == (1, 0, 1)
    assert "not valid JSON" in bad_json["feedback"][0]["message"]
    assert "unknown report type 'nonsense'" in nonsense["error"]
    assert "is not" in short["error"] and "<report_type>.<LEI>" in short["error"]
    assert unknown["to"].endswith(BROKER_A) and "not a registered submitter" in unknown["error"]
    assert "over the limit of 5,000" in oversized["error"]
    assert (good["accepted"], good["rejected"], good["error"]) == (3, 0, None)
    store = open_store(config.data_dir)
    assert sorted(store.query("payment")["report_id"].to_pylist()) == ["G-0", "G-1", "G-2"]
    store.close()


def test_a_killed_consumer_restarted_stores_every_batch_exactly_once(config):
    batches, per = 40, 500

    async def publish() -> None:
        import nats
        from suptech.stream.consumer import ensure_stream

        nc = await nats.connect(config.nats_url)
        js = nc.jetstream()
        await ensure_stream(js, config)
        for b in range(batches):
            await js.publish(f"{config.prefix}.reports.payment.{BANK}", payments(f"B{b:02d}", per))
        await nc.close()

    async def pending() -> int:
        import nats
        nc = await nats.connect(config.nats_url)
        try:
            return await _pending(nc.jetstream(), config)
        finally:
            await nc.close()

    def consumer() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "suptech.cli", "stream", "--data-dir", str(config.data_dir),
             "--nats", config.nats_url, "--prefix", config.prefix, "--ack-wait", "3",
             "--group", "3"],  # small groups, so that a kill can fall between commits
            stdout=subprocess.DEVNULL, stderr=open(config.data_dir / "consumer.log", "ab"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    asyncio.run(publish())
    first = consumer()
    deadline = time.monotonic() + 120
    def left() -> int:
        n = asyncio.run(pending())
        return batches if n is None else n

    while left() > batches * 3 // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-stream: some batches stored, some not yet acked
    first.wait(timeout=30)
    left = asyncio.run(pending())
    assert 0 < left < batches, f"{left} of {batches} left: the kill was not mid-stream"
    second = consumer()
    deadline = time.monotonic() + 180
    while asyncio.run(pending()) != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0
    store = open_store(config.data_dir)
    try:
        ids = store.query("payment")["report_id"].to_pylist()
        versions = store.versions("payment").count().to_pyarrow().as_py()
        logged = store.stream_log(config.stream, list(range(1, batches + 1)))
    finally:
        store.close()
    assert len(ids) == batches * per and len(set(ids)) == batches * per
    assert versions == batches * per  # no report stored twice, even as a second version
    # Each message is in exactly one committed submission: a redelivered one was
    # recognised by its sequence number, not stored again.
    assert sorted(logged["seq"].to_list()) == list(range(1, batches + 1))


def test_messages_redelivered_after_their_commit_are_answered_and_not_stored_again(tmp_path):
    """The window a kill can leave: committed, not yet acknowledged. No NATS needed."""
    from suptech.stream.ingestor import Ingestor

    register_bank(tmp_path)
    cfg = Config(tmp_path, prefix="t")
    subject = f"t.reports.payment.{BANK}"
    bad = jsonl([record("payment", 9, submitter=BANK, report_id="bad", currency="XYZ")])
    messages = [Message(subject, payments("A", 3), 1), Message(subject, bad, 2),
                Message(subject, payments("B", 2), 3)]
    ingestor = Ingestor(cfg)
    try:
        first = [body for _, body in ingestor.handle(messages)]
        again = [body for _, body in ingestor.handle(messages)]
        stored = ingestor.store.query("payment").num_rows
    finally:
        ingestor.close()
    assert [(b["rows"], b["accepted"], b["duplicate"]) for b in first] == \
        [(3, 3, False), (1, 0, False), (2, 2, False)]
    assert len({b["batch_id"] for b in first}) == 1  # one commit for the three
    assert [(f["row"], f["code"]) for f in first[1]["feedback"]] == [(1, "E004")]
    assert [(b["rows"], b["accepted"], b["duplicate"]) for b in again] == \
        [(3, 3, True), (1, 0, True), (2, 2, True)]
    assert again[1]["feedback"] == first[1]["feedback"]
    assert stored == 5


def test_one_senders_bad_message_is_answered_alone_and_the_others_are_stored(tmp_path):
    """A 1,000-deep JSON line fetched with another institution's good batches refuses
    its own line, nothing more. No NATS needed."""
    from suptech.stream.ingestor import Ingestor

    register_bank(tmp_path)
    ops = connect(tmp_path)
    with ops.begin() as con:
        access.add_user(con, "test", "broker", "submitter", "CN-SH", BROKER_A)
    ops.dispose()
    deep = json.dumps(record("payment", 1, submitter=BROKER_A))[:-1] + \
        ', "x": ' + "[" * 1000 + "]" * 1000 + "}\n"
    messages = [Message(f"t.reports.payment.{BROKER_A}", deep.encode(), 1),
                *[Message(f"t.reports.payment.{BANK}", payments(name, 2), seq)
                  for seq, name in enumerate("ABCDE", 2)]]
    ingestor = Ingestor(Config(tmp_path, prefix="t", detect=False))
    try:
        bodies = [body for _, body in ingestor.handle(messages)]
        stored = ingestor.store.query("payment").num_rows
    finally:
        ingestor.close()
    assert [(b["rows"], b["accepted"]) for b in bodies] == [(1, 0)] + [(2, 2)] * 5
    [problem] = bodies[0]["feedback"]
    assert problem["code"] == "E002" and "deeper than 32 levels" in problem["message"]
    assert stored == 10


def one_a_part(tmp_path, first_seq: int):
    """BANK's subject, three messages of its payments numbered from `first_seq`, and a
    consumer (no detectors) that commits each message as a part of its own."""
    from suptech.stream.ingestor import Ingestor

    register_bank(tmp_path)
    subject = f"t.reports.payment.{BANK}"
    messages = [Message(subject, payments(name, 2), seq)
                for seq, name in enumerate("ABC", first_seq)]
    return subject, messages, Ingestor(Config(tmp_path, prefix="t", detect=False,
                                              commit_bytes=len(messages[0].data) + 1))


def test_a_burst_is_committed_in_parts_each_answered_as_if_it_came_alone(tmp_path):
    """A fetch's messages over `commit_bytes` are stored as several submissions, in order,
    and each sender's rows are answered and stored once. No NATS needed."""
    _, messages, ingestor = one_a_part(tmp_path, first_seq=1)
    try:
        bodies = [body for _, body in ingestor.handle(messages)]
        stored = ingestor.store.query("payment").num_rows
    finally:
        ingestor.close()
    assert [(b["rows"], b["accepted"], b["duplicate"]) for b in bodies] == [(2, 2, False)] * 3
    assert len({b["batch_id"] for b in bodies}) == 3  # three commits
    assert stored == 6


def test_a_failed_commit_refuses_the_rest_of_its_fetch_which_is_stored_when_sent_again(
        tmp_path):
    """Parts are committed while the next is validated, which has learnt the part before
    it: when a commit fails, the fetch's later parts are refused too, nothing of them is
    stored, and the same messages sent again are stored whole. No NATS needed."""
    subject, messages, ingestor = one_a_part(tmp_path, first_seq=2)
    try:
        ingestor.handle([Message(subject, payments("Z", 1), 1)])
        folder = ingestor.store.engine.versions_dir("payment")
        shutil.move(folder, tmp_path / "aside")
        folder.write_text("a file where the version files go: the next commit fails")
        refused = [body for _, body in ingestor.handle(messages)]
        folder.unlink()
        shutil.move(tmp_path / "aside", folder)
        stored_then = ingestor.store.query("payment").num_rows
        again = [body for _, body in ingestor.handle(messages)]
        stored = ingestor.store.query("payment").num_rows
    finally:
        ingestor.close()
    assert [(b["batch_id"], b["accepted"]) for b in refused] == [(None, 0)] * 3
    assert all(b["error"].startswith("not stored: the platform failed") for b in refused)
    assert "Error" not in refused[0]["error"] and "incident" in refused[0]["error"]
    assert all("an earlier batch of this fetch" in b["error"] for b in refused[1:])
    assert stored_then == 1
    assert [(b["rows"], b["accepted"], b["duplicate"]) for b in again] == [(2, 2, False)] * 3
    assert stored == 7


def test_an_answer_too_large_for_nats_keeps_its_first_feedback_and_says_where_the_rest_is():
    items = [{"row": i, "report_id": f"P{i}", "field": "amount", "code": "W004",
              "message": "amount is unusually large for this account"} for i in range(1, 20_001)]
    body = answer("suptech.reports.payment.X", 7, "B-1", 1, 20_000, items, duplicate=False)
    data = feedback_bytes(body, 1_000_000)
    assert len(json.dumps(body).encode()) > 1_000_000 >= len(data)
    sent = json.loads(data)
    assert sent["feedback_total"] == 20_000
    assert 0 < len(sent["feedback"]) < 20_000
    assert sent["feedback"] == items[:len(sent["feedback"])]
    assert "/v1/submissions/B-1/feedback" in sent["feedback_truncated"]
    assert sent["warnings"] == 20_000  # the counts are of all rows
    small = answer("suptech.reports.payment.X", 8, "B-2", 1, 3, items[:3], duplicate=False)
    assert json.loads(feedback_bytes(small, 1_000_000)) == small


def test_reports_are_stored_and_answered_after_the_detectors_process_died(tmp_path, caplog):
    """Detection runs beside the consumer; losing it never loses reports."""
    from suptech.stream.ingestor import Ingestor

    ops = connect(tmp_path)
    with ops.begin() as con:
        access.add_user(con, "test", "venue", "submitter", "CN-SH", SUBMITTER)
    ops.dispose()
    reports = f"t.reports.{{}}.{SUBMITTER}"
    reference = [Message(reports.format(t), jsonl([record(t, 1)]), i + 1)
                 for i, t in enumerate(("instrument", "party", "account"))]
    orders = [Message(reports.format("order_event"),
               jsonl([record("order_event", n, order_id=f"O{n}") for n in range(m, m + 5)]),
               10 + m) for m in (1, 6)]
    ingestor = Ingestor(Config(tmp_path, prefix="t"))
    try:
        ingestor.handle(reference)
        [first] = ingestor.handle(orders[:1])
        ingestor.detectors.process.kill()
        ingestor.detectors.process.wait()
        [second] = ingestor.handle(orders[1:])
        assert ingestor.take_alerts(wait=True) is None
        stored = ingestor.store.query("order_event").num_rows
    finally:
        ingestor.close()
    assert [(b["accepted"], b["error"]) for _, b in (first, second)] == [(5, None), (5, None)]
    assert stored == 10
    assert ingestor.detectors.gone
    assert "streaming detectors' process ended" in caplog.text


async def five_messages_and_a_puller(config):
    """A NATS connection, and a puller of the durable consumer of a stream holding five
    messages (m0 to m4)."""
    import nats

    from suptech.stream.consumer import ensure_consumer, ensure_stream
    from suptech.stream.pull import Puller

    nc = await nats.connect(config.nats_url)
    js = nc.jetstream()
    await ensure_stream(js, config)
    for i in range(5):
        await js.publish(f"{config.prefix}.reports.payment.{BANK}", f"m{i}".encode())
    await ensure_consumer(js, config)
    puller = Puller(nc, config.stream, config.durable)
    await puller.start()
    return nc, puller


def test_a_pull_brings_what_is_there_up_to_the_batch_then_nothing_once_all_is_taken(config):
    async def run() -> list[list[bytes]]:
        nc, puller = await five_messages_and_a_puller(config)
        pulls = []
        for _ in range(3):
            msgs = await puller.fetch(3, timeout=0.5)
            for m in msgs:
                await m.ack()
            pulls.append([m.data for m in msgs])
        await nc.close()
        return pulls

    assert run_apart(run()) == [[b"m0", b"m1", b"m2"], [b"m3", b"m4"], []]


def test_messages_that_come_for_a_pull_given_up_on_are_taken_by_the_next(config):
    """JetStream may answer a request after the client stopped waiting for it: what it
    delivers then is the consumer's all the same, and is not left to be redelivered."""
    async def run() -> list[bytes]:
        nc, puller = await five_messages_and_a_puller(config)
        # A request of the puller's that it no longer waits for, answered with 2 messages
        # and its end.
        await nc.publish(puller.next_subject, b'{"batch": 2, "no_wait": true}',
                         reply=f"{puller.inbox}.earlier")
        await nc.flush()
        await asyncio.sleep(0.3)
        msgs = await puller.fetch(5, timeout=0.5)
        for m in msgs:
            await m.ack()
        await nc.close()
        return [m.data for m in msgs]

    assert run_apart(run()) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
