"""JSON Lines and JSON batches to raw columns: one reading, whichever way records come."""

from __future__ import annotations

import json

import pytest

from suptech.ingest.jsonl import REPEATS, TOO_DEEP, read_jsonl, read_records
from suptech.ingest.raw import ROW

FIELDS = frozenset({"a", "b", "c"})


@pytest.mark.parametrize("line", [
    '{"a":"1","a":"2"}',
    '{"a":"1","a" :"2"}',
    '{"a":"1","a"\t:"2"}',
    '{"a" : "1", "a" : "2"}',
    '{"a":"1"," a":"2"}',
])
def test_a_key_written_twice_refuses_its_line_however_it_is_spaced(line):
    raw = read_jsonl(f'{line}\n{{"a":"3"}}'.encode())
    assert [(p.row, p.message) for p in raw.problems] == [(1, REPEATS)]
    assert raw.frame.to_dicts() == [{"a": "3", ROW: 2}]


def test_a_key_end_inside_a_text_value_is_no_second_key():
    raw = read_jsonl(b'{"a":"say \\":\\" twice","b":"x"}')
    assert raw.problems == []
    assert raw.frame.to_dicts() == [{"a": 'say ":" twice', "b": "x", ROW: 1}]


RECORDS = [
    {"a": "text", "b": None},
    {"a": 12, "b": True, "c": {"nested": [1, "two"]}},
    {" a ": "trimmed", "b": "x"},
    {"a": "1", ROW: "ours, dropped"},
    {"a": "deep", "c": json.loads("[" * 300 + "]" * 300)},
    ["not", "an", "object"],
    {"a": "1.50", "new": "an extra column"},
]


def test_a_batch_of_records_reads_as_the_same_records_written_one_a_line():
    lines = "\n".join(json.dumps(r, separators=(",", ":")) for r in RECORDS).encode()
    from_lines, from_records = read_jsonl(lines, FIELDS), read_records(RECORDS, FIELDS)
    assert from_records.frame.to_dicts() == from_lines.frame.to_dicts()
    assert from_records.columns == from_lines.columns == ["a", "b", "c", "new"]
    assert [(p.row, p.message) for p in from_records.problems] == \
        [(p.row, p.message) for p in from_lines.problems] == \
        [(5, TOO_DEEP), (6, "line is not a JSON object")]
    assert from_records.frame.row(1, named=True) == {
        "a": "12", "b": "true", "c": '{"nested":["1","two"]}', "new": None, ROW: 2}
