"""Typed files (Parquet, Arrow IPC) to the raw columns a report type's fields are read from.

A typed file may carry what no report field can hold: lists, structs, maps, durations,
times of day, bytes that are not UTF-8 text (a binary column, or a string column whose
writer did not check its bytes). Each such value is a finding of its own row: a column
of such a type that names a report field rejects the rows where it holds a value, with
an E002 row naming the field; one that names no field is dropped, as every unknown
column is. Nothing here lets one odd column lose the file.
"""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from suptech.ingest.limits import MAX_COLUMNS
from suptech.ingest.raw import ROW, LineProblem, RawFile, UnusableFile, short

#: Column types a report field's value can be read from (see `parse`).
_SCALAR = (pl.String, pl.Boolean, pl.Date, pl.Datetime, pl.Decimal, pl.Null,
           pl.Categorical, pl.Enum)


def _scalar(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, _SCALAR)


def from_arrow(table: pa.Table) -> pl.DataFrame:
    """Polars' frame of an Arrow table. pyarrow does not check that a string column's
    bytes are UTF-8 and polars panics on those that are not, so such a column comes as
    binary, whose values `columnar` checks one by one."""
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(i)
            if not _utf8_valid(column):
                binary = pa.large_binary() if pa.types.is_large_string(field.type) else pa.binary()
                table = table.set_column(i, field.name, column.cast(binary))
    frame = pl.from_arrow(table, rechunk=False)  # `columnar` makes one chunk
    assert isinstance(frame, pl.DataFrame)
    return frame


def _utf8_valid(column: pa.ChunkedArray) -> bool:
    # Bytes all ASCII are UTF-8 whatever the offsets: one pass over each data buffer,
    # several times cheaper than Arrow's full validation, which checks the rest.
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is not None and not bytes(data).isascii():
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                return False
    return True


def read_parquet(data: bytes, fields: frozenset[str] | None) -> RawFile:
    # Polars' reader is several times faster than pyarrow's plus a conversion; pyarrow
    # reads a few logical types polars does not (and strings polars finds not UTF-8),
    # so it is the fallback.
    try:
        frame = pl.read_parquet(data)
    # A panic in polars' Rust code is a BaseException.
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 (let pyarrow explain)
        try:
            frame = from_arrow(pq.read_table(io.BytesIO(data)))
        except (Exception, pl.exceptions.PanicException) as e:  # several types for corrupt files
            raise UnusableFile(f"not a readable Parquet file: {short(str(e), 120)}") from None
    return columnar(frame, "Parquet", fields)


def arrow_table(data: bytes) -> pa.Table:
    """Arrow IPC, as a file or as a stream (what a venue's Arrow writer sends)."""
    try:
        if data.startswith(b"ARROW1"):
            return pa.ipc.open_file(data).read_all()
        return _arrow_stream(data)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise UnusableFile(f"not readable as Arrow IPC: {short(str(e), 120)}") from None


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


def read_arrow(data: bytes, fields: frozenset[str] | None) -> RawFile:
    return columnar(from_arrow(arrow_table(data)), "Arrow", fields)


def columnar(frame: pl.DataFrame, what: str, fields: frozenset[str] | None = None) -> RawFile:
    """A decoded table's RawFile: names trimmed, rows numbered from 1, and the values no
    report field can hold taken out as findings of their rows (see the module doc).

    `fields`: the report type's field names; None treats every column as one."""
    if frame.width == 0:
        raise UnusableFile(f"{what} file has no columns")
    if frame.width > MAX_COLUMNS:
        raise UnusableFile(f"{what} file has {frame.width:,} columns, over the limit of "
                           f"{MAX_COLUMNS:,}")
    names = [c.strip() for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UnusableFile(f"{what} file has columns whose names are equal once surrounding "
                           f"spaces are removed: {', '.join(repr(short(d)) for d in dupes)}")
    frame = frame.rename(dict(zip(frame.columns, names)))
    if ROW in names:  # our row-number column is not a field anyone may send
        frame = frame.drop(ROW)
    # The columns stay in the chunks they were read in (a Parquet file's row groups):
    # polars 2.1 panicked on them in the checks' masks, 2.2 does not, and copying a
    # full-scale day's order events into one chunk took a sixth of its ingest.
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    problems: list[LineProblem] = []
    rejected: set[int] = set()
    for name, dtype in list(frame.schema.items()):
        if name == ROW or _scalar(dtype):
            continue
        if fields is not None and name not in fields:
            frame = frame.drop(name)
            continue
        if dtype == pl.Binary:
            text, bad = _utf8(frame[name])
            frame = frame.with_columns(text)
            rows = [r for r, b in zip(frame[ROW].to_list(), bad) if b]
            reason = f"{name} is not valid UTF-8 text"
        else:
            rows = frame.filter(pl.col(name).is_not_null())[ROW].to_list()
            reason = f"{name} is a {what} value of type {dtype}, not a single value"
            # Its rows are rejected; what is left of it is missing, as text.
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
        problems += [LineProblem(r, reason, "E002", name) for r in rows]
        rejected.update(rows)
    if rejected:
        frame = frame.filter(~pl.col(ROW).is_in(sorted(rejected)))
    return RawFile(frame, sorted(problems, key=lambda p: p.row or 0),
                   [c for c in names if c != ROW])


def _utf8(column: pl.Series) -> tuple[pl.Series, list[bool]]:
    """A binary column as text, and where its bytes were not UTF-8 (those null)."""
    values, bad = [], []
    for v in column.to_list():
        try:
            values.append(None if v is None else v.decode("utf-8"))
            bad.append(False)
        except UnicodeDecodeError:
            values.append(None)
            bad.append(True)
    return pl.Series(column.name, values, dtype=pl.String), bad
