"""Raw columns to typed columns, whole columns at a time.

Each field's raw column (a string from CSV or JSON Lines, or whatever type a Parquet
file carries) becomes a column of its storage type. A value that is present but cannot
be converted becomes null in the typed column and is flagged, so that the checks see
"missing" (E001) and "unparsable" (E002) as two different things.
"""

from __future__ import annotations

import functools

import polars as pl

from suptech.model.reports import DECIMAL_PRECISION, DECIMAL_SCALE, Field, Kind, ReportType

DECIMAL = pl.Decimal(DECIMAL_PRECISION, DECIMAL_SCALE)

STORAGE_DTYPES: dict[Kind, pl.DataType] = {
    Kind.TIMESTAMP: pl.Int64(),
    Kind.DECIMAL: DECIMAL,
    Kind.INTEGER: pl.Int64(),
    Kind.DATE: pl.Date(),
    Kind.BOOLEAN: pl.Boolean(),
}

# RFC 3339 / ISO 8601 with a UTC offset, up to nanoseconds. Second 60 (a leap second)
# is refused rather than read as the next day's midnight, as the parser would.
_TIMESTAMP = (r"^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?"
              r"(Z|z|[+-]\d{2}:?\d{2})$")
_DATE = r"^\d{4}-\d{2}-\d{2}$"
#: Years whose every moment int64 nanoseconds hold (1677-09-21 to 2262-04-11): the
#: parser wraps a moment outside them round to another year without a word.
_NS_YEARS = (1678, 2261)
#: Years a date may have: those Python, DuckDB and Spark all hold.
_DATE_YEARS = (1, 9999)
_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
_TRUE = ("true", "1", "t", "yes", "y")
_FALSE = ("false", "0", "f", "no", "n")


def storage_dtype(kind: Kind) -> pl.DataType:
    return STORAGE_DTYPES.get(kind, pl.String())


def raw_name(field: str) -> str:
    return f"raw__{field}"


def unparsable_name(field: str) -> str:
    return f"bad__{field}"


def _from_string(kind: Kind, c: pl.Expr) -> pl.Expr:
    if kind is Kind.DECIMAL:
        return c.cast(DECIMAL, strict=False)
    if kind is Kind.INTEGER:
        return c.cast(pl.Int64, strict=False)
    if kind is Kind.BOOLEAN:
        low = c.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    if kind is Kind.DATE:
        return pl.when(c.str.contains(_DATE)).then(
            _in_date_range(c.str.to_date("%Y-%m-%d", strict=False)))
    if kind is Kind.TIMESTAMP:
        normal = c.str.replace(r"[Zz]$", "+00:00").str.replace(" ", "T", literal=True, n=1)
        parsed = normal.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%z", time_unit="ns", time_zone="UTC", strict=False
        )
        # The format's %.f accepts more than nine digits and no offset at all; the
        # pattern holds the line the specification draws.
        year = c.str.slice(0, 4).cast(pl.Int32, strict=False)
        return pl.when(c.str.contains(_TIMESTAMP) & year.is_between(*_NS_YEARS)) \
            .then(parsed.dt.epoch("ns"))
    return c


def _in_date_range(date: pl.Expr) -> pl.Expr:
    return pl.when(date.dt.year().is_between(*_DATE_YEARS)).then(date)


