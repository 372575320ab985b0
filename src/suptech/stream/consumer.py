"""`suptech stream`: the durable JetStream consumer that ingests report batches.

This module fetches and acknowledges; `suptech.stream.ingestor` validates and commits,
`suptech.stream.answers` says what became of each message. A message is acknowledged
only once its batch is committed and answered: a consumer killed at any point has it
redelivered, and the stream log recognises it (exactly-once storage).

A message that cannot be taken (a subject not of the form
`<prefix>.reports.<type>.<LEI>`, an unknown report type, a sender not registered as a
submitter, a batch over the size limit, bytes that are neither JSON Lines nor Arrow
IPC) is answered on the feedback subject with the reason, acknowledged, and never stops
the consumer.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from suptech.stream.answers import feedback_bytes, publish_alerts
from suptech.stream.ingestor import Ingestor
from suptech.stream.messages import Config, Message

log = logging.getLogger(__name__)


@dataclass
class Counters:
    messages: int = 0
    ingested: int = 0
    duplicates: int = 0
    refused: int = 0
    reports: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.monotonic)


async def relay_alerts(nc, prefix: str, ingestor: Ingestor, counters: Counters,
                       finished: asyncio.Event) -> None:
    """Alerts stored and published as soon as the detectors have them, in a thread of
    their own: not after the next batch is committed. Once `finished`, those of every
    batch submitted."""
    if ingestor.detectors is None:
        await finished.wait()
        return
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="suptech-alerts") as thread:
        while True:
            last = finished.is_set()
            if ingestor.detectors.gone and not last:
                await finished.wait()
                continue
            try:
                # Waits in the thread for the detectors' next answer (or 0.5 s).
                alerts = await loop.run_in_executor(thread, ingestor.take_alerts, last, 0.5)
                if alerts is not None:
                    await publish_alerts(nc, prefix, alerts)
                    counters.alerts += alerts.height
            # The reports are stored whatever happens here, and the batch scan finds
            # the cases again: say it, go on.
            except Exception:  # noqa: BLE001
                log.exception("streaming alerts could not be stored or published")
            if last:
                return


async def ensure_stream(js, config: Config) -> None:
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    subjects = [f"{config.prefix}.reports.>"]
    try:
        await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=config.stream, subjects=subjects,
                                         storage="file"))


async def ensure_consumer(js, config: Config) -> None:
    """The durable consumer, made once; one that exists is used as it is."""
    from nats.js.api import AckPolicy, ConsumerConfig
    from nats.js.errors import NotFoundError

    try:
        await js.consumer_info(config.stream, config.durable)
    except NotFoundError:
        await js.add_consumer(config.stream, ConsumerConfig(
            name=config.durable, durable_name=config.durable,
            filter_subject=f"{config.prefix}.reports.>", ack_policy=AckPolicy.EXPLICIT,
            ack_wait=config.ack_wait,
            # Room for the batch in hand and the one fetched ahead.
            max_ack_pending=max(1_000, 4 * config.batch)))


async def consume(config: Config, stop: asyncio.Event | None = None,
                  on_feedback=None) -> Counters:
    """Consume until `stop` is set (or forever); returns what was done."""
    import nats

    from suptech.stream.pull import Puller

    stop = stop or asyncio.Event()
    counters = Counters()
    ingestor = Ingestor(config)
    nc = await nats.connect(config.nats_url, max_reconnect_attempts=-1)
    relay, finished = None, asyncio.Event()
    try:
        js = nc.jetstream()
        await ensure_stream(js, config)
        await ensure_consumer(js, config)
        puller = Puller(nc, config.stream, config.durable)
        await puller.start()
        loop = asyncio.get_running_loop()

        async def fetch() -> list:
            return await puller.fetch(config.batch, timeout=0.5)

        # What is made by now (modules, connections, the caches' tables) lives as long
        # as the process: Python's full collections need not scan it again. Scanning it
        # took 0.14 s each time, a pause in the stream twice in a full-scale day.
        gc.freeze()
        relay = asyncio.create_task(relay_alerts(nc, config.prefix, ingestor, counters,
                                                 finished))
        # The next fetch is under way while a batch is validated and committed.
        ahead = asyncio.create_task(fetch())
        while not stop.is_set():
            msgs = await ahead
            # The fetch ahead ended with the first messages to come while the last batch
            # was being committed: those that came since join them (a venue's burst is
            # one batch, not a few messages and then the rest a batch later).
            if msgs and len(msgs) < config.batch:
                msgs += await puller.now(config.batch - len(msgs))
            ahead = asyncio.create_task(fetch())
            if not msgs:
                await loop.run_in_executor(None, ingestor.idle)
                continue
            batch = [Message(m.subject, m.data, m.metadata.sequence.stream) for m in msgs]
            # Latency is counted from the earliest message of the fetch: an upper bound.
            sent = int(min(m.metadata.timestamp for m in msgs).timestamp() * 1e9)
            answers = await loop.run_in_executor(None, ingestor.handle, batch, sent)
            for m, (reply, body) in zip(msgs, answers):
                await nc.publish(reply, feedback_bytes(body, nc.max_payload))
                counters.messages += 1
                if body["error"] and body["batch_id"] is None:
                    counters.refused += 1
                elif body["duplicate"]:
                    counters.duplicates += 1
                else:
                    counters.ingested += 1
                    counters.reports += body["accepted"]
                if on_feedback:
                    on_feedback(reply, body)
            # Acknowledged only once committed and answered: a crash before here means
            # redelivery, which the stream log recognises.
            await nc.flush()
            for m in msgs:
                await m.ack()
            await nc.flush()
        # Messages fetched ahead (or kept from a request given up on) go back at once,
        # not after the ack wait.
        for m in await ahead + puller.msgs:
            await m.nak()
        await nc.flush()
        # What was stored is all there is for now: the detectors settle what they
        # were waiting for (the close's cases) before the last alerts are taken.
        await loop.run_in_executor(None, ingestor.idle)
    finally:
        if relay is not None:
            finished.set()
            await relay  # the alerts of the last batches
        await nc.close()
        ingestor.close()
    return counters
