"""Turn a submitted file into a table of raw values, or say in one line why it can't be.

Readers never validate content; they only decode. A file that cannot be decoded as a
whole raises `UnusableFile`; a single line that cannot be decoded (a CSV row with the
wrong number of fields, a JSON line that is not an object, bytes that are not UTF-8)
becomes a `LineProblem` so that the rest of the file is still read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from suptech.model.reports import REPORT_TYPES, ReportType, report_type

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".xml": "xml", ".arrow": "arrow", ".arrows": "arrow"}
#: The report type a format holds whatever the file is called (ISO 20022 pacs.008).
FORMAT_TYPES = {"xml": "payment"}

#: Row number column carried through validation: the 1-based data row of the file.
ROW = "__row"


class UnusableFile(Exception):
    """The file as a whole cannot be read; the message is one line for the user.

    `code` is the feedback code the file's single feedback row carries.
    """

    def __init__(self, message: str, code: str = "E002"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LineProblem:
    """A record that could not be decoded; `row` None is a problem of the whole file
    that does not stop its records (an ISO 20022 group header failing its schema)."""

    row: int | None
    message: str
    code: str = "E002"
    field: str | None = None
    report_id: str | None = None


@dataclass
class RawFile:
    frame: pl.DataFrame  # raw columns as found, plus ROW
    problems: list[LineProblem]  # rows that could not be decoded (not in frame)
    columns: list[str]  # the header as found


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnusableFile(
            f"unsupported file extension {path.suffix or '(none)'!r}: use .csv, .parquet, "
            ".jsonl, .arrow (Arrow IPC) or .xml (ISO 20022 pacs.008)"
        )
    return fmt


def detect_report_type(path: Path, explicit: str | None = None) -> ReportType:
    """The report type comes from the file name's prefix unless it is given.

    An ISO 20022 file holds one report type whatever it is called.
    """
    implied = FORMAT_TYPES.get(FORMATS.get(path.suffix.lower(), ""))
    if implied:
        if explicit and explicit != implied:
            raise UnusableFile(f"a {path.suffix} file (ISO 20022 pacs.008) holds {implied} "
                               f"reports, not {explicit}", "E003")
        return REPORT_TYPES[implied]
    if explicit:
        try:
            return report_type(explicit)
        except ValueError as e:
            raise UnusableFile(str(e), "E003") from None
    stem = path.name.lower()
    # Longest names first so that a prefix like "order_event" wins over a shorter one.
    for name in sorted(REPORT_TYPES, key=len, reverse=True):
        if stem.startswith(name):
            return REPORT_TYPES[name]
    raise UnusableFile(
        "unknown report type: the file name must start with one of "
        f"{', '.join(REPORT_TYPES)} (or pass --type)", "E003"
    )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UnusableFile(f"cannot read file: {e.strerror or e}") from None


def read_file(path: Path, data: bytes | None = None, submitter: str | None = None) -> RawFile:
    """Decode a file; `submitter` is the LEI ISO 20022 payments are reported under when
    a message names no LEI of its own."""
    fmt = file_format(path)
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise UnusableFile("file is empty")
    if fmt == "parquet":
        return _read_parquet(data)
    if fmt == "arrow":
        return _read_arrow(data)
    if fmt == "xml":
        from suptech.ingest.iso20022 import read_pacs008
        return read_pacs008(data, submitter)
    text_problem = _text_encoding_problem(data)
    if text_problem:
        raise UnusableFile(text_problem)
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as spreadsheets write
        data = data[3:]
    return _read_csv(data) if fmt == "csv" else _read_jsonl(data)


def _text_encoding_problem(data: bytes) -> str | None:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "file is UTF-16 encoded; the specification requires UTF-8"
    if head.startswith(b"PAR1"):
        return "file is Parquet, not text: name it .parquet"
    if b"\x00" in head:
        return "file is binary (contains NUL bytes), not UTF-8 text"
    return None


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def _invalid_utf8_rows(frame: pl.DataFrame) -> pl.Series:
    """Rows holding U+FFFD, which lossy decoding put where bytes were not UTF-8."""
    strings = [c for c, t in frame.schema.items() if t == pl.String]
    if not strings:
        return pl.Series([False] * frame.height)
    return frame.select(
        pl.any_horizontal([pl.col(c).str.contains("\ufffd", literal=True) for c in strings])
        .fill_null(False)
    ).to_series()


def _read_csv(data: bytes) -> RawFile:
    first_line = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    if len(first_line) > 100_000:
        raise UnusableFile(
            f"header line is {len(first_line):,} characters long: not a CSV header"
        )
    header = next(csv.reader([first_line]))
    header = [h.strip() for h in header]
    if not any(header):
        raise UnusableFile("header row is empty")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise UnusableFile(f"header repeats column(s) {', '.join(map(_short, dupes))}")
    valid_utf8 = True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        valid_utf8 = False
        data = data.decode("utf-8", errors="replace").encode("utf-8")

    def read(threads: bool, on_bad) -> pa.Table:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=threads, column_names=header,
                                           skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                             invalid_row_handler=on_bad),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True
            ),
        )

    bad: list[tuple[int | None, str]] = []

    def on_bad(row) -> str:
        bad.append((row.number, f"row has {row.actual_columns} fields, header has "
                                f"{row.expected_columns}"))
        return "skip"

    try:
        table = read(True, on_bad)
        if bad:  # only a single-threaded read knows the line numbers of bad rows
            bad.clear()
            table = read(False, on_bad)
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        raise UnusableFile(f"not readable as CSV: {_short(str(e), 120)}") from None
    problems = [LineProblem((n or 1) - 1, msg) for n, msg in bad]
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(_row_numbers(frame.height, {p.row for p in problems}))
    if not valid_utf8:
        broken = _invalid_utf8_rows(frame)
        problems += [LineProblem(r, "row is not valid UTF-8 (the file must be UTF-8 encoded)")
                     for r in frame.filter(broken)[ROW].to_list()]
        frame = frame.filter(~broken)
    return RawFile(frame, sorted(problems, key=lambda p: p.row), header)


def _row_numbers(height: int, skipped: set[int]) -> pl.Series:
    """Data row numbers of the rows kept, counting the rows skipped as unreadable."""
    if not skipped:
        return pl.int_range(1, height + 1, eager=True, dtype=pl.Int64).alias(ROW)
    rows, n = [], 0
    while len(rows) < height:
        n += 1
        if n not in skipped:
            rows.append(n)
    return pl.Series(ROW, rows, dtype=pl.Int64)


def _read_parquet(data: bytes) -> RawFile:
    # Polars' reader is several times faster than pyarrow's plus a conversion; pyarrow
    # reads a few logical types polars does not, so it is the fallback.
    try:
        frame = pl.read_parquet(data)
    except Exception:  # noqa: BLE001 (any failure: let pyarrow try and explain)
        try:
            frame = pl.from_arrow(pq.read_table(io.BytesIO(data)))
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise UnusableFile(f"not a readable Parquet file: {_short(str(e), 120)}") from None
    assert isinstance(frame, pl.DataFrame)
    return columnar(frame, "Parquet")


def arrow_table(data: bytes) -> pa.Table:
    """Arrow IPC, as a file or as a stream (what a venue's Arrow writer sends)."""
    try:
        if data.startswith(b"ARROW1"):
            return pa.ipc.open_file(data).read_all()
        return _arrow_stream(data)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise UnusableFile(f"not readable as Arrow IPC: {_short(str(e), 120)}") from None


#: Arrow schemas by their encoded form: a venue's stream messages all begin with the
#: same one, and decoding it again took half the time of reading a small message.
_SCHEMAS: dict[bytes, pa.Schema] = {}


def _arrow_stream(data: bytes) -> pa.Table:
    reader = pa.BufferReader(data)
    try:
        first = pa.ipc.read_message(reader)
    except EOFError:  # no message at all: the reader below says what is wrong
        first = None
    key = first.metadata.to_pybytes() if first is not None and first.type == "schema" else None
    schema = _SCHEMAS.get(key)
    if schema is not None:
        batches = []
        while True:
            try:
                message = pa.ipc.read_message(reader)
            except EOFError:  # the end-of-stream marker, or the end of the bytes
                return pa.Table.from_batches(batches, schema)
            if message.type != "record batch":  # dictionaries: the whole reader's work
                break
            batches.append(pa.ipc.read_record_batch(message, schema))
    # A schema not seen yet, or a stream that is not plain batches.
    table = pa.ipc.open_stream(data).read_all()
    if key is not None and len(_SCHEMAS) < 1_000:
        _SCHEMAS[key] = table.schema
    return table


def _read_arrow(data: bytes) -> RawFile:
    frame = pl.from_arrow(arrow_table(data))
    assert isinstance(frame, pl.DataFrame)
    return columnar(frame, "Arrow")


def columnar(frame: pl.DataFrame, what: str) -> RawFile:
    """A decoded table's RawFile: names trimmed, rows numbered from 1."""
    if frame.width == 0:
        raise UnusableFile(f"{what} file has no columns")
    columns = [c.strip() for c in frame.columns]
    # One chunk: on a full-scale day's trade file (12 row groups) polars 2.1 panicked
    # in the checks' masks ("assertion failed: i < self.len()" in binview); copying the
    # columns into one chunk costs far less than the checks themselves.
    frame = frame.rechunk().rename(dict(zip(frame.columns, columns))) \
        .with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawFile(frame, [], columns)


_NUMBERLIKE = (int, float)


def _cell(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _NUMBERLIKE):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _read_jsonl(data: bytes) -> RawFile:
    valid_utf8 = True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        valid_utf8 = False
    records: list[dict] = []
    rows: list[int] = []
    problems: list[LineProblem] = []
    columns: dict[str, None] = {}
    row = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        row += 1
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            reason = "not valid UTF-8" if not valid_utf8 and _bad_utf8(line) else "not valid JSON"
            problems.append(LineProblem(row, f"line is {reason}: {_short(str(e), 60)}"))
            continue
        if not isinstance(obj, dict):
            problems.append(LineProblem(row, "line is not a JSON object"))
            continue
        # Our row-number column is not a field anyone may send.
        names_here = [k.strip() for k in obj if k.strip() != ROW]
        fields = {k.strip(): v for k, v in obj.items() if k.strip() != ROW}
        if len(fields) < len(names_here):
            problems.append(LineProblem(row, "line repeats a field (names equal once "
                                             "surrounding spaces are removed)"))
            continue
        for k in fields:
            columns.setdefault(k)
        records.append({k: _cell(v) for k, v in fields.items()})
        rows.append(row)
    names = list(columns)
    # Built from a dict, never selected by name: polars reads "*" and "^...$" in a
    # selection as patterns, and a sender may name a field so. The row numbers give a
    # height even to objects with no keys at all.
    frame = pl.DataFrame({**{c: pl.Series([r.get(c) for r in records], dtype=pl.String)
                             for c in names}, ROW: pl.Series(rows, dtype=pl.Int64)})
    return RawFile(frame, problems, names)


def _bad_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True

