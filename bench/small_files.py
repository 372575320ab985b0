"""Many small submissions: what a commit costs, and what reading the type costs after
them, with small version files merged as they accumulate (`suptech.store.listing`) and,
as the baseline in the same run, without (every commit's file kept and read).

    .venv/bin/python bench/small_files.py [--submissions 5000] [--reports 1]

Each submission is `--reports` payments handed to the server's committer in process
(`suptech.server.committer`: validated against its cached lookups, written, committed),
one at a time, as a quiet server stores single reports. Reads: the current view's row
count and the whole view as Arrow (`Store.query`), median of 5.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from api import payment  # noqa: E402

from suptech.server.committer import Committer  # noqa: E402
from suptech.server.services import Services  # noqa: E402
from suptech.store import listing  # noqa: E402
from suptech.store.database import open_store  # noqa: E402


def run(folder: Path, submissions: int, reports: int, merge: bool) -> dict:
    listing.COMPACT_AT = 64 if merge else 10**12
    store = open_store(folder)
    committer = Committer(store, threading.RLock())
    try:
        commits = []
        for k in range(submissions):
            records = [payment(f"S{k}", i) for i in range(reports)]
            t = time.perf_counter()
            pending = Services._pending("payment-api.jsonl", records, "payment",
                                        records[0]["submitter"])
            r = committer.submit(pending).result()
            commits.append(time.perf_counter() - t)
            assert r.summary.accepted == reports, r.feedback
        committer.close()
        view = store.view("payment")
        counts, reads = [], []
        for _ in range(5):
            t = time.perf_counter()
            n = view.count().to_pyarrow().as_py()
            counts.append(time.perf_counter() - t)
            t = time.perf_counter()
            rows = store.query("payment").num_rows
            reads.append(time.perf_counter() - t)
        assert n == rows == submissions * reports
        files = len(store.engine.listing.files("payment"))
    finally:
        store.close()
    c = np.array(commits) * 1e3
    return {"commit p50": np.percentile(c, 50), "commit p99": np.percentile(c, 99),
            "commit max": c.max(), "count": np.median(counts) * 1e3,
            "query": np.median(reads) * 1e3, "files": files}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--submissions", type=int, default=5000)
    ap.add_argument("--reports", type=int, default=1)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
          f"{args.submissions:,} submissions of {args.reports} payment(s) each")
    work = Path(tempfile.mkdtemp(prefix="suptech-bench-small-"))
    try:
        for merge in (True, False):
            f = run(work / ("merged" if merge else "kept"), args.submissions, args.reports, merge)
            print(f"{'small files merged' if merge else 'baseline, every file kept'}: "
                  f"commit p50 {f['commit p50']:.1f} ms, p99 {f['commit p99']:.1f} ms, "
                  f"max {f['commit max']:.0f} ms; files listed {f['files']:,}; "
                  f"then the view's count {f['count']:.0f} ms, the whole view {f['query']:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
