"""JSON Lines to raw columns: each line one record, each value kept as its text.

Numbers are kept as written. orjson reads a line several times faster than the
standard library but makes a binary float of 1234567890123456.78, so a line that holds
a non-integer number (or an integer over 64 bits, or anything orjson refuses) is read
again by the standard library with its digits kept: an amount is never rounded. A line
that repeats a key, holds more than MAX_KEYS keys, nests deeper than MAX_DEPTH or would
take the file past MAX_COLUMNS distinct field names is rejected on its own, with a
feedback row that says so; the lines around it are read as usual.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import polars as pl

from suptech.ingest.limits import MAX_COLUMNS, MAX_DEPTH, MAX_KEYS
from suptech.ingest.raw import ROW, LineProblem, RawFile, short

#: Where a key may end: `"name" :`. Counting these over-approximates a line's keys
#: (a string may hold `":` too), which is all the check for repeated keys needs.
_KEY_END = re.compile(rb'"\s*:')


REPEATS = "line repeats a field (names equal once surrounding spaces are removed)"
TOO_DEEP = f"line nests values deeper than {MAX_DEPTH} levels"


class _Refused(ValueError):
    """A line that is JSON but not a record we take; the message says why."""


def _repeats(names: list[str]) -> bool:
    trimmed = [n.strip() for n in names]
    return len(set(trimmed)) < len(trimmed)


def _too_many_keys(n: int) -> _Refused:
    return _Refused(f"line holds {n:,} keys, over the limit of {MAX_KEYS:,}")


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    if _repeats([k for k, _ in pairs]):
        raise _Refused(REPEATS)
    if len(pairs) > MAX_KEYS:
        raise _too_many_keys(len(pairs))
    return dict(pairs)


def exact_number(text: str) -> str:
    """A JSON number with a fraction or exponent, as decimal digits (never a float)."""
    if "e" not in text and "E" not in text:
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    # A huge exponent would spell out a giant string: leave it as written.
    return format(value, "f") if abs(value.as_tuple().exponent) <= 60 else text


def _constant(name: str):
    raise _Refused(f"line is not valid JSON: {name} is not a JSON number")


def _exact(line: bytes) -> object:
    obj = json.loads(line, parse_float=exact_number, parse_int=str, parse_constant=_constant,
                     object_pairs_hook=_pairs)
    orjson.dumps(obj)  # the checks orjson makes: no lone surrogates, no deep nesting
    return obj


def _too_deep(value: object) -> bool:
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = v.values() if isinstance(v, dict) else v
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _cell(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def _keys_written(line: bytes) -> int:
    """At least as many as the keys the line writes. Where no quote is followed by
    JSON whitespace, every key ends `":` (counting those inside strings too only sends
    a line the long way round)."""
    if b'" ' in line or b'"\t' in line or b'"\r' in line:
        return len(_KEY_END.findall(line))
    return line.count(b'":')


def _parse(line: bytes) -> object:
    """A line's JSON value, numbers with a fraction as their digits; _Refused or
    ValueError saying why there is none. A key written twice is read by `_exact`,
    which refuses the line (orjson keeps one of the two)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if obj is None or (isinstance(obj, dict) and (
            _keys_written(line) > len(obj)
            or not _TEXT.issuperset(map(type, obj.values()))
            and any(isinstance(v, float) for v in obj.values()))):
        try:
            obj = _exact(line)
        except RecursionError:
            raise _Refused(TOO_DEEP) from None
        except orjson.JSONEncodeError as e:
            raise _Refused(f"line is not valid JSON: {short(str(e), 60)}") from None
    return obj


#: The types of a record's values that are kept as they are.
_TEXT = frozenset({str, type(None)})


