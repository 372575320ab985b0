"""Bad input gets a one-line error naming the file, exit code 2 when the whole file is
unusable, never a traceback, and the good files and rows beside it are kept."""

from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import csv_text, error_lines, record, reference_data, stored_orders, write_csv


@pytest.fixture
def good_orders(tmp_path, cli):
    cli("ingest", *map(str, reference_data(tmp_path)))
    return write_csv(tmp_path, "order_event-good.csv", [record("order_event", 1)])




UNUSABLE = {
    "empty": (lambda p: p.write_bytes(b""), "file is empty"),
    "blank": (lambda p: p.write_bytes(b"\n\n  \n"), "file is empty"),
    "binary": (lambda p: p.write_bytes(bytes(range(256)) * 40), "binary"),
    "utf16": (lambda p: p.write_bytes(csv_text([record("order_event", 2)]).encode("utf-16")),
              "UTF-16"),
    "missing column": (lambda p: p.write_text(csv_text(
        [record("order_event", 2)], [c for c in record("order_event") if c != "account_id"])),
        "missing required column(s) for order_event: account_id"),
    "huge single line": (lambda p: p.write_bytes(b"x" * 50_000_000), "not a CSV header"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_file_gets_one_line_and_exit_2_and_the_others_are_kept(
        tmp_path, cli, good_orders, case):
    make, expected = UNUSABLE[case]
    bad = tmp_path / "order_event-bad.csv"
    make(bad)
    result = cli("ingest", str(bad), str(good_orders))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert str(bad) in line and expected in line
    assert stored_orders(cli) == 1


def test_an_unknown_report_type_is_named(tmp_path, cli):
    path = tmp_path / "positions.csv"
    path.write_text("a,b\n1,2\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "positions.csv" in line and "unknown report type" in line


def test_an_unknown_explicit_type_is_named(tmp_path, cli, good_orders):
    result = cli("ingest", "--type", "swap", str(good_orders))
    assert result.exit_code == 2 and "unknown report type 'swap'" in result.output


def test_a_corrupt_parquet_file_is_unusable(tmp_path, cli):
    path = tmp_path / "order_event.parquet"
    path.write_bytes(b"PAR1" + b"\x00garbage" * 100)
    result = cli("ingest", str(path))
    assert result.exit_code == 2 and "not a readable Parquet file" in error_lines(result)[0]


def test_latin1_rows_are_rejected_one_by_one(tmp_path, cli):
    cli("ingest", *map(str, reference_data(tmp_path)))
    text = csv_text([record("party", 5, party_id="P5", name="José"),
                     record("party", 6, party_id="P6", name="Li")])
    path = tmp_path / "party-latin1.csv"
    path.write_bytes(text.encode("latin-1"))
    feedback = tmp_path / "fb.csv"
    result = cli("ingest", str(path), "--feedback", str(feedback))
    assert result.exit_code == 0
    lines = feedback.read_text().splitlines()
    assert len(lines) == 2 and ",1,,,E002,row is not valid UTF-8" in lines[1]
    assert "P6" in cli("query", "party", "--format", "csv").output


def test_a_ragged_csv_row_is_rejected_and_the_rest_kept(tmp_path, cli, good_orders):
    text = csv_text([record("order_event", 2), record("order_event", 3)])
    lines = text.splitlines()
    lines[1] += ",extra"
    path = tmp_path / "order_event-ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    feedback = tmp_path / "fb.csv"
    result = cli("ingest", str(path), "--feedback", str(feedback))
    assert result.exit_code == 0
    assert "row has 17 fields, header has 16" in feedback.read_text()
    assert "ORD-3" in cli("query", "order_event", "--format", "csv").output


def test_a_broken_json_line_is_rejected_and_the_rest_kept(tmp_path, cli, good_orders):
    import json
    path = tmp_path / "order_event.jsonl"
    path.write_text(json.dumps(record("order_event", 2)) + "\n{not json\n[1,2]\n"
                    + json.dumps(record("order_event", 3, order_id="O3")) + "\n")
    feedback = tmp_path / "fb.csv"
    assert cli("ingest", str(path), "--feedback", str(feedback)).exit_code == 0
    rows = [(r["row"], r["code"], r["message"].split(":")[0])
            for r in csv.DictReader(feedback.open())]
    assert rows == [("2", "E002", "line is not valid JSON"),
                    ("3", "E002", "line is not a JSON object")]
    assert stored_orders(cli) == 2


def test_parquet_with_native_types_is_read_like_csv(tmp_path, cli):
    cli("ingest", *map(str, reference_data(tmp_path)))
    rec = record("order_event", 1)
    table = pa.table({**{k: [v] for k, v in rec.items()},
                      "ts_event": pa.array([1772415000123456789], pa.int64()),
                      "price": pa.array([10.01]), "quantity": pa.array([1000]),
                      "leaves_quantity": pa.array([1000])})
    pq.write_table(table, tmp_path / "order_event.parquet")
    assert cli("ingest", str(tmp_path / "order_event.parquet")).exit_code == 0
    out = cli("query", "order_event", "--format", "csv").output
    assert "2026-03-02T01:30:00.123456789" in out and ",10.010000000," in out


def test_query_of_an_unknown_type_is_refused(cli):
    result = cli("query", "swaps")
    assert result.exit_code == 2 and "unknown report type 'swaps'" in result.output


def test_json_lines_of_empty_objects_are_a_file_without_its_columns(tmp_path, cli):
    path = tmp_path / "payment-empty.jsonl"
    path.write_text("{}\n{}\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 2
    assert "missing required column(s) for payment" in error_lines(result)[0]



def test_fields_named_like_column_patterns_are_just_unknown_fields(tmp_path, cli, good_orders):
    import json
    good = good_orders.read_text().splitlines()
    row = dict(zip(next(csv.reader([good[0]])), next(csv.reader([good[1]]))))
    path = tmp_path / "order_event-patterns.jsonl"
    path.write_text(json.dumps({**row, "*": "x", "^a.*$": "y", "__row": "7"}) + "\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 0, result.output
    assert stored_orders(cli) == 1


def _arrow_stream(table: pa.Table, batches: int = 1) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for _ in range(batches):
            writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_arrow_messages_of_a_schema_already_seen_read_as_the_first_did():
    from suptech.ingest.readers import UnusableFile, arrow_table

    table = pa.table({"report_id": ["R1", None], "quantity": [100, 200]})
    data = _arrow_stream(table, batches=2)
    first, again = arrow_table(data), arrow_table(data)  # the second by the known schema
    assert again.equals(first) and again.num_rows == 4
    # Dictionary-encoded columns take the reader's whole path, known schema or not.
    coded = _arrow_stream(pa.table({"side": pa.array(["BUY", "SELL", "BUY"]).dictionary_encode()}))
    assert arrow_table(coded).column("side").to_pylist() == arrow_table(coded).column(
        "side").to_pylist() == ["BUY", "SELL", "BUY"]
    # Cut short after the known schema: unusable, not a crash.
    for broken in (data[:len(data) - 20], data[:len(data) // 2], b""):
        with pytest.raises(UnusableFile, match="not readable as Arrow IPC"):
            arrow_table(broken)
