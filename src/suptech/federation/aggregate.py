"""A secure sum across regions run on one machine: one MPyC party process a region
(`secure_sum`), each reading its own counts and none seeing another's, as the
federation's nodes run it each on their own; here for the tests and the one-machine
demo."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from suptech.federation.secure_sum import command


def free_ports(n: int) -> int:
    """A base port b with b..b+n-1 free (MPyC gives party i port b+i)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n < 65536 and all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports on 127.0.0.1")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def secure_sum(counts: dict[str, list[int]], scale: float, work: Path,
               sensitivity: int = 1, timeout: float = 120) -> dict:
    """The noisy sum of each region's `counts` (bucket by bucket), computed by one MPyC
    party per region, and what it cost: as every party released it (they agree)."""
    regions = sorted(counts)
    work.mkdir(parents=True, exist_ok=True)
    base = free_ports(len(regions))
    procs = []
    for i, region in enumerate(regions):
        pq.write_table(pa.table({"count": pa.array(counts[region], pa.int64())}),
                       work / f"{region}.parquet")
        procs.append(subprocess.Popen(
            command(work / f"{region}.parquet", work / f"{region}.json", scale, sensitivity,
                    ["-M", str(len(regions)), "-I", str(i), "-B", str(base)]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    failed = {r: o.decode(errors="replace")[-400:] for r, o, p in zip(regions, outputs, procs)
              if p.returncode != 0}
    if failed:
        raise RuntimeError(f"secure sum failed in {', '.join(failed)}: {failed}")
    released = [json.loads((work / f"{r}.json").read_text()) for r in regions]
    if any(r != released[0] for r in released):
        raise RuntimeError("the parties released different sums: " + ", ".join(
            f"{r}: {x['sum'][:5]}..." for r, x in zip(regions, released)))
    return {**released[0], "regions": regions}
