"""Fuzzing ingest over all four input formats, with a fixed budget (hypothesis).

Each example is a payment file (payments name no reference data, so a valid one is
valid alone) of valid records and records with one field set to an arbitrary value,
written as CSV, JSON Lines, Parquet or pacs.008 XML, and sometimes with some of its
bytes then changed. Whatever the file, ingest never raises; a file it reads accounts
for every record; a file it refuses says why in one line; and where only values were
changed, every valid record is stored.
"""

from __future__ import annotations

import io
import json
import uuid

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from builders import BANK, csv_text, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suptech.formats.pacs008 import write_pacs008
from suptech.ingest.pipeline import ingest_file
from suptech.store.database import open_store

FORMATS = ("csv", "jsonl", "parquet", "xml")
FIELDS = list(record("payment"))
# Text a field may be set to: any Unicode, the shapes validation looks for, and what
# breaks readers (quotes, separators, line breaks, NUL, spellings of null).
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "NA", "NULL", "nan", '"', '",', "\n", "\r", "\x00", "-1", "1e999",
                     "12345678901234567890.123456789", "2026-03-02T23:59:60+08:00",
                     "-0001-01-01T00:00:00+00:00", "=HYPERLINK(1)", "CNY", "true"]),
)


def _payment(n: int) -> dict[str, str | None]:
    return record("payment", n, submitter=BANK, payment_id=str(uuid.UUID(int=n, version=4)))


def _encode(records: list[dict], fmt: str, path) -> bytes:
    if fmt == "csv":
        return csv_text(records).encode("utf-8", errors="surrogatepass")
    if fmt == "jsonl":
        return b"".join(json.dumps(r).encode() + b"\n" for r in records)
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(pa.table({k: [r[k] for r in records] for k in records[0]}), sink)
        return sink.getvalue()
    frame = pl.DataFrame(records, schema={c: pl.String for c in records[0]})
    return write_pacs008(frame, path).read_bytes()


@st.composite
def files(draw):
    fmt = draw(st.sampled_from(FORMATS))
    valid = [_payment(n) for n in range(1, draw(st.integers(1, 4)) + 1)]
    changed = []
    for n in range(100, 100 + draw(st.integers(0, 3))):
        rec = _payment(n)
        rec[draw(st.sampled_from(FIELDS))] = draw(VALUES)
        changed.append(rec)
    flips = draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                          max_size=3))
    return fmt, valid, changed, flips


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(example=files())
def test_no_file_makes_ingest_raise_or_lose_a_valid_record(tmp_path_factory, example):
    fmt, valid, changed, flips = example
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"payment-fuzz.{fmt}"
    try:
        data = bytearray(_encode(valid + changed, fmt, path))
    except (UnicodeEncodeError, ValueError, pa.ArrowException):
        return  # a value no writer of this format can write (a lone surrogate)
    for where, byte in flips:
        data[int(where * len(data))] = byte
    store = open_store(folder / "db")
    try:
        result = ingest_file(store, path, data=bytes(data), owner=BANK)
        stored = set(pl.from_arrow(store.query("payment"))["report_id"])
    finally:
        store.close()
    s = result.summary
    if s.unusable:
        assert s.error and "\n" not in s.error and stored == set()
        assert flips or fmt == "xml", s.error  # a control character is not well-formed XML
        return
    assert s.accepted + s.rejected == s.rows and len(stored) == s.accepted
    if not flips:
        assert {r["report_id"] for r in valid} <= stored, result.feedback
