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


def _decode(line: bytes) -> dict:
    """A line's record, or _Refused / ValueError saying why it is none."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if obj is None or (isinstance(obj, dict) and (
            len(_KEY_END.findall(line)) > len(obj)
            or any(isinstance(v, float) for v in obj.values()))):
        try:
            obj = _exact(line)
        except RecursionError:
            raise _Refused(TOO_DEEP) from None
        except orjson.JSONEncodeError as e:
            raise _Refused(f"line is not valid JSON: {short(str(e), 60)}") from None
    if not isinstance(obj, dict):
        raise _Refused("line is not a JSON object")
    if len(obj) > MAX_KEYS:
        raise _too_many_keys(len(obj))
    if any(isinstance(v, (dict, list)) and _too_deep(v) for v in obj.values()):
        raise _Refused(TOO_DEEP)
    return obj


def read_jsonl(data: bytes, fields: frozenset[str] | None = None) -> RawFile:
    """`fields`: the report type's field names, which never count against MAX_COLUMNS
    (a line that names only those is read however many names the lines before it used)."""
    records: list[dict] = []
    rows: list[int] = []
    problems: list[LineProblem] = []
    columns: dict[str, None] = {}
    extra = 0  # names outside `fields` so far
    row = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        row += 1
        try:
            obj = _decode(line)
        except _Refused as e:
            problems.append(LineProblem(row, str(e)))
            continue
        except ValueError as e:  # the standard library's JSONDecodeError, UnicodeDecodeError
            reason = "not valid UTF-8" if isinstance(e, UnicodeDecodeError) else "not valid JSON"
            problems.append(LineProblem(row, f"line is {reason}: {short(str(e), 60)}"))
            continue
        # Names equal once trimmed (orjson keeps one of two equal ones: see `_decode`).
        if _repeats([k for k in obj if k.strip() != ROW]):
            problems.append(LineProblem(row, REPEATS))
            continue
        # Our row-number column is not a field anyone may send.
        record = {k.strip(): v for k, v in obj.items() if k.strip() != ROW}
        new = [k for k in record if k not in columns]
        unknown = [k for k in new if fields is None or k not in fields]
        if unknown and extra + len(unknown) > MAX_COLUMNS:
            problems.append(LineProblem(row, f"line would take the file past {MAX_COLUMNS:,} "
                                             "distinct field names"))
            continue
        extra += len(unknown)
        for k in new:
            columns[k] = None
        records.append({k: _cell(v) for k, v in record.items()})
        rows.append(row)
    names = list(columns)
    # Built from a dict, never selected by name: polars reads "*" and "^...$" in a
    # selection as patterns, and a sender may name a field so. The row numbers give a
    # height even to objects with no keys at all.
    frame = pl.DataFrame({**{c: pl.Series([r.get(c) for r in records], dtype=pl.String)
                             for c in names}, ROW: pl.Series(rows, dtype=pl.Int64)})
    return RawFile(frame, problems, names)
