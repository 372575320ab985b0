"""The red team's files, one test each: valid data is never lost or altered, a bad value
is rejected on its own row naming its field, and a file that cannot be read at all is
refused in one line (exit 2) with nothing of it stored. Never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import csv_text, error_lines, record, reference_data, stored_orders, write_csv


@pytest.fixture
def refs(tmp_path, cli):
    cli("ingest", *map(str, reference_data(tmp_path)))


def feedback(cli, *paths, tmp_path):
    out = tmp_path / "fb.csv"
    result = cli("ingest", *map(str, paths), "--feedback", str(out))
    return result, list(csv.DictReader(out.open())) if out.exists() else []


def query(cli, report_type: str) -> list[dict]:
    return list(csv.DictReader(cli("query", report_type, "--format", "csv").output
                               .splitlines()))


def write_parquet(path, records: list[dict], **columns) -> None:
    table = pa.table({**{k: [r[k] for r in records] for k in records[0]}, **columns})
    pq.write_table(table, path)


# ---- values that are never missing because of their spelling ------------------------

@pytest.mark.parametrize("spelling", ["NA", "N/A", "NULL", "null", "NaN", "nan", "#N/A"])
def test_a_csv_cell_spelled_like_a_null_is_that_text(tmp_path, cli, refs, spelling):
    party = write_csv(tmp_path, "party-na.csv", [
        record("party", 7, party_id=spelling, group_id="NULL")])
    result, rows = feedback(cli, party, tmp_path=tmp_path)
    assert result.exit_code == 0 and rows == []
    [stored] = [p for p in query(cli, "party") if p["report_id"] == "PAR-7"]
    assert stored["party_id"] == spelling and stored["group_id"] == "NULL"


def test_a_payment_to_namibia_is_kept_in_csv_as_in_json_lines(tmp_path, cli):
    path = write_csv(tmp_path, "payment-na.csv", [record("payment", 1, creditor_country="NA")])
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0 and rows == []
    assert query(cli, "payment")[0]["creditor_country"] == "NA"


def test_an_empty_csv_cell_is_still_missing(tmp_path, cli, refs):
    path = write_csv(tmp_path, "order_event-empty.csv", [record("order_event", 1, account_id="")])
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert [(r["code"], r["field"]) for r in rows] == [("E001", "account_id")]


# ---- CSV structure -------------------------------------------------------------------

def test_an_unterminated_quote_refuses_the_file_naming_its_row(tmp_path, cli, refs):
    lines = csv_text([record("payment", n, payment_id=None, report_id=f"PAY-{n}")
                      for n in range(1, 21)]).splitlines()
    cells = lines[11].split(",")
    cells[5] = '"' + cells[5]  # row 11: a stray quote opens a value never closed
    lines[11] = ",".join(cells)
    path = tmp_path / "payment-quote.csv"
    path.write_text("\n".join(lines) + "\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "row 11 (line 12)" in line and "not closed" in line
    assert query(cli, "payment") == []


def test_a_quoted_value_may_span_lines(tmp_path, cli, refs):
    path = write_csv(tmp_path, "complaint-lines.csv", [
        record("complaint", 1, description="first line\nsecond line, with a comma"),
        record("complaint", 2, complaint_id="C2")])
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0 and rows == []
    assert len(query(cli, "complaint")) == 2


def test_a_csv_with_cr_only_line_endings_is_read(tmp_path, cli, refs):
    text = csv_text([record("order_event", 1), record("order_event", 2, order_id="O2")])
    path = tmp_path / "order_event-mac.csv"
    path.write_bytes(text.replace("\n", "\r").encode())
    result = cli("ingest", str(path))
    assert result.exit_code == 0, result.output
    assert stored_orders(cli) == 2


# ---- JSON Lines ----------------------------------------------------------------------

def test_json_numbers_are_kept_to_the_last_digit(tmp_path, cli):
    path = tmp_path / "payment-exact.jsonl"
    rec = record("payment", 1)
    line = json.dumps({**rec, "amount": "AMOUNT"}).replace('"AMOUNT"', "1234567890123456.78")
    path.write_text(line + "\n" + json.dumps(record(
        "payment", 2, payment_id="7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a21")).replace(
        '"100.50"', "1.5e2") + "\n")
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0 and rows == []
    amounts = sorted(p["amount"] for p in query(cli, "payment"))
    assert amounts == ["1234567890123456.780000000", "150.000000000"]


def test_a_json_line_that_repeats_a_key_is_rejected(tmp_path, cli, refs):
    good = json.dumps(record("order_event", 1))
    repeated = good[:-1] + ', "side": "SELL"}'
    path = tmp_path / "order_event-dup.jsonl"
    path.write_text(repeated.replace("ORD-1", "ORD-2") + "\n" + good + "\n")
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert [(r["row"], r["code"], r["message"]) for r in rows] == [
        ("1", "E002", "line repeats a field (names equal once surrounding spaces are removed)")]
    assert stored_orders(cli) == 1


@pytest.mark.parametrize("depth", [40, 300, 1024, 5000])
def test_json_nested_deeply_rejects_its_line_only(tmp_path, cli, refs, depth):
    deep = json.dumps(record("order_event", 2, order_id="O2"))[:-1] + \
        ', "extra": ' + "[" * depth + "]" * depth + "}"
    path = tmp_path / "order_event-deep.jsonl"
    path.write_text(deep + "\n" + json.dumps(record("order_event", 1)) + "\n")
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0
    assert [(r["row"], r["code"]) for r in rows] == [("1", "E002")]
    assert "deeper than 32 levels" in rows[0]["message"] or "not valid JSON" in rows[0]["message"]
    assert stored_orders(cli) == 1


def test_a_json_file_of_thousands_of_distinct_keys_keeps_its_good_lines(tmp_path, cli, refs):
    lines = [json.dumps({f"k{i}_{j}": 1 for j in range(200)}) for i in range(10)]
    lines.append(json.dumps({f"k{j}": 1 for j in range(1_500)}))
    lines.append(json.dumps(record("order_event", 1)))
    path = tmp_path / "order_event-keys.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0
    messages = {r["row"]: r["message"] for r in rows}
    assert "over the limit of 1,000" in messages["11"]
    assert "past 1,000 distinct field names" in messages["6"]
    assert stored_orders(cli) == 1


# ---- dates and times -----------------------------------------------------------------

@pytest.mark.parametrize("date", ["-0001-01-01", "0000-01-01", "10000-01-01", "2020-02-30"])
def test_a_date_outside_the_calendar_is_rejected_and_the_store_stays_readable(
        tmp_path, cli, refs, date):
    path = write_csv(tmp_path, "account-old.csv", [record("account", 3, account_id="A3",
                                                          opened_date=date)])
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert [(r["code"], r["field"]) for r in rows] == [("E002", "opened_date")]
    assert cli("query", "account").exit_code == 0


@pytest.mark.parametrize("ts", ["2026-03-02T23:59:60+08:00", "2026-03-02T24:00:00+08:00",
                                "1000-01-01T00:00:00+00:00", "2500-01-01T00:00:00+00:00"])
def test_a_timestamp_int64_nanoseconds_cannot_hold_is_rejected(tmp_path, cli, refs, ts):
    path = write_csv(tmp_path, "order_event-ts.csv", [record("order_event", 1, ts_event=ts)])
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert [(r["code"], r["field"]) for r in rows] == [("E002", "ts_event")]


def test_parquet_timestamps_beyond_nanoseconds_and_above_int64_are_rejected(tmp_path, cli, refs):
    recs = [record("order_event", n, order_id=f"O{n}") for n in (1, 2)]
    for r in recs:
        r.pop("ts_event")
    path = tmp_path / "order_event-far.parquet"
    write_parquet(path, recs, ts_event=pa.array(
        [dt.datetime(3000, 1, 1), dt.datetime(2026, 3, 2, 1, 30)], pa.timestamp("us")))
    path2 = tmp_path / "order_event-u64.parquet"
    write_parquet(path2, [record("order_event", 3, order_id="O3")],
                  ts_event=pa.array([2**63 + 5], pa.uint64()))
    _, rows = feedback(cli, path, path2, tmp_path=tmp_path)
    assert [(r["report_id"], r["code"], r["field"]) for r in rows] == [
        ("ORD-1", "E002", "ts_event"), ("ORD-3", "E002", "ts_event")]
    assert stored_orders(cli) == 1


# ---- Parquet of odd types ------------------------------------------------------------

@pytest.mark.parametrize("column", [
    pa.array([["a"], None]), pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
    pa.array([b"\xff\xfe", b"ORD-2"], pa.binary()), pa.array([dt.timedelta(1), None])])
def test_a_parquet_column_no_field_can_hold_rejects_its_rows_only(tmp_path, cli, refs, column):
    recs = [record("order_event", n, order_id=f"O{n}") for n in (1, 2)]
    for r in recs:
        r.pop("report_id")
    path = tmp_path / "order_event-odd.parquet"
    write_parquet(path, recs, report_id=column, tags=pa.array([[1], [2]]))
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0
    found = [(r["row"], r["code"], r["field"]) for r in rows]
    if column.type == pa.binary():  # row 2's bytes are text: kept
        assert found == [("1", "E002", "report_id")] and stored_orders(cli) == 1
    else:  # row 2 holds no value: missing; the unknown list column `tags` is ignored
        assert found == [("1", "E002", "report_id"), ("2", "E001", "report_id")]


def test_parquet_strings_whose_bytes_are_not_utf8_reject_their_rows_only(tmp_path, cli, refs):
    names = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(
        (0).to_bytes(4, "little") + (2).to_bytes(4, "little") + (4).to_bytes(4, "little")),
        pa.py_buffer(b"\xff\xfeok")])
    recs = [record("party", n, party_id=f"P{n}") for n in (3, 4)]
    path = tmp_path / "party-bytes.parquet"
    write_parquet(path, recs, name=names)
    result, rows = feedback(cli, path, tmp_path=tmp_path)
    assert result.exit_code == 0
    assert [(r["row"], r["field"], r["message"]) for r in rows] == [
        ("1", "name", "name is not valid UTF-8 text")]
    assert {p["name"] for p in query(cli, "party")} >= {"ok"}


def test_a_nul_inside_a_string_is_rejected(tmp_path, cli, refs):
    path = tmp_path / "party-nul.parquet"
    write_parquet(path, [record("party", 3, party_id="P3\x00admin"),
                         record("party", 4, party_id="P4")])
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert [(r["row"], r["code"], r["field"]) for r in rows] == [("1", "E002", "party_id")]


def test_parquet_names_equal_once_trimmed_refuse_the_file_and_a_row_column_is_ignored(
        tmp_path, cli, refs):
    rec = record("order_event", 1)
    twice = tmp_path / "order_event-twice.parquet"
    pq.write_table(pa.table({**{k: [v] for k, v in rec.items()}, " side": ["SELL"]}), twice)
    with_row = tmp_path / "order_event-row.parquet"
    pq.write_table(pa.table({**{k: [v] for k, v in rec.items()}, "__row": [99]}), with_row)
    result = cli("ingest", str(twice), str(with_row))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "order_event-twice.parquet" in line and "equal once surrounding spaces" in line
    assert stored_orders(cli) == 1


# ---- the store cannot take it ----------------------------------------------------------

def test_a_full_disk_refuses_the_file_in_one_line_and_keeps_what_was_stored(tmp_path, refs):
    from typer.testing import CliRunner

    from suptech.cli import app

    small = tmp_path / "small"
    small.mkdir()
    # 2 MB: the reference data take 0.6, the big file some 4 (at 4 MB it sometimes fit).
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        runner = CliRunner()
        db = ["--data-dir", str(small / "db")]
        first = runner.invoke(app, ["ingest", *map(str, reference_data(tmp_path)), *db])
        assert first.exit_code == 0, first.output
        big = write_csv(tmp_path, "order_event-big.csv", [
            record("order_event", n, order_id=uuid.uuid4().hex, report_id=uuid.uuid4().hex)
            for n in range(100_000)])
        result = runner.invoke(app, ["ingest", str(big), *db])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "no space left" in result.output
        listing = runner.invoke(app, ["query", "account", "--format", "csv", *db])
        assert listing.exit_code == 0 and listing.output.count("ACC-") == 2
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


# ---- feedback files ------------------------------------------------------------------

def test_feedback_csv_cells_cannot_be_formulas(tmp_path, cli, refs):
    path = write_csv(tmp_path, "order_event-formula.csv", [
        record("order_event", 1, report_id='=HYPERLINK("http://x","y")'),
        record("order_event", 2, report_id="+1", side="-SELL"),
        record("order_event", 3, report_id="@SUM(A1)")])
    _, rows = feedback(cli, path, tmp_path=tmp_path)
    assert {r["report_id"] for r in rows} == {"'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'@SUM(A1)"}
    assert all(not r["message"].startswith(("=", "+", "-", "@")) for r in rows)
