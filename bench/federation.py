"""The federation's joint jobs at scale: private set intersection for every pair of the
four regions, and a secure sum of a many-bucket histogram, beside the same jobs in
plaintext in one process (the baseline: what pooling the data would cost).

    .venv/bin/python bench/federation.py [--accounts 100000] [--buckets 100000] [--shared 0.01]

Each region holds `--accounts` account numbers, a share `--shared` of them also held by
each other region. PSI runs in this process (both sides of each pair, one after the
other: the time is the two sides' work added up); the secure sum runs one MPyC party
process a region on this machine. Bytes are what each side sends.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from suptech.federation.aggregate import secure_sum
from suptech.federation.psi import Answerer, Asker

REGIONS = ("CN-AH", "CN-JS", "CN-SH", "CN-ZJ")


def populations(n: int, shared: float, seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    common = [f"62{rng.randint(10**15, 10**16 - 1)}" for _ in range(int(n * shared))]
    return {r: [("account", a) for a in common + [f"62{rng.randint(10**15, 10**16 - 1)}"
                                                 for _ in range(n - len(common))]]
            for r in REGIONS}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--buckets", type=int, default=100_000)
    parser.add_argument("--shared", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.accounts:,} accounts a region, "
          f"{args.shared:.0%} shared by all four; {args.buckets:,} buckets\n")
    people = populations(args.accounts, args.shared, args.seed)

    t = time.perf_counter()
    sent: dict[str, int] = dict.fromkeys(REGIONS, 0)
    found = {}
    for a, b in itertools.combinations(REGIONS, 2):
        asker = Asker("bench", people[a])
        request = asker.request()
        setup, response = Answerer("bench", people[b]).answer(request, asker.size)
        found[a, b] = len(asker.shared(setup, response))
        sent[a] += len(request)
        sent[b] += len(setup) + len(response)
    psi_s = time.perf_counter() - t
    t = time.perf_counter()
    plain = {(a, b): len({v for _, v in people[a]} & {v for _, v in people[b]})
             for a, b in itertools.combinations(REGIONS, 2)}
    plain_psi_s = time.perf_counter() - t
    assert found == plain, (found, plain)
    print(f"PSI, six pairs: {psi_s:.1f} s ({psi_s / 6:.1f} s a pair), "
          f"{sum(found.values()):,} shared entities found; bytes sent per region: "
          + ", ".join(f"{r} {sent[r] / 1e6:.1f} MB" for r in REGIONS))
    print(f"  baseline, the same intersections of pooled sets in plaintext: {plain_psi_s:.2f} s")

    rng = np.random.default_rng(args.seed)
    counts = {r: rng.integers(0, 50, args.buckets).tolist() for r in REGIONS}
    with tempfile.TemporaryDirectory() as work:
        t = time.perf_counter()
        released = secure_sum(counts, scale=3.0, work=Path(work), timeout=3600)
        mpc_s = time.perf_counter() - t
    t = time.perf_counter()
    exact = np.sum([counts[r] for r in REGIONS], axis=0)
    plain_sum_s = time.perf_counter() - t
    error = np.abs(np.array(released["sum"]) - exact)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"secure sum of {args.buckets:,} buckets over four MPyC parties: {mpc_s:.1f} s, "
          f"largest error {error.max()} (noise scale 3, rho {released['rho']:.3f}), "
          f"largest party process {children:.0f} MB")
    print(f"  baseline, the plaintext sum in one process: {plain_sum_s * 1000:.1f} ms")
    print(f"peak memory of this process (PSI): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
