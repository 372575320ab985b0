"""Each feedback code of the reporting specification, shown on a small inline file."""

from __future__ import annotations

import pytest
from builders import ISIN_B, record, reference_data, write_csv

from suptech.store import lookups


def feedback_rows(result):
    return result.feedback.select("row", "report_id", "field", "code").rows()


@pytest.fixture
def refs(tmp_path, ingest):
    ingest(*reference_data(tmp_path))


CASES = [
    # code, report type, changes to the second record, field blamed
    ("E001", "order_event", dict(account_id=""), "account_id"),
    ("E001", "order_event", dict(price=None), "price"),  # LIMIT needs a price
    ("E001", "party", dict(party_type="ENTITY", lei=None), "lei"),
    ("E002", "order_event", dict(quantity="lots"), "quantity"),
    ("E002", "order_event", dict(ts_event="2026-03-02 09:30"), "ts_event"),
    ("E002", "order_event", dict(ts_event="2026-03-02T09:30:00"), "ts_event"),  # no offset
    ("E002", "announcement", dict(price_sensitive="maybe"), "price_sensitive"),
    ("E002", "account", dict(opened_date="02/01/2020"), "opened_date"),
    ("E003", "order_event", dict(side="HOLD"), "side"),
    ("E003", "order_event", dict(action="UPDATE"), "action"),
    ("E004", "order_event", dict(isin="CNE000000017"), "isin"),
    ("E004", "order_event", dict(member_lei="5493BRKA000000000066"), "member_lei"),
    ("E004", "order_event", dict(mic="XQQQ"), "mic"),
    ("E004", "order_event", dict(report_id="OE 2"), "report_id"),
    ("E004", "payment", dict(payment_id="7d4e9b0c-6a3f-1c1e-9f2a-3b5c8d7e1a20"), "payment_id"),
    ("E004", "payment", dict(debtor_agent="BKCHXXBJ"), "debtor_agent"),
    ("E004", "payment", dict(currency="RMB"), "currency"),
    ("E004", "payment", dict(creditor_country="XX"), "creditor_country"),
    ("E004", "party", dict(region="CN-XX"), "region"),
    ("E005", "order_event", dict(quantity="0", leaves_quantity="0"), "quantity"),
    ("E005", "order_event", dict(price="10.015"), "price"),  # off the 0.01 tick grid
    ("E005", "order_event", dict(quantity="150", leaves_quantity="150"), "quantity"),
    ("E005", "payment", dict(amount="10.001"), "amount"),  # CNY has 2 decimals
    ("E005", "payment", dict(amount="-5"), "amount"),
    ("E005", "instrument", dict(tick_size="0.0100000001"), "tick_size"),
    ("E005", "instrument", dict(tick_size="0"), "tick_size"),
    ("E006", "order_event", dict(ts_event="2099-01-01T00:00:00Z"), "ts_event"),
    ("E006", "order_event", dict(ts_event="1999-12-31T23:59:59Z"), "ts_event"),
    ("E007", "order_event", dict(report_id="ORD-11"), "report_id"),
    ("E008", "order_event", dict(report_id="ORD-9", action="CORR"), "report_id"),
    ("E009", "order_event", dict(account_id="A404"), "account_id"),
    ("E009", "trade", dict(sell_order_id="O404"), "sell_order_id"),
    ("E010", "order_event", dict(leaves_quantity="2000"), "leaves_quantity"),
    ("E010", "order_event", dict(order_type="MARKET"), "price"),  # MARKET with a price
    ("E010", "order_event", dict(event_type="FILL", leaves_quantity="100"), "leaves_quantity"),
    ("E010", "insider", dict(valid_to="2025-12-31"), "valid_to"),
]


