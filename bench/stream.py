"""Real-time monitoring end to end: publish -> validate -> persist -> detect -> alert.

A simulated market day is replayed onto a JetStream stream and consumed by `suptech
stream` (a separate process, as deployed) into a fresh data directory, with the
streaming detectors on.

1. Sustained throughput: the day published as fast as JetStream takes it; order events
   and trades per second from the first event message sent to the last one answered.
2. Latency at a paced rate (`--speed`, seconds of trading per second): from each
   message's publication to its feedback, and from publication to each alert (counted
   from the earliest message of the fetches the detectors took in for the advance that
   raised it: how long a report waited for detection; before 2026-12-04, of the last
   of those fetches only, which hid the wait of the others).

Baseline, measured in the same run: the same messages through JetStream alone, to a
pull consumer that only acknowledges them (what the transport costs).

The messages are encoded (Arrow IPC) before each clock starts: that is the venues' work,
on their machines. Publishing them is timed.

    .venv/bin/python bench/stream.py [--scale medium] [--speed 300] [--group 1024]
                                     [--sim DIR] [--skip-max | --skip-paced]
                                     [--dump FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl

from suptech.ops import access
from suptech.ops.db import connect
from suptech.simulate.market_run import simulate_market
from suptech.store.database import open_store
from suptech.stream.consumer import ensure_stream
from suptech.stream.messages import Config
from suptech.stream.replay import default_slice_ms, load, prepare, replay

#: What is timed: the market's flow. The rest (the register, the insider list stamped
#: at the day's start, announcements) goes first, before the clock starts: paced, the
#: insider list alone would add 90 idle minutes of trading time before the open.
MARKET = ("order_event", "trade")

NATS = os.environ.get("SUPTECH_NATS_URL", "nats://127.0.0.1:4222")


def register(data_dir: Path, frames) -> None:
    ops = connect(data_dir)
    with ops.begin() as con:
        leis = sorted({lei for f in frames.values() for lei in f["submitter"].unique()})
        for i, lei in enumerate(leis):
            access.add_user(con, "bench", f"venue{i}", "submitter", "CN-SH", lei)
    ops.dispose()


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU seconds a process (this one if None) has used so far."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nats_pids() -> list[int]:
    """Local NATS servers (the one the bench talks to, where it runs on this machine)."""
    return [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()
            and (d / "comm").exists() and (d / "comm").read_text().strip() == "nats-server"]


class CPU:
    """CPU seconds spent, from `start` to `stop`, by this process (the publisher and the
    bench's listeners), the consumer and the NATS server: where the cores went."""

    def __init__(self, consumer: int | None = None):
        self.pids = {"bench and publisher": None, "NATS server": nats_pids()}
        if consumer:
            self.pids["consumer"] = [consumer]
            # its streaming detectors' process
            self.pids["detectors"] = [int(c) for c in Path(
                f"/proc/{consumer}/task/{consumer}/children").read_text().split()]

    def read(self) -> dict[str, float]:
        return {k: cpu_seconds() if v is None else sum(cpu_seconds(p) for p in v)
                for k, v in self.pids.items()}

    def start(self) -> None:
        self.begun = self.read()

    def stop(self) -> dict[str, float]:
        return {k: v - self.begun[k] for k, v in self.read().items()}


def cpu_line(used: dict[str, float], seconds: float) -> str:
    return "  CPU: " + ", ".join(f"{k} {v:,.0f} s ({v / seconds:.2f} cores)"
                                 for k, v in used.items())


async def drop(config: Config) -> None:
    import nats
    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().delete_stream(config.stream)
    except Exception:  # noqa: BLE001 (nothing to drop)
        pass
    await nc.close()


def encode(frames, slice_ms: int, config: Config) -> list:
    """The messages, encoded before the clock starts: encoding is the venue's work, on
    its own machine, not the platform's (in the same process, it also held up the
    bench's listeners and so the times they took)."""
    return list(prepare(frames, slice_ms, limit=config.max_message_bytes))


async def baseline(frames, slice_ms: int) -> dict:
    """JetStream alone: publish, then drain with an acknowledging pull consumer."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout

    config = Config(Path("."), NATS, f"bb{uuid.uuid4().hex[:8]}")
    sent: dict[int, int] = {}
    events = sum(f.height for n, f in frames.items() if n in MARKET)
    messages = encode(frames, slice_ms, config)
    cpu = CPU()
    cpu.start()
    start = time.monotonic()
    done = await replay(Path("."), config, prepared=messages, slice_ms=slice_ms,
                        on_ack=lambda seq, t: sent.__setitem__(seq, t))
    nc = await nats.connect(NATS)
    sub = await nc.jetstream().pull_subscribe(f"{config.prefix}.reports.>", durable="bench",
                                              stream=config.stream)
    got = 0
    while got < done.messages:
        try:
            msgs = await sub.fetch(256, timeout=1)
        except NatsTimeout:
            continue
        for m in msgs:
            await m.ack()
        got += len(msgs)
    seconds = time.monotonic() - start
    used = cpu.stop()
    await nc.close()
    await drop(config)
    return {"messages": done.messages, "events": events, "seconds": seconds,
            "events_per_s": events / seconds, "cpu": used}


async def through_suptech(frames, data_dir: Path, speed: float, slice_ms: int,
                          group: int, dump: Path | None = None, detect: bool = True) -> dict:
    """`dump`: a file for each message's publication and answer times, and each alert's."""
    import nats

    config = Config(data_dir, NATS, f"bs{uuid.uuid4().hex[:8]}")
    register(data_dir, frames)
    consumer = subprocess.Popen(
        [sys.executable, "-m", "suptech.cli", "stream", "--data-dir", str(data_dir),
         "--nats", NATS, "--prefix", config.prefix, "--group", str(group),
         "--lateness", str(slice_ms / 1000),  # a message's slice arrives out of order
         "--detect" if detect else "--no-detect"],
        stdout=subprocess.DEVNULL, stderr=open(data_dir / "consumer.log", "ab"))
    sent: dict[int, int] = {}
    answered: dict[int, int] = {}
    alerts: list[tuple[int, dict]] = []
    nc = await nats.connect(NATS)
    heard = await nats.connect(NATS)  # alerts on a connection of their own
    seq = re.compile(rb'"stream_seq": (\d+)')

    async def feedback(m) -> None:
        answered[int(seq.search(m.data).group(1))] = time.time_ns()

    async def alert(m) -> None:
        alerts.append((time.time_ns(), json.loads(m.data)))

    # No limit on what waits in this process: a slow subscriber must not drop any.
    limits = {"pending_msgs_limit": 10_000_000, "pending_bytes_limit": 4 * 2**30}
    await nc.subscribe(f"{config.prefix}.feedback.>", cb=feedback, **limits)
    await heard.subscribe(f"{config.prefix}.alerts.>", cb=alert, **limits)
    await ensure_stream(nc.jetstream(), config)
    reference = {n: f for n, f in frames.items() if n not in MARKET}
    events = {n: f for n, f in frames.items() if n in MARKET}
    ref = await replay(Path("."), config, frames=reference)
    while len(answered) < ref.messages:  # the register is in before the clock starts
        await asyncio.sleep(0.05)
    first_event = ref.messages + 1
    messages = encode(events, slice_ms, config)
    # and the register read for the detectors, which the consumer does when idle, as
    # before an open
    await asyncio.sleep(3)
    cpu = CPU(consumer.pid)
    cpu.start()
    done = await replay(Path("."), config, speed=speed, prepared=messages, slice_ms=slice_ms,
                        on_ack=lambda seq, t: sent.__setitem__(seq, t))
    del messages
    total = ref.messages + done.messages
    deadline = time.monotonic() + 1800
    while len(answered) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    used = cpu.stop()
    await asyncio.sleep(1)  # alerts of the last fetch
    await nc.close()
    await heard.close()
    consumer.terminate()
    consumer.wait(timeout=60)
    await drop(config)
    store = open_store(data_dir)
    stored = store.alerts().height
    store.close()
    n_events = sum(f.height for f in events.values())
    # Seconds of event time in which anything happened (not the lunch break), paced.
    active = pl.concat([f.select((pl.col("ts_event") // 1_000_000_000).alias("s"))
                        for f in events.values()])["s"].n_unique()
    seconds = (max(answered[s] for s in sent) - sent[first_event]) / 1e9
    if dump:  # for latency over the run: ns since the epoch
        dump.write_text(json.dumps({
            "sent": sent, "answered": answered,
            "alerts": [{"heard": t, "published": a["published_ns"]} for t, a in alerts]}))
    feedback_ms = np.array([(answered[s] - t) / 1e6 for s, t in sent.items() if s in answered])
    alert_ms = np.array([(t - a["published_ns"]) / 1e6 for t, a in alerts])
    ids = {a["alert_id"] for _, a in alerts}
    pct = (lambda a, q: float(np.percentile(a, q)) if len(a) else float("nan"))
    return {"messages": done.messages, "events": n_events, "seconds": seconds,
            "events_per_s": n_events / seconds, "answered": len(answered), "expected": total,
            "offered_per_s": n_events / (active / speed) if speed else None,
            "feedback_p50_ms": pct(feedback_ms, 50), "feedback_p99_ms": pct(feedback_ms, 99),
            "alerts": len(ids), "stored_alerts": stored, "alert_p50_ms": pct(alert_ms, 50),
            "alert_p99_ms": pct(alert_ms, 99), "alert_max_ms": pct(alert_ms, 100),
            "cpu": used}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="medium", choices=["small", "medium", "full"])
    ap.add_argument("--sim", type=Path, help="replay this simulator output instead")
    ap.add_argument("--speed", type=float, default=300,
                    help="seconds of trading per second in the paced run")
    ap.add_argument("--slice-ms", type=int, default=None,
                    help="event time per message (default: replay's, for each run)")
    ap.add_argument("--group", type=int, default=1024, help="the consumer's --group")
    ap.add_argument("--skip-max", action="store_true", help="only the paced run")
    ap.add_argument("--skip-paced", action="store_true", help="only the fastest run")
    ap.add_argument("--dump", type=Path, help="write the paced run's times (JSON) here")
    ap.add_argument("--no-detect", action="store_true",
                    help="the consumer without its detectors: what detection adds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="suptech-bench-stream-") as tmp:
        root = Path(tmp)
        sim = args.sim
        if sim is None:
            sim = root / "sim"
            t = time.monotonic()
            simulate_market(sim, seed=71, days=1, scale=args.scale)
            print(f"simulated a {args.scale} day in {time.monotonic() - t:.0f} s")
        frames = load(sim)
        n = {k: f.height for k, f in frames.items()}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}; NATS {NATS}")
        print(f"day: {n.get('order_event', 0):,} order events, {n.get('trade', 0):,} trades")
        fast_slice = args.slice_ms or 60_000
        base = asyncio.run(baseline(frames, fast_slice))
        print(f"baseline, JetStream only: {base['events']:,} events in {base['messages']:,} "
              f"messages, {base['seconds']:.1f} s, {base['events_per_s']:,.0f} events/s")
        runs = [] if args.skip_max else [("as fast as possible", 0.0, fast_slice)]
        if not args.skip_paced:
            runs.append((f"paced, {args.speed:g}x real time", args.speed,
                         args.slice_ms or default_slice_ms(args.speed)))
        for i, (label, speed, slice_ms) in enumerate(runs):
            r = asyncio.run(through_suptech(frames, root / f"data{i}", speed, slice_ms,
                                            args.group, args.dump if speed else None,
                                            not args.no_detect))
            print(f"{label} ({slice_ms / 1000:g} s of trading a message): {r['events']:,} "
                  f"events in {r['messages']:,} messages, {r['seconds']:.1f} s, "
                  f"{r['events_per_s']:,.0f} events/s, {r['answered']:,} of "
                  f"{r['expected']:,} messages answered")
            if r["offered_per_s"]:
                print(f"  offered while the market trades: {r['offered_per_s']:,.0f} events/s")
            print(f"  publish -> feedback: p50 {r['feedback_p50_ms']:,.0f} ms, "
                  f"p99 {r['feedback_p99_ms']:,.0f} ms")
            print(f"  publish -> alert: {r['alerts']} alerts heard ({r['stored_alerts']} "
                  f"stored), p50 {r['alert_p50_ms']:,.0f} ms, "
                  f"p99 {r['alert_p99_ms']:,.0f} ms, max {r['alert_max_ms']:,.0f} ms")
            print(cpu_line(r["cpu"], r["seconds"]))


if __name__ == "__main__":
    main()
