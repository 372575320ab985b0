"""Spark in local mode on the engine conformance tests' data: ingest, then every
detector of a domain timed apart, over one set of shared tables. In the same run, the
baseline: the same work with Ibis's stock PySpark backend, whose `.cache()` keeps a
shared table as a cached frame instead of files (`suptech.store.engines._spark_backend`).

    .venv/bin/python bench/spark.py [--domain payments|market|both]

Each measurement runs in its own process (its own Spark session).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: One domain's work on one backend (argv[1]: domain, argv[2]: "kept" or "stock").
CHILD = """
import json, sys, tempfile, time
from pathlib import Path
import ibis
from suptech.store import engines
from suptech.store.database import open_store
from suptech.ingest.pipeline import ingest_files
from suptech.detect.base import REGISTRY
from suptech.detect.run import DATA
domain, backend, sim = sys.argv[1], sys.argv[2], Path(sys.argv[3])
if backend == "stock":
    engines._spark_backend = lambda session, shared_dir: ibis.pyspark.connect(session)
t = time.perf_counter()
store = open_store(Path(tempfile.mkdtemp()) / "spark", "spark")
out = {"open": time.perf_counter() - t}
t = time.perf_counter()
ingest_files(store, sorted(sim.glob("*.parquet")))
out["ingest"] = time.perf_counter() - t
t = time.perf_counter()
data = DATA[domain](store)
out["tables"] = time.perf_counter() - t
out["detectors"] = {}
for cls in REGISTRY.detectors.values():
    if cls.domain == domain:
        t = time.perf_counter()
        rows = cls().hits(data).to_pyarrow().num_rows
        out["detectors"][cls.id] = [time.perf_counter() - t, rows]
data.release()
store.close()
print(json.dumps(out))
"""


def simulate(domain: str, out: Path) -> None:
    # The data of tests/test_engine_conformance*.py.
    if domain == "payments":
        from suptech.simulate.payments_run import simulate_payments
        simulate_payments(out, seed=42, days=2, accounts=3_000, cases_per_typology=1)
    else:
        from suptech.simulate.market_run import simulate_market
        simulate_market(out, seed=31, days=1, instruments=2, scale="tiny")


def measure(domain: str, backend: str, sim: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, domain, backend, str(sim)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{domain} on the {backend} backend failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", choices=["payments", "market", "both"], default="both")
    args = parser.parse_args()
    print(f"# {platform.machine()}, {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    for domain in ["payments", "market"] if args.domain == "both" else [args.domain]:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Path(tmp) / "sim"
            simulate(domain, sim)
            runs = {b: measure(domain, b, sim) for b in ("stock", "kept")}
        print(f"\n## {domain}\n\n| | stock (cached frames) | kept (files) |\n|---|---|---|")
        for part in ("open", "ingest", "tables"):
            print(f"| {part} | {runs['stock'][part]:.1f} s | {runs['kept'][part]:.1f} s |")
        for name, (seconds, rows) in runs["stock"]["detectors"].items():
            kept_s, kept_rows = runs["kept"]["detectors"][name]
            same = "" if kept_rows == rows else f" ({kept_rows} hits against {rows})"
            print(f"| {name} | {seconds:.1f} s | {kept_s:.1f} s{same} |")
        total = {b: sum(s for s, _ in r["detectors"].values()) for b, r in runs.items()}
        print(f"| **detectors together** | {total['stock']:.1f} s | {total['kept']:.1f} s |")


if __name__ == "__main__":
    main()
