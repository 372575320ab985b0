"""A hostile corpus through `suptech ingest`: several thousand malformed files in every
input format, each run as a user would run it (the real CLI), counting tracebacks,
hangs, exit codes other than 0 and 2, valid rows lost, and peak memory.

The corpus is made here (seeded), in the style of the red team's: values that break
readers or validation (null spellings, quotes, line breaks, NUL, huge and exotic
numbers, dates outside the calendar, formulas), structure that breaks readers (stray
quotes, CR line endings, deep nesting, thousands of keys, repeated keys, Parquet
columns of list, map, binary, duration and far-future timestamp types, bytes that are
not UTF-8, XML elements of thousands of attributes, messages all of whose
transactions fail), byte flips and truncation. Each file holds valid payment records
(`V-...`); where the breakage leaves them intact by construction, every one must be
stored. Files run in chunks, one process per chunk: a chunk's peak RSS bounds the
peak of each of its files.

    .venv/bin/python bench/hostile.py [--files 3000] [--chunk 150] [--timeout 120]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from builders import BANK, csv_text, record  # noqa: E402

FORMATS = ("csv", "jsonl", "parquet", "xml")
VALUES = ["", "NA", "N/A", "NULL", "null", "NaN", "#N/A", '"', '","', "a\nb", "\r", "\x00",
          "-1", "1e999", "12345678901234567890123.45", "0.000000000001", "1234567890123456.78",
          "2026-03-02T23:59:60+08:00", "-0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59Z",
          "=HYPERLINK(\"x\")", "+1", "@SUM(1)", "é" * 300, "\ud7ff", "x" * 5000, "CNY",
          "true", "<", "&amp;", "]]>", "\u202e", "NUL\x00L", " ", "\t"]
STRUCTURE = {
    "csv": ["stray_quote", "cr_endings", "ragged", "latin1", "bom", "huge_header"],
    "jsonl": ["deep", "many_keys", "repeated_key", "not_object", "big_int", "surrogate"],
    "parquet": ["list", "map", "binary", "duration", "far_time", "uint64", "bad_utf8",
                "same_names", "row_column"],
    "xml": ["attributes", "all_fail", "dtd", "foreign_root"],
}
# Kinds after which the valid records are still intact, by construction.
KEEPS_VALID = {"values", "cr_endings", "ragged", "bom", "deep", "many_keys", "repeated_key",
               "not_object", "big_int", "surrogate", "list", "map", "binary", "duration",
               "far_time", "uint64", "row_column", "attributes"}
CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def payment(tag: str, n: int) -> dict:
    return record("payment", n, report_id=f"{tag}-{n}", submitter=BANK,
                  payment_id=str(uuid.uuid4()))


def encode(records: list[dict], fmt: str, path: Path, **columns) -> bytes:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "csv":
        return csv_text(records).encode("utf-8", errors="replace")
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8", errors="replace")
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(pa.table({**{k: [r[k] for r in records] for k in records[0]},
                                 **columns}), sink)
        return sink.getvalue()
    from suptech.formats.pacs008 import write_pacs008
    frame = pl.DataFrame(records, schema={c: pl.String for c in records[0]})
    return write_pacs008(frame, path).read_bytes()


def make(i: int, folder: Path, rnd: random.Random) -> tuple[Path, str, list[str]]:
    """File i of the corpus: its path, kind, and the report ids that must be stored."""
    import datetime as dt

    import pyarrow as pa

    fmt = FORMATS[i % len(FORMATS)]
    tag = f"V{i}"
    path = folder / f"payment-{i:05d}.{fmt}"
    valid = [payment(tag, n) for n in range(rnd.randint(1, 30))] or [payment(tag, 0)]
    bad = [payment(f"B{i}", n) for n in range(rnd.randint(0, 10))]
    for b in bad:
        b[rnd.choice(list(b))] = rnd.choice(VALUES)
    kind = rnd.choice(["values", "values", "flip", "truncate", *STRUCTURE[fmt]])
    columns: dict = {}
    records = valid + bad
    if fmt == "parquet" and kind in STRUCTURE["parquet"]:
        n = len(records)
        columns = {
            "list": {"note": pa.array([["a"]] * n)},
            "map": {"extra": pa.array([[("k", 1)]] * n, pa.map_(pa.string(), pa.int64()))},
            "binary": {"purpose": pa.array([b"SALA"] * len(valid) + [b"\xff"] * len(bad),
                                           pa.binary())},
            "duration": {"lag": pa.array([dt.timedelta(1)] * n)},
            "far_time": {"ts_event": pa.array([dt.datetime(2026, 3, 2, 1)] * len(valid)
                                              + [dt.datetime(3000, 1, 1)] * len(bad),
                                              pa.timestamp("us"))},
            "uint64": {"ts_event": pa.array([1772415000000000000] * len(valid)
                                            + [2**63 + 1] * len(bad), pa.uint64())},
            "bad_utf8": {},
            "same_names": {" amount": pa.array(["1"] * n)},
            "row_column": {"__row": pa.array([7] * n)},
        }[kind]
        if kind in ("binary", "far_time", "uint64"):
            records = [{k: v for k, v in r.items() if k not in columns} for r in records]
    data = bytearray(encode(records, fmt, path, **columns))
    text = data.decode("utf-8", errors="replace")
    if kind == "flip":
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif kind == "truncate":
        data = data[:rnd.randrange(1, len(data))]
    elif kind == "stray_quote":
        lines = text.split("\n")
        k = rnd.randrange(1, len(lines) - 1)
        lines[k] = lines[k].replace(",", ',"', 1)
        data = bytearray("\n".join(lines).encode())
    elif kind == "cr_endings":
        data = bytearray(text.replace("\n", "\r").encode())
    elif kind == "ragged":
        data = bytearray((text + "a,b\n").encode())
    elif kind == "latin1":
        data = bytearray(text.replace("SALA", "SALÁ").encode("latin-1", errors="replace"))
    elif kind == "bom":
        data = bytearray(b"\xef\xbb\xbf" + bytes(data))
    elif kind == "huge_header":
        data = bytearray(b"x," * 200_000 + b"\n" + bytes(data))
    elif kind == "deep":
        depth = rnd.choice([40, 300, 1024, 20_000])
        data += ('{"x": ' + "[" * depth + "]" * depth + "}\n").encode()
    elif kind == "many_keys":
        data += (json.dumps({f"k{j}": 1 for j in range(rnd.choice([2_000, 100_000]))})
                 + "\n").encode()
    elif kind == "repeated_key":
        data += b'{"report_id": "R1", "report_id": "R2"}\n'
    elif kind == "not_object":
        data += b'[1, 2, 3]\n"text"\n'
    elif kind == "big_int":
        data += b'{"report_id": "BI", "amount": 123456789012345678901234567890}\n'
    elif kind == "surrogate":
        data += b'{"report_id": "\\ud800"}\n'
    elif kind == "bad_utf8":
        data = bytearray(bytes(data).replace(b"SALA", b"S\xffLA", 1))
    elif kind == "attributes":
        attrs = " ".join(f'a{k}="x"' for k in range(rnd.choice([100, 5_000, 100_000])))
        at = text.rfind("<CdtTrfTxInf>")
        data = bytearray((text[:at] + f"<CdtTrfTxInf {attrs}>" + text[at + 13:]).encode())
        valid = valid[:-1] if not bad else valid  # the last transaction is the one refused
    elif kind == "all_fail":
        data = bytearray(text.replace('Ccy="CNY"', 'Ccy="cny1"').encode())
        valid = []
    elif kind == "dtd":
        data = bytearray(text.replace("<Document", '<!DOCTYPE d [<!ENTITY e "x">]><Document', 1)
                         .encode())
    elif kind == "foreign_root":
        data = bytearray(text.replace("pacs.008.001.08", "pacs.009.001.08").encode())
    path.write_bytes(bytes(data))
    # XML 1.0 has no way to write a control character: such a value breaks the file.
    broken_xml = fmt == "xml" and any(set(str(v)) & CONTROL for b in bad for v in b.values())
    must = [r["report_id"] for r in valid] if kind in KEEPS_VALID and not broken_xml else []
    return path, kind, must


def run_chunk(paths: list[str], data_dir: str, timeout: int) -> list[dict]:
    """Each file through the real CLI, in this process; a file past `timeout` is a hang."""
    from typer.testing import CliRunner

    from suptech.cli import app

    runner, out = CliRunner(), []

    def alarm(*_):
        raise TimeoutError

    signal.signal(signal.SIGALRM, alarm)
    for p in paths:
        start = time.perf_counter()
        signal.alarm(timeout)
        try:
            r = runner.invoke(app, ["ingest", p, "--data-dir", data_dir])
            code, exc = r.exit_code, r.exception
            tb = "Traceback" in r.output or (exc is not None and not isinstance(exc, SystemExit))
            hang = isinstance(exc, TimeoutError)
            detail = "".join(traceback.format_exception(exc))[-600:] if tb else ""
        except TimeoutError:
            code, tb, hang, detail = None, False, True, ""
        finally:
            signal.alarm(0)
        out.append({"path": p, "exit": code, "traceback": tb and not hang, "hang": hang,
                    "seconds": time.perf_counter() - start, "detail": detail})
    from suptech.store.database import open_store
    store = open_store(data_dir)
    try:
        stored = set(store.query("payment").column("report_id").to_pylist())
    finally:
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{**o, "peak_mb": rss, "stored": stored} for o in out]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--chunk", type=int, default=150)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        listing, data_dir = args.worker
        rows = run_chunk(Path(listing).read_text().split("\n"), data_dir, args.timeout)
        for r in rows:
            r["stored"] = sorted(r["stored"])
        sys.stdout.write(json.dumps(rows))
        return
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        made = [make(i, folder, rnd) for i in range(args.files)]
        print(f"corpus: {len(made):,} files, {sum(p.stat().st_size for p, *_ in made) / 1e6:,.1f}"
              f" MB, made in {time.perf_counter() - t0:.0f} s")
        chunks = [made[i:i + args.chunk] for i in range(0, len(made), args.chunk)]
        procs = []
        for k, chunk in enumerate(chunks):
            listing = folder / f"chunk{k}.txt"
            listing.write_text("\n".join(str(p) for p, *_ in chunk))
            procs.append(([sys.executable, __file__, "--worker", str(listing),
                           str(folder / f"db{k}"), "--timeout", str(args.timeout)], chunk))
        results, t0 = [], time.perf_counter()
        running: list = []
        cores = os.cpu_count() or 2
        while procs or running:
            while procs and len(running) < cores:
                cmd, chunk = procs.pop(0)
                running.append((subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                 stderr=subprocess.DEVNULL), chunk))
            proc, chunk = running.pop(0)
            rows = json.loads(proc.communicate()[0] or "[]")
            by_path = {r["path"]: r for r in rows}
            for p, kind, must in chunk:
                r = by_path.get(str(p), {"exit": None, "traceback": True, "hang": False,
                                         "seconds": 0, "peak_mb": 0, "stored": [],
                                         "detail": "worker died"})
                lost = [m for m in must if m not in set(r["stored"])]
                results.append({**r, "kind": kind, "fmt": p.suffix[1:], "lost": lost,
                                "must": len(must)})
        wall = time.perf_counter() - t0
    report(results, wall)


def report(results: list[dict], wall: float) -> None:
    from collections import Counter

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"files run: {len(results):,} in {wall:.0f} s "
          f"(mean {sum(r['seconds'] for r in results) / len(results):.2f} s a file, "
          f"slowest {max(r['seconds'] for r in results):.1f} s)")
    print("by format:", dict(Counter(r["fmt"] for r in results)))
    print("exit codes:", dict(Counter(str(r["exit"]) for r in results)))
    print(f"tracebacks: {sum(r['traceback'] for r in results)}, hangs: "
          f"{sum(r['hang'] for r in results)}")
    print(f"valid rows that had to be stored: {sum(r['must'] for r in results):,}; lost: "
          f"{sum(len(r['lost']) for r in results):,}")
    print(f"peak RSS of a chunk (bounds each of its files): "
          f"{max(r['peak_mb'] for r in results):,.0f} MB")
    print("by kind (files, exit 2, lost):")
    for kind in sorted({r["kind"] for r in results}):
        rs = [r for r in results if r["kind"] == kind]
        print(f"  {kind:14s} {len(rs):5d} {sum(r['exit'] == 2 for r in rs):5d} "
              f"{sum(len(r['lost']) for r in rs):5d}")
    for r in [r for r in results if r["traceback"] or r["hang"] or r["lost"]
              or r["exit"] not in (0, 2)][:10]:
        print("FAILED", r["kind"], r["path"], r["exit"], r["lost"][:3], r["detail"])


if __name__ == "__main__":
    main()