class _Columns:
    """Decoded records, checked one by one, to a RawFile of text columns.

    `fields`: the report type's field names, which never count against MAX_COLUMNS
    (a record that names only those is taken however many names the ones before it
    used)."""

    def __init__(self, fields: frozenset[str] | None):
        self.fields = fields
        self.records: list[dict] = []
        self.rows: list[int] = []
        self.problems: list[LineProblem] = []
        self.columns: dict[str, None] = {}
        self.extra = 0  # names outside `fields` so far
        #: Names already columns that need no trimming and are not ROW: a record of
        #: only those, every value text or null, is taken as it is (nearly every one).
        self.plain: set[str] = set()

    def add(self, row: int, obj: object) -> None:
        if type(obj) is dict and len(obj) <= MAX_KEYS and self.plain.issuperset(obj) \
                and _TEXT.issuperset(map(type, obj.values())):
            self.records.append(obj)
            self.rows.append(row)
            return
        try:
            record = self._record(obj)
        except _Refused as e:
            self.problems.append(LineProblem(row, str(e)))
            return
        self.records.append({k: _cell(v) for k, v in record.items()})
        self.rows.append(row)
        self.plain.update(k for k in obj if k == k.strip() and k != ROW)

    def _record(self, obj: object) -> dict:
        """`obj` as a record with its names trimmed, or _Refused saying why not."""
        if not isinstance(obj, dict):
            raise _Refused("line is not a JSON object")
        if len(obj) > MAX_KEYS:
            raise _too_many_keys(len(obj))
        if any(isinstance(v, (dict, list)) and _too_deep(v) for v in obj.values()):
            raise _Refused(TOO_DEEP)
        # Names equal once trimmed (orjson keeps one of two equal ones: see `_parse`).
        if _repeats([k for k in obj if k.strip() != ROW]):
            raise _Refused(REPEATS)
        # Our row-number column is not a field anyone may send.
        record = {k.strip(): v for k, v in obj.items() if k.strip() != ROW}
        new = [k for k in record if k not in self.columns]
        unknown = [k for k in new if self.fields is None or k not in self.fields]
        if unknown and self.extra + len(unknown) > MAX_COLUMNS:
            raise _Refused(f"line would take the file past {MAX_COLUMNS:,} distinct "
                           "field names")
        self.extra += len(unknown)
        for k in new:
            self.columns[k] = None
        return record

    def raw(self) -> RawFile:
        names = list(self.columns)
        records = self.records
        # Built from a dict, never selected by name: polars reads "*" and "^...$" in a
        # selection as patterns, and a sender may name a field so. The row numbers
        # give a height even to objects with no keys at all.
        frame = pl.DataFrame({**{c: pl.Series([r.get(c) for r in records], dtype=pl.String)
                                 for c in names},
                              ROW: pl.Series(self.rows, dtype=pl.Int64)})
        return RawFile(frame, self.problems, names)


def read_jsonl(data: bytes, fields: frozenset[str] | None = None) -> RawFile:
    """`fields`: the report type's field names (see `_Columns`)."""
    columns = _Columns(fields)
    row = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        row += 1
        _read_line(columns, row, line)
    return columns.raw()


def _read_line(columns: _Columns, row: int, line: bytes) -> None:
    try:
        obj = _parse(line)
    except _Refused as e:
        columns.problems.append(LineProblem(row, str(e)))
        return
    except ValueError as e:  # the standard library's JSONDecodeError, UnicodeDecodeError
        reason = "not valid UTF-8" if isinstance(e, UnicodeDecodeError) else "not valid JSON"
        columns.problems.append(LineProblem(row, f"line is {reason}: {short(str(e), 60)}"))
        return
    columns.add(row, obj)


def read_records(records: list, fields: frozenset[str] | None = None) -> RawFile:
    """Records already decoded (a JSON batch's, numbers with a fraction as their
    digits), read as `read_jsonl` reads their `jsonl_line`s; none may hold a lone
    surrogate or an integer over 64 bits (`jsonl_lines` says whether one does)."""
    columns = _Columns(fields)
    for row, obj in enumerate(records, 1):
        if isinstance(obj, dict) and not _TEXT.issuperset(map(type, obj.values())) \
                and any(isinstance(v, (dict, list)) for v in obj.values()):
            # A value that nests is read from the record's line, as the lines are.
            _read_line(columns, row, jsonl_line(obj))
        else:
            columns.add(row, obj)
    return columns.raw()


def jsonl_line(record: dict[str, Any]) -> bytes:
    """One record as a JSON line, canonical so that a batch sent again is a duplicate.

    What orjson refuses (integers beyond 64 bits, lone UTF-16 surrogates) is written
    by the standard library with every non-ASCII character escaped; the reader then
    takes what is valid and rejects a lone surrogate as a bad line, with a feedback row
    like any bad line of a file, not with a server error.
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(record, sort_keys=True, ensure_ascii=True,
                          separators=(",", ":")).encode("ascii")


def jsonl_lines(records: list[dict[str, Any]]) -> tuple[bytes, bool]:
    """Records as JSON Lines (`jsonl_line`), and whether orjson wrote every one (then
    `read_records` reads the records as `read_jsonl` would read the lines)."""
    try:
        return b"\n".join([orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in records]), True
    except orjson.JSONEncodeError:
        return b"\n".join(jsonl_line(r) for r in records), False