def _datetime_ns(c: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """Nanoseconds since the epoch of a typed datetime; null where int64 cannot hold them."""
    unit = dtype.time_unit or "us"
    value, factor = c.dt.epoch(unit), _NS_PER[unit]
    return pl.when(value.abs() <= (2**63 - 1) // factor).then(value * factor)


def _from_native(kind: Kind, c: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Conversion of a typed (Parquet) column; None when the type cannot hold the kind."""
    if kind is Kind.DECIMAL and (dtype.is_numeric()):
        if dtype.is_float():
            c = pl.when(c.is_finite()).then(c)
        return c.cast(DECIMAL, strict=False)
    if kind is Kind.INTEGER and dtype.is_integer():
        return c.cast(pl.Int64, strict=False)
    if kind is Kind.INTEGER and dtype.is_float():
        return pl.when(c.is_finite() & (c == c.round(0))).then(c.cast(pl.Int64, strict=False))
    if kind is Kind.TIMESTAMP and dtype.is_integer():
        return c.cast(pl.Int64, strict=False)  # nanoseconds since the epoch, UTC
    if kind is Kind.TIMESTAMP and isinstance(dtype, pl.Datetime):
        return _datetime_ns(c, dtype)
    if kind is Kind.DATE and isinstance(dtype, pl.Date):
        return _in_date_range(c)
    if kind is Kind.DATE and isinstance(dtype, pl.Datetime):
        return _in_date_range(c.dt.date())
    if kind is Kind.BOOLEAN and isinstance(dtype, pl.Boolean):
        return c
    if kind is Kind.BOOLEAN and dtype.is_integer():
        return pl.when(c == 1).then(True).when(c == 0).then(False)
    if kind in (Kind.TIMESTAMP, Kind.DECIMAL, Kind.INTEGER, Kind.DATE, Kind.BOOLEAN):
        return None
    if dtype.is_numeric() or isinstance(dtype, (pl.Categorical, pl.Enum, pl.Boolean)):
        return c.cast(pl.String)
    return None


def parse_expressions(field: Field, dtype: pl.DataType | None,
                      has_empty: bool = True) -> list[pl.Expr]:
    """The typed column `field.name` and the flag `bad__<field>` for one field.

    `has_empty`: whether a text column holds "" anywhere (the same as missing).
    """
    target = storage_dtype(field.kind)
    raw = pl.col(raw_name(field.name))
    if dtype is None:  # optional column absent from the file
        return [pl.lit(None, dtype=target).alias(field.name),
                pl.lit(False).alias(unparsable_name(field.name))]
    if dtype == target and not (dtype == pl.String and has_empty):
        # Already the stored type (a typed Parquet column, or text without empty
        # values): the column itself, not a copy, and nothing can be unparsable.
        return [raw.alias(field.name), pl.lit(False).alias(unparsable_name(field.name))]
    if dtype == pl.String:
        present = raw.is_not_null() & (raw != "")
        typed = _from_string(field.kind, raw)
    elif dtype == pl.Null:
        present = pl.lit(False)
        typed = pl.lit(None)
    else:
        present = raw.is_not_null()
        typed = _from_native(field.kind, raw, dtype)
        if typed is None:  # nested or otherwise unusable type: every value is unparsable
            typed = pl.lit(None)
    typed = pl.when(present).then(typed).cast(target)
    return [typed.alias(field.name), (present & typed.is_null()).alias(unparsable_name(field.name))]


def typed_frame(raw: pl.DataFrame, rt: ReportType, row: str) -> pl.DataFrame:
    """Raw columns renamed `raw__<field>`, typed columns, and unparsable flags."""
    known = {f.name for f in rt.all_fields}
    frame = raw.select(
        pl.col(row), *(pl.col(c).alias(raw_name(c)) for c in raw.columns if c in known)
    )
    schema = raw.schema
    texts = [f.name for f in rt.all_fields
             if schema.get(f.name) == pl.String and storage_dtype(f.kind) == pl.String]
    empty = raw.select(pl.col(c).eq("").any().alias(c) for c in texts).row(0, named=True) \
        if texts and raw.height else {}
    shape = tuple((schema.get(f.name), empty.get(f.name, True)) for f in rt.all_fields)
    return frame.with_columns(_typing(rt, shape))


@functools.lru_cache(maxsize=256)
def _typing(rt: ReportType, shape: tuple) -> tuple[pl.Expr, ...]:
    """The expressions typing a file of this shape (each field's raw type, and whether
    it holds ""): built once for the many alike batches of a stream."""
    return tuple(e for f, (dtype, has_empty) in zip(rt.all_fields, shape)
                 for e in parse_expressions(f, dtype, has_empty))
