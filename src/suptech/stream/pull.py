"""Pulling a durable JetStream consumer's messages in batches, cheaply.

nats-py's `fetch` waits for each message of a batch with a task, a timer and a UUID of
its own (`Subscription.next_msg`): about 5 % of the consumer's time on a medium day of
37,000 messages, in the thread that also decodes and commits. Here one subscription's
callback collects a pull request's messages into a list, and the request ends on the
status message JetStream sends after the last one (or once the batch is full). What
JetStream delivers is kept until taken, whichever request it answers. The
JetStream API is the documented one:
`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with `batch`, `max_bytes`, `no_wait`
and `expires`.
"""

from __future__ import annotations

import asyncio
import json
import logging

log = logging.getLogger(__name__)


#: Seconds a request may outlast what it asked for before the client gives up on its
#: end (the status JetStream sends). Giving up loses nothing, as messages that come for
#: a request given up on are kept for the next one: a lost end costs half a second, not
#: the five this once was (a full-scale bench saw the consumer sit on the afternoon's
#: first messages for five seconds).
MARGIN = 0.5


class Puller:
    def __init__(self, nc, stream: str, durable: str):
        self.nc = nc
        self.next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.inbox = nc.new_inbox()
        self.requests = 0
        self.reply: str | None = None  # the request being answered
        #: What JetStream delivered and nobody took yet, in order.
        self.msgs: list = []
        self.wanted = 0
        self.ended: asyncio.Future | None = None

    async def start(self, max_bytes: int = 32 * 2**20) -> None:
        """`max_bytes`: what one request may bring. The server drops a client that lets
        more than 64 MB wait for it (a "slow consumer"), as it dropped this consumer on
        a full-scale day while it was busy validating."""
        self.max_bytes = max_bytes
        # What waits in this process for the callback: the batch in hand and the one
        # ahead, with room to spare (nats-py drops messages past the limit).
        self.sub = await self.nc.subscribe(f"{self.inbox}.*", cb=self._on_message,
                                           pending_msgs_limit=-1,
                                           pending_bytes_limit=4 * max_bytes)

    async def _on_message(self, msg) -> None:
        # Messages keep their own subjects; a status (sent to the request's inbox) ends
        # a request: 404 no messages, 408 expired, 409 the request's max_bytes reached.
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            # Whichever request it answers (one given up on, too): delivered to this
            # consumer, it is taken by this request or the next, never dropped (JetStream
            # would deliver it again only after the ack wait).
            self.msgs.append(msg)
        elif status == "100" or msg.subject != self.reply:
            return  # an idle heartbeat, or the end of a request given up on
        if self.ended is not None and not self.ended.done() \
                and (status is not None or len(self.msgs) >= self.wanted):
            self.ended.set_result(None)

    async def _request(self, batch: int, expires_s: float | None) -> list:
        """Up to `batch` messages: those there now (`expires_s` None), or waiting up to
        `expires_s` for them; messages kept from an earlier request come first."""
        if len(self.msgs) >= batch or (self.msgs and expires_s is not None):
            return self._take(batch)  # enough kept, or something kept: no need to wait
        self.requests += 1
        self.reply = f"{self.inbox}.{self.requests}"
        self.wanted = batch
        self.ended = asyncio.get_running_loop().create_future()
        body: dict = {"batch": batch - len(self.msgs), "max_bytes": self.max_bytes}
        if expires_s is None:
            body["no_wait"] = True
        else:
            body["expires"] = int(expires_s * 1e9)
        await self.nc.publish(self.next_subject, json.dumps(body).encode(), reply=self.reply)
        try:
            await asyncio.wait_for(asyncio.shield(self.ended), (expires_s or 0) + MARGIN)
        except asyncio.TimeoutError:
            log.debug("gave up on pull request %s: JetStream did not end it", self.reply)
        self.reply = None
        return self._take(batch)

    def _take(self, batch: int) -> list:
        taken, self.msgs = self.msgs[:batch], self.msgs[batch:]
        return taken

    async def now(self, batch: int) -> list:
        """Up to `batch` messages: those there now, none waited for."""
        return await self._request(batch, None)

    async def fetch(self, batch: int, timeout: float) -> list:
        """What is there now, up to `batch` messages; if nothing, the first message to
        come within `timeout` seconds and what came with it ([] if none)."""
        msgs = await self._request(batch, None)
        if msgs:
            return msgs
        msgs = await self._request(1, timeout)
        if msgs and batch > 1:
            msgs += await self._request(batch - len(msgs), None)
        return msgs