@pytest.mark.parametrize("code,type_name,changes,field", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_one_bad_record_gets_its_code_and_the_good_one_is_kept(
        tmp_path, ingest, refs, code, type_name, changes, field):
    if type_name == "trade":
        ingest(write_csv(tmp_path, "order_event.csv", [
            record("order_event", 1),
            record("order_event", 2, order_id="O2", side="SELL", account_id="A2")]))
    if type_name == "instrument":
        changes = {"isin": ISIN_B, **changes}
    good = record(type_name, 11)
    bad = record(type_name, 12, **changes)
    [result] = ingest(write_csv(tmp_path, f"{type_name}-test.csv", [good, bad]))
    assert feedback_rows(result) == [(2, bad["report_id"], field, code)]
    assert result.summary.accepted == 1 and result.summary.rejected == 1


def test_a_file_naming_more_values_than_there_are_reports_is_judged_alike(
        tmp_path, ingest, refs, monkeypatch):
    # A day's orders name each account many times: past `WHOLE` values, every account
    # held is read and the values looked up in it, rather than the values made unique.
    monkeypatch.setattr(lookups, "WHOLE", 1)
    rows = [record("order_event", i) for i in range(1, 6)]
    rows.append(record("order_event", 6, account_id="A404"))
    [result] = ingest(write_csv(tmp_path, "order_event.csv", rows))
    assert feedback_rows(result) == [(6, "ORD-6", "account_id", "E009")]
    assert result.summary.accepted == 5


def test_a_self_match_trade_is_accepted_with_a_warning(tmp_path, ingest, refs):
    ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1), record("order_event", 2, order_id="O2", side="SELL")]))
    [result] = ingest(write_csv(tmp_path, "trade.csv", [record("trade", 1, sell_account_id="A1")]))
    assert feedback_rows(result) == [(1, "TRA-1", "sell_account_id", "W001")]
    assert result.summary.accepted == 1 and result.summary.warnings == 1


def test_a_row_can_fail_several_rules_and_gets_a_row_for_each(tmp_path, ingest, refs):
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1, side="HOLD", quantity="x", mic="XQQQ")]))
    assert sorted(r[3] for r in feedback_rows(result)) == ["E002", "E003", "E004"]


def test_an_identifier_that_fails_its_check_is_not_also_reported_missing(tmp_path, ingest, refs):
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1, isin="CNE000000017")]))
    assert [r[3] for r in feedback_rows(result)] == ["E004"]


def test_messages_say_what_was_wrong(tmp_path, ingest, refs):
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1, price="10.015"), record("order_event", 2, side="HOLD")]))
    assert result.feedback["message"].to_list() == [
        "price 10.015 is not on the tick grid of 0.01", "HOLD is not one of BUY, SELL"]


def test_references_resolve_across_files_of_one_run_in_any_order(tmp_path, ingest):
    files = reference_data(tmp_path)
    orders = write_csv(tmp_path, "order_event.csv", [record("order_event", 1)])
    results = ingest(orders, *reversed(files))
    assert [r.summary.report_type for r in results] == ["party", "instrument", "account",
                                                        "order_event"]
    assert all(r.summary.rejected == 0 for r in results)


def test_a_cancel_needs_only_the_envelope(tmp_path, ingest, refs):
    ingest(write_csv(tmp_path, "order_event.csv", [record("order_event", 1)]))
    cancel = dict(report_id="ORD-1", action="CANC", submitter=record("order_event")["submitter"],
                  ts_event="2026-03-02T09:31:00+08:00")
    [result] = ingest(write_csv(tmp_path, "order_event-cancel.csv", [cancel]))
    assert result.summary.accepted == 1 and result.feedback.is_empty()


def test_a_parquet_file_in_many_row_groups_is_judged_as_its_rows_are(tmp_path, ingest, refs):
    # A large file comes in row groups, which polars reads as chunks of each column; the
    # checks' masks run over the chunks as they come (no copy into one), and every row
    # must still get its own findings. The same records as CSV, in a store of their own,
    # are the reference.
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    from suptech.ingest.pipeline import ingest_files
    from suptech.store.database import open_store

    rows = []
    for n, (_, type_name, changes, _) in enumerate(CASES, start=1):
        if type_name == "order_event" and "report_id" not in changes:
            rows += [record("order_event", 2 * n), record("order_event", 2 * n + 1, **changes)]
    parquet = tmp_path / "order_event.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=3)
    assert pl.read_parquet(parquet).n_chunks() > 1  # what this test is about
    [from_parquet] = ingest(parquet)

    other = open_store(tmp_path / "csv-db")
    try:
        (tmp_path / "csv-refs").mkdir()
        ingest_files(other, reference_data(tmp_path / "csv-refs"))
        [from_csv] = ingest_files(other, [write_csv(tmp_path, "order_event.csv", rows)])
    finally:
        other.close()
    found = feedback_rows(from_csv)
    # Each good row kept, each changed one refused, over eight codes.
    assert len({code for *_, code in found}) == 8 and from_csv.summary.accepted == len(rows) // 2
    assert feedback_rows(from_parquet) == found
    assert from_parquet.summary.accepted == from_csv.summary.accepted
