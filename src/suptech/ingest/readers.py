"""Turn a submitted file into a table of raw values, or say in one line why it can't be.

Readers never validate content; they only decode (see `raw`). This module picks the
reader by the file's format and reads CSV; `columnar` reads Parquet and Arrow IPC,
`jsonl` JSON Lines and `iso20022` pacs.008 XML.

CSV is read as RFC 4180 says and nothing more: every cell is text, so `NA` is
Namibia and `NULL` a name, never a missing value (an empty cell is empty); a quoted
value may span lines, but a quote left open swallows the lines after it, so a file
whose quoting does not close is refused whole, naming the row where it opened.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from suptech.ingest.columnar import arrow_table, columnar, read_arrow, read_parquet
from suptech.ingest.jsonl import read_jsonl
from suptech.ingest.limits import MAX_COLUMNS, MAX_HEADER_CHARS
from suptech.ingest.raw import ROW, LineProblem, RawFile, UnusableFile, short
from suptech.model.reports import REPORT_TYPES, ReportType, report_type

__all__ = ["ROW", "LineProblem", "RawFile", "UnusableFile", "arrow_table", "columnar",
           "detect_report_type", "file_format", "read_bytes", "read_file"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".xml": "xml", ".arrow": "arrow", ".arrows": "arrow"}
#: The report type a format holds whatever the file is called (ISO 20022 pacs.008).
FORMAT_TYPES = {"xml": "payment"}

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


def read_file(path: Path, data: bytes | None = None, submitter: str | None = None,
              rt: ReportType | None = None) -> RawFile:
    """Decode a file; `submitter` is the LEI ISO 20022 payments are reported under when
    a message names no LEI of its own; `rt` the report type it holds, when known (a
    typed file's column that names none of its fields is dropped, whatever its type)."""
    fmt = file_format(path)
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise UnusableFile("file is empty")
    fields = None if rt is None else rt.field_names
    if fmt == "parquet":
        return read_parquet(data, fields)
    if fmt == "arrow":
        return read_arrow(data, fields)
    if fmt == "xml":
        from suptech.ingest.iso20022 import read_pacs008
        return read_pacs008(data, submitter)
    text_problem = _text_encoding_problem(data)
    if text_problem:
        raise UnusableFile(text_problem)
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as spreadsheets write
        data = data[3:]
    return _read_csv(data) if fmt == "csv" else read_jsonl(data, fields)


#: Bytes text is made of: all but the C0 controls other than tab, line feed, form feed
#: and carriage return.
_TEXT_BYTES = bytes(b for b in range(256) if b >= 32 or b in b"\t\n\f\r")


def _text_encoding_problem(data: bytes) -> str | None:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "file is UTF-16 encoded; the specification requires UTF-8"
    if head.startswith(b"PAR1"):
        return "file is Parquet, not text: name it .parquet"
    # A NUL or two is a bad value of some row (rejected there, E002); a file of them is
    # not text at all.
    if b"\x00" in head and len(head.translate(None, _TEXT_BYTES)) > len(head) // 20:
        return "file is binary (contains NUL bytes), not UTF-8 text"
    return None


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
    if b"\n" not in data and b"\r" in data:  # old Mac line endings: CR alone
        data = data.replace(b"\r", b"\n")
    first_line = _LINE_END.split(data, 1)[0].decode("utf-8", errors="replace")
    if len(first_line) > MAX_HEADER_CHARS:
        raise UnusableFile(
            f"header line is {len(first_line):,} characters long: not a CSV header"
        )
    try:
        header = next(csv.reader([first_line], strict=True), [])
    except csv.Error as e:
        raise UnusableFile(f"header line is not valid CSV: {e}") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise UnusableFile("header row is empty")
    if len(header) > MAX_COLUMNS:
        raise UnusableFile(f"header has {len(header):,} columns, over the limit of "
                           f"{MAX_COLUMNS:,}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise UnusableFile(f"header repeats column(s) {', '.join(map(short, dupes))}")
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
                # Every cell is text: NA, NULL, NaN, #N/A are values, never missing.
                column_types={h: pa.string() for h in header}, strings_can_be_null=False
            ),
        )

    bad: list[tuple[int | None, str]] = []
    spans: list[bool] = []  # whether a skipped row ran over a line break

    def on_bad(row) -> str:
        spans.append("\n" in row.text or "\r" in row.text)
        bad.append((row.number, f"row has {row.actual_columns} fields, header has "
                                f"{row.expected_columns}"))
        return "skip"

    try:
        table = read(True, on_bad)
        if bad:  # only a single-threaded read knows the line numbers of bad rows
            bad.clear()
            table = read(False, on_bad)
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        raise UnusableFile(f"not readable as CSV: {short(str(e), 120)}") from None
    # Only a quoted value spans lines, and most files quote nothing.
    if any(spans) or (b'"' in data and _spans_lines(table)):
        problem = _quoting_problem(data)
        if problem:
            raise UnusableFile(problem)
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


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _spans_lines(table: pa.Table) -> bool:
    """Whether a value holds a line break: only a quoted value can, and a quote left
    open makes one of every line after it."""
    return any(pc.any(pc.match_substring_regex(c, r"[\r\n]")).as_py()
               for c in table.columns)


def _quoting_problem(data: bytes) -> str | None:
    """Where the file's quoting breaks RFC 4180 (a quote never closed, or closed and
    followed by more of the value), or None. Asked only of files whose values span
    lines, where pyarrow would have taken every line after an open quote as one value."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""),
                        strict=True)
    records = line = 0
    try:
        for _ in reader:
            records += 1
            line = reader.line_num
    except csv.Error as e:
        return (f"row {records} (line {line + 1}) opens a quoted value that is not closed "
                f"where it should be ({e}): it would swallow the lines after it")
    return None


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
