"""The federation's joint jobs at scale, run as the product runs them: four regional
nodes and the coordinator as processes of their own on this machine, talking over
mutual TLS, each job asked of a node by its supervisor. PSI for every pair of the four
regions, and a secure sum of a many-bucket histogram across all four; beside them the
same jobs in plaintext on pooled data in one process (the baseline: what pooling the
data would cost).

    .venv/bin/python bench/federation.py [--accounts 1000000] [--buckets 1000000] [--shared 0.01]
        [--network 20000] [--key-length 1024]

Each region's register holds `--accounts` account numbers, a share `--shared` of them
held by all four. Bytes sent per node are what its federation link and listener sent
(its audit log's federation.sent and .received entries; the MPyC channel's shares are
not counted). Peak memory is each node process's high-water mark (VmHWM); the MPyC
parties are processes of their own, not counted in it.

Secure risk propagation runs on a simulated payment network of `--network` accounts
over the four regions (each node's share ingested and scanned in its own store; the
frontier is what crosses regions), with a new Paillier key of `--key-length` bits made
by the four together; its time is split into key generation and propagation, its bytes
are what each player sent (TNO's channel counts them), and the players are processes of
their own. The baseline is the same propagation in plaintext on the pooled frontier.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import sqlalchemy as sa

from suptech.federation import propagation, records
from suptech.federation.home import init
from suptech.federation.launch import Processes, users
from suptech.federation.load import load
from suptech.federation.regions import account_regions, split
from suptech.ops.db import audit, connect


def registers(home, n: int, shared: float, seed: int) -> dict[str, set[str]]:
    """Each region's accounts, written as its node's register; the sets, for the baseline."""
    rng = random.Random(seed)
    common = [f"62{rng.randint(10**15, 10**16 - 1)}" for _ in range(int(n * shared))]
    held = {}
    for region in home.regions:
        accounts = common + [f"62{rng.randint(10**15, 10**16 - 1)}" for _ in range(n - len(common))]
        pl.DataFrame({"entity_id": [f"{region}-{i}" for i in range(n)], "kind": "account",
                      "value": accounts}).write_parquet(home.member(region).folder / "register.parquet")
        held[region] = set(accounts)
    return held


def histograms(home, buckets: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for region in home.regions:
        out[region] = rng.integers(0, 50, buckets)
        (home.member(region).folder / "indicators").mkdir(exist_ok=True)
        pl.DataFrame({"count": out[region]}, schema={"count": pl.Int64}).write_parquet(
            home.member(region).folder / "indicators" / "risk_band.parquet")
    return out


def bytes_sent(home, member: str) -> int:
    """What the member sent: its requests' bodies and its answers' bodies."""
    with connect(home.member(member).data).connect() as con:
        rows = con.execute(sa.select(audit.c.action, audit.c.detail).where(
            audit.c.action.in_(["federation.sent", "federation.received"]))).all()
    return sum(json.loads(d)["bytes_out"] for _, d in rows)


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--buckets", type=int, default=1_000_000)
    parser.add_argument("--shared", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--network", type=int, default=20_000,
                        help="accounts of the simulated payment network for risk propagation")
    parser.add_argument("--key-length", type=int, default=1024)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.accounts:,} accounts a region, "
          f"{args.shared:.0%} shared by all four; {args.buckets:,} buckets\n")
    with tempfile.TemporaryDirectory() as work:
        home = init(Path(work) / "federation")
        loaded = load(home, seed=args.seed, accounts=args.network, entities=1000,
                      progress=lambda m: print(f"  {m}", flush=True))
        held = registers(home, args.accounts, args.shared, args.seed)
        counts = histograms(home, args.buckets, args.seed)
        tokens = users(home)
        client = httpx.Client(timeout=7200)

        def ask(region: str, body: dict) -> dict:
            r = client.post(home.member(region).dashboard + "/v1/federation/jobs", json=body,
                            headers={"authorization": f"Bearer {tokens[region]}"})
            r.raise_for_status()
            return r.json()

        with Processes(home).start(timeout=300) as processes:
            t = time.perf_counter()
            found = {}
            for a, b in itertools.combinations(home.regions, 2):
                found[a, b] = ask(a, {"job": "psi", "with": b, "kinds": ["account"]})[
                    "released"]["shared"]
                print(f"  PSI {a} with {b}: {found[a, b]:,} shared, "
                      f"{time.perf_counter() - t:.0f} s so far", flush=True)
            psi_s = time.perf_counter() - t
            psi_bytes = {m: bytes_sent(home, m) for m in home.members}
            t = time.perf_counter()
            released = ask(home.regions[0], {"job": "secure_sum", "regions": home.regions,
                                             "indicator": "risk_band", "scale": 3.0})["released"]
            sum_s = time.perf_counter() - t
            sum_bytes = {m: bytes_sent(home, m) - psi_bytes[m] for m in home.members}
            t = time.perf_counter()
            rp = ask(home.regions[0], {"job": "risk_propagation",
                                       "key_length": args.key_length})["released"]
            rp_s = time.perf_counter() - t
            costs = {}
            for region in home.regions:
                with connect(home.member(region).data).connect() as con:
                    costs[region] = records.read(con, "propagated", 1)[0]["body"]["cost"]
            peaks = {m: peak_mb(p.pid) for m, p in processes.procs.items()}
        # The baseline: the same propagation in plaintext on the pooled frontier.
        sim = home.path / "simulation"
        where, files = account_regions(sim), split(sim, Path(work) / "pooled")
        inputs = [propagation.region_inputs(
            r, home.regions, pl.read_parquet(files[r][-1]), where, loaded["alerts"][r], b"bench")
            for r in home.regions]
        t = time.perf_counter()
        propagation.propagate(pl.concat([i[0] for i in inputs]),
                              pl.concat([i[1] for i in inputs]).unique())
        plain_rp_s = time.perf_counter() - t

    t = time.perf_counter()
    plain = {(a, b): len(held[a] & held[b]) for a, b in itertools.combinations(sorted(held), 2)}
    plain_psi_s = time.perf_counter() - t
    assert {tuple(sorted(k)): v for k, v in found.items()} == plain, (found, plain)
    t = time.perf_counter()
    exact = np.sum(list(counts.values()), axis=0)
    plain_sum_s = time.perf_counter() - t
    error = np.abs(np.array(released["sum"]) - exact)

    def per_member(sizes: dict[str, int]) -> str:
        return ", ".join(f"{m} {v / 1e6:.1f} MB" for m, v in sizes.items())

    print(f"PSI, six pairs over the nodes: {psi_s:.1f} s ({psi_s / 6:.1f} s a pair), "
          f"{sum(found.values()):,} shared entities found (as in plaintext)")
    print(f"  sent: {per_member(psi_bytes)}")
    print(f"  baseline, the same intersections of pooled sets in plaintext: {plain_psi_s:.2f} s")
    print(f"secure sum of {args.buckets:,} buckets, four MPyC parties: {sum_s:.1f} s, largest "
          f"error {error.max()} (noise scale 3, rho {released['rho']:.3f})")
    print(f"  sent over HTTPS (the MPyC channel's shares not counted): {per_member(sum_bytes)}")
    print(f"  baseline, the plaintext sum in one process: {plain_sum_s * 1000:.1f} ms")
    keygen = max(c["keygen_s"] for c in costs.values())
    print(f"secure risk propagation, four players, {args.network:,} accounts in the network, "
          f"frontier {sum(rp['accounts'].values()):,} accounts ("
          + ", ".join(f"{r} {n:,}" for r, n in rp["accounts"].items())
          + f"), {rp['iterations']} rounds: {rp_s:.1f} s in all, of which a new "
          f"{args.key_length}-bit key {keygen:.1f} s; leads "
          + ", ".join(f"{r} {n}" for r, n in rp["leads"].items()))
    print("  sent by each player: " + per_member({r: c["bytes_sent"] for r, c in costs.items()}))
    print(f"  baseline, the same propagation in plaintext on the pooled frontier: "
          f"{plain_rp_s * 1000:.1f} ms")
    print(f"peak memory per process: " + ", ".join(f"{m} {v:.0f} MB" for m, v in peaks.items()))


if __name__ == "__main__":
    main()
