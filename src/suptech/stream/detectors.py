"""The market detectors in real time, in a process of their own beside the consumer:
transport only. What they find is `suptech.detect.window`'s business.

Validation and storage of one batch and detection on the previous one then run on two
cores at once. Batches go over a pipe in commit order, and each one is answered once,
in the same order, when the window has advanced over it: the alerts of that advance
come with the last batch it took, the batches before it are answered as covered, and
the alerts carry the publication time of the earliest of them (how long a report
waited for detection). The consumer stores and publishes them (the store has one
writer, the consumer). The window advances when no later batch is waiting (batches that
queue up while it works are taken together), and no sooner after its last advance than
keeps it advancing at most `DUTY` of the time: an advance costs much the same whatever
it takes in, so advancing after every batch would fall behind a busy market. It
advances once more, with the stream drained, when the consumer is idle: the close's
cases are settled then, not with the next day.

The register (instruments, parties, accounts, insider lists, announcements) is read by
the consumer, which holds the store, and sent before the first batch, and again after
such reports were committed: when the consumer is next idle, or else before the next
batch.

Batches are sent by a thread of their own: sending waits while the child is busy with
the last batch, and the consumer meanwhile validates the next. Another thread takes the
answers (see `suptech.stream.consumer.relay_alerts`): they must be read while batches
are sent, or the child would stop, waiting to send its own. Only the new reports'
columns the detectors read are sent (`suptech.detect.window.EVENTS`).
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import Connection

import polars as pl

from suptech.detect.window import EVENTS, REGISTER, Window, horizon, stored_events

log = logging.getLogger(__name__)


#: The most of its time the window spends advancing when batches come steadily: the rest
#: is for taking them in (and for the consumer, on a machine of two cores).
DUTY = 0.85


def serve(conn, lateness: int, run_id: str) -> None:
    """The child: ("register", tables) | ("rows", report type, frame) | ("drained",) |
    ("stop",) in; for each "rows" and "drained", once the window has advanced over it,
    ("covered",) | ("alerts", frame) | ("error", text) out.

    Python's cycle collector is left to the batches' own objects: the window's state
    lives in DuckDB, and full collections only cost pauses."""
    gc.disable()
    window = Window(lateness=lateness, run_id=run_id)
    held = 0  # batches taken in since the last advance, not yet answered
    due = 0.0  # when the next advance may start (time.monotonic())

    def advance(drained: bool = False) -> float:
        """Advance over the batches held, answer them; when the next may start."""
        nonlocal held
        start = time.monotonic()
        try:
            answer = ("alerts", window.advance(drained=drained))
            gc.collect(1)
        # A bug must not stop detection on later batches: say it to the consumer, which
        # logs it. (A panic in polars' Rust code is a BaseException.)
        except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
            answer = ("error", traceback.format_exc())
        for _ in range(held - 1):
            conn.send(("covered",))
        conn.send(answer)
        held = 0
        end = time.monotonic()
        return end + (end - start) * (1 / DUTY - 1)

    while True:
        try:
            # Batches held: advance once none comes before the next advance is due.
            if held and not conn.poll(max(0.0, due - time.monotonic())):
                due = advance()
                continue
            message = conn.recv()
        except (EOFError, OSError):  # the consumer is gone (killed): so is this
            return
        if message[0] == "stop":
            return
        if message[0] == "register":
            window.register(message[1])
        elif message[0] == "rows":
            try:
                window.add(message[1], message[2])
            # A batch the window cannot take is answered with why, in its turn: the
            # batches held before it are advanced over and answered first.
            except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                failed = traceback.format_exc()
                if held:
                    due = advance()
                conn.send(("error", failed))
                continue
            held += 1
        elif message[0] == "drained":
            held += 1
            due = advance(drained=True)


def register_tables(store) -> dict[str, pl.DataFrame]:
    """The register as the store has it now, the columns the detectors read."""
    return {name: pl.from_arrow(store.view(name).select(list(columns)).to_pyarrow())
            for name, columns in REGISTER.items()}


class DetectorProcess:
    """`submit` a committed batch; `results` are the alerts of those done so far."""

    def __init__(self, store, lateness: int, run_id: str):
        self.store = store
        # A new interpreter, not a fork (polars' threads do not survive one), started as
        # a module, not by multiprocessing (which would import the caller's script again).
        mine, child = socket.socketpair()
        # Polars on one thread: a batch's frames are small and the detectors' work is
        # Python's; polars' pool only cost coordination (9 % of the detectors' CPU, on
        # the two cores the consumer shares), not time. A user's setting wins.
        env = {"POLARS_MAX_THREADS": "1", **os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(child.fileno()), str(lateness), run_id],
            pass_fds=[child.fileno()], env=env)
        child.close()
        self.conn = Connection(mine.detach())
        self.stale = True  # the register is sent before the first batch
        self.lateness = lateness
        self.restored = False  # and the store's recent events after it, once
        self.gone = False
        self.behind = False  # batches sent since the window last advanced, drained
        self.last_tag = 0
        # Tags of the batches whose alerts are to come: a deque, as the submitting
        # thread appends while the other takes from the left.
        self.pending: deque[int] = deque()
        #: The earliest tag of the batches answered as covered since the last advance.
        self.covered: int | None = None
        # Bounded: detectors that fall this many batches behind slow the consumer down
        # to their pace, rather than their backlog growing without end.
        self.outbox: queue.Queue = queue.Queue(maxsize=8)
        self.sender = threading.Thread(target=self._send_all, name="suptech-detectors-send",
                                       daemon=True)
        self.sender.start()

    def _send_all(self) -> None:
        """The sending thread: messages to the child in the order they were put."""
        while True:
            message = self.outbox.get()
            if not self.gone:
                try:
                    self.conn.send(message)
                except OSError:
                    self.lost()
            if message[0] == "stop":
                return

    def submit(self, type_name: str, rows: pl.DataFrame, tag: int = 0) -> None:
        """`tag` comes back with the batch's alerts."""
        if type_name in REGISTER:
            self.stale = True  # read again before the next orders or trades, once
            return
        if type_name not in EVENTS or rows.is_empty() or self.gone:
            return
        rows = rows.filter(pl.col("action") == "NEW")  # corrections are the scan's
        if rows.is_empty():
            return
        self.send_reference()
        self.pending.append(tag)  # before the answer can come back
        self.last_tag = tag
        self.behind = True
        self.outbox.put(("rows", type_name, rows.select(EVENTS[type_name])))

    def drained(self) -> None:
        """Nothing more is on its way (the consumer is idle): the window advances to
        the latest event, once after each run of batches."""
        if self.behind and not self.gone:
            self.behind = False
            self.pending.append(self.last_tag)
            self.outbox.put(("drained",))

    def send_reference(self) -> None:
        """The register read again, if reference data was committed since it was sent
        (about a second for a full-scale market: done when idle, where possible)."""
        if self.stale and not self.gone:
            self.outbox.put(("register", register_tables(self.store)))
            self.stale = False
        if not self.restored and not self.gone:
            self.restored = True
            self.restore()

    def restore(self) -> None:
        """The store's recent events, fed to the window before the first batch: a
        restarted consumer's cases carry on where the last one's stopped (the window
        is memory; the store holds every report the stream committed). Cases found
        again as they were are not stored again (`Ingestor.take_alerts`)."""
        sent = time.time_ns()
        for name, rows in stored_events(self.store, horizon(self.lateness)):
            self.pending.append(sent)
            self.last_tag = sent
            self.behind = True
            self.outbox.put(("rows", name, rows))

    def lost(self) -> None:
        """The child died (killed, out of memory): the reports are stored all the same,
        and the batch scan will find what the stream did not."""
        log.error("the streaming detectors' process ended (exit code %s): no more "
                  "streaming alerts until the consumer restarts", self.process.poll())
        self.gone = True
        self.pending.clear()

    def results(self, wait: bool = False, timeout: float = 0) -> list[tuple[int, pl.DataFrame]]:
        """(tag, alerts) of the advances done over the batches submitted (all of them
        with `wait`; else, if none is, those done within `timeout` seconds) that raised
        any: the tag is the least of the batches the advance took (tags are times)."""
        done = []
        if not wait and timeout and not self.gone:
            # Waited for here, in the caller's thread, not by an event loop's reader:
            # uvloop's made the socket non-blocking, and a send cut short garbled it.
            self.conn.poll(timeout)
        while self.pending and (wait or self.conn.poll()):
            try:
                kind, *payload = self.conn.recv()
            except (EOFError, OSError):
                self.lost()
                break
            tag = self.pending.popleft()
            if kind == "covered":
                self.covered = tag if self.covered is None else min(self.covered, tag)
                continue
            if self.covered is not None:
                tag, self.covered = min(tag, self.covered), None
            if kind == "error":
                log.error("streaming detectors failed on a batch:\n%s", payload[0])
            elif payload[0].height:
                done.append((tag, payload[0]))
        return done

    def close(self) -> None:
        try:  # a child stuck on a batch is killed below
            self.outbox.put(("stop",), timeout=10)
            self.sender.join(timeout=10)
        except queue.Full:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.conn.close()


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]), sys.argv[3])
