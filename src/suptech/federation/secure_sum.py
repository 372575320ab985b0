"""One region's part in a secure sum of counts across regions (MPyC; one party a region).

Run as its own process, one per region, with MPyC's options for where the parties are:

    python -m suptech.federation.secure_sum COUNTS.parquet OUT.json --scale S -M 4 -I i -B port

`COUNTS.parquet` holds this region's counts, one int64 column `count`, one row a bucket
(the same buckets in every region, as the agreement names them). Before its counts are
secret-shared, each region adds discrete Gaussian noise of scale S/sqrt(M) (OpenDP): the
noise of the M regions adds up to scale S on the released sum, so the sum is opened
with its noise in it and no region, nor anyone who sees it, learns the exact total
(each region knows only its own share of the noise). Every party writes the released
sum to OUT.json with what it cost: the zero-concentrated DP budget rho for one person
changing one bucket by `--sensitivity`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def noisy(counts: list[int], scale: float) -> list[int]:
    """`counts` with discrete Gaussian noise of `scale` (OpenDP)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    gaussian = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)),
                                  dp.l2_distance(T=int), scale=scale)
    return list(gaussian(counts))


def command(counts: Path, out: Path, scale: float, sensitivity: int,
            where: list[str], sent_log: Path | None = None) -> list[str]:
    """The command that runs one party: `where` are MPyC's options saying who the
    parties are and which this is (-M/-I/-B on one machine, or -P host:port each, -I);
    `sent_log`, where every byte it sends the others is kept."""
    kept = ["--sent-log", str(sent_log)] if sent_log else []
    return [sys.executable, "-m", "suptech.federation.secure_sum", str(counts), str(out),
            "--scale", str(scale), "--sensitivity", str(sensitivity), *kept, *where,
            "--no-log"]


class _Kept:
    """A party's connection to another, every byte written to it also appended to the
    member's sent.log (framed as `federation.wire` frames its own), before TLS."""

    def __init__(self, transport, log: Path):
        self._transport, self._log = transport, log

    def write(self, data) -> None:
        from suptech.federation.wire import append_sent

        append_sent(self._log, "peer", "mpyc", bytes(data))
        self._transport.write(data)

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def __getattr__(self, name):
        return getattr(self._transport, name)


def keep_sent(log: Path) -> None:
    """Keep what this party sends (its identity, its PRSS keys to each peer, its
    shares) in `log`: MPyC's connections are made with their transports wrapped."""
    from mpyc.asyncoro import MessageExchanger

    made = MessageExchanger.connection_made
    MessageExchanger.connection_made = lambda self, t: made(self, _Kept(t, log))


def rho(scale: float, sensitivity: int) -> float:
    """The released sum's budget (zCDP) for a change of `sensitivity` in one bucket."""
    return sensitivity ** 2 / (2 * scale ** 2)


async def secure_sum(counts: list[int]) -> list[int]:
    from mpyc.runtime import mpc

    await mpc.start()
    secint = mpc.SecInt(64)
    mine = secint.array(np.array(counts, dtype=object))
    everyone = mpc.input(mine, senders=list(range(len(mpc.parties))))
    total = everyone[0]
    for other in everyone[1:]:
        total = total + other
    opened = await mpc.output(total)
    await mpc.shutdown()
    return [int(v) for v in opened]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, required=True,
                        help="The Gaussian noise's scale on the released sum.")
    parser.add_argument("--sensitivity", type=int, default=1)
    parser.add_argument("--sent-log", type=Path, help="Keep every byte sent here.")
    args, _ = parser.parse_known_args()  # the rest are MPyC's (-M, -I, -B, ...)
    if args.sent_log:
        keep_sent(args.sent_log)
    from mpyc.runtime import mpc

    parties = len(mpc.parties)
    counts = pq.read_table(args.counts, columns=["count"]).column("count").to_pylist()
    # Each region its share of the noise: M shares of scale S/sqrt(M) add up to scale S.
    shared = noisy([int(c) for c in counts], args.scale / math.sqrt(parties))
    released = mpc.run(secure_sum(shared))
    args.out.write_text(json.dumps({
        "sum": released, "parties": parties, "scale": args.scale,
        "sensitivity": args.sensitivity, "rho": rho(args.scale, args.sensitivity)}))


if __name__ == "__main__":
    sys.exit(main())
