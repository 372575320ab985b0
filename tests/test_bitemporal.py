"""Corrections add versions; the database answers "as known at T"; re-ingest is idempotent."""

from __future__ import annotations

from builders import record, reference_data, write_csv


def current(store, type_name="order_event", as_of=None):
    table = store.query(type_name, as_of)
    return {(r["report_id"], r["action"], str(r["price"]).rstrip("0")) for r in table.to_pylist()}


def test_corr_replaces_canc_withdraws_and_the_past_view_is_kept(tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    ingest(write_csv(tmp_path, "order_event-1.csv", [
        record("order_event", 1), record("order_event", 2, order_id="O2")]))
    [first] = [s for s in store.submissions().to_pylist() if s["report_type"] == "order_event"]
    ingest(write_csv(tmp_path, "order_event-2.csv", [
        record("order_event", 1, action="CORR", price="10.05"),
        dict(report_id="ORD-2", action="CANC", submitter=record("order_event")["submitter"],
             ts_event="2026-03-02T09:40:00+08:00")]))

    assert current(store) == {("ORD-1", "CORR", "10.05")}
    assert current(store, as_of=first["ts_received"]) == {("ORD-1", "NEW", "10.01"),
                                                          ("ORD-2", "NEW", "10.01")}
    assert current(store, as_of=first["ts_received"] - 1) == set()
    versions = store.versions("order_event").to_pyarrow()
    assert versions.num_rows == 4  # nothing overwritten


def test_new_corr_and_canc_in_one_file_apply_in_row_order(tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1),
        record("order_event", 1, action="CORR", price="10.02"),
        record("order_event", 1, action="CANC"),
        record("order_event", 1, action="CORR", price="10.03"),
    ]))
    assert result.feedback.select("row", "code").rows() == [(4, "E008")]
    assert result.feedback["message"].to_list() == ["CORR of a report_id that is already cancelled"]
    assert current(store) == set()


def test_a_cancel_before_its_new_in_the_same_file_is_unknown(tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1, action="CANC"), record("order_event", 1)]))
    assert result.feedback.select("row", "code", "message").rows() == [
        (1, "E008", "CANC of an unknown report_id")]
    assert current(store) == {("ORD-1", "NEW", "10.01")}


def test_a_rejected_new_creates_nothing_to_correct(tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1, side="HOLD"), record("order_event", 1, action="CORR")]))
    assert result.feedback.select("row", "code").rows() == [(1, "E003"), (2, "E008")]


def test_a_report_id_is_unique_per_submitter(tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    [result] = ingest(write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1), record("order_event", 1, submitter="5493BRKB000000000015")]))
    assert result.feedback.is_empty()
    assert store.query("order_event").num_rows == 2


def test_reingesting_the_same_file_stores_nothing_new_and_gives_the_same_feedback(
        tmp_path, store, ingest):
    ingest(*reference_data(tmp_path))
    path = write_csv(tmp_path, "order_event.csv", [
        record("order_event", 1), record("order_event", 2, side="HOLD")])
    [first] = ingest(path)
    [again] = ingest(path)
    assert again.summary.duplicate and not first.summary.duplicate
    assert again.feedback.equals(first.feedback)
    assert (again.summary.accepted, again.summary.rejected) == (1, 1)
    assert store.versions("order_event").count().to_pyarrow().as_py() == 1


def test_a_range_of_days_answers_as_the_whole_view_would(tmp_path, store, ingest):
    """A scan of one day reads only that day's versions and the amendments of its
    reports, and answers what the whole view, cut to the day, would: a report corrected
    to another day leaves this one, a cancelled one is gone, one corrected into the day
    arrives."""
    ingest(*reference_data(tmp_path))
    day1, day2 = "2026-03-02T10:00:00+08:00", "2026-03-03T10:00:00+08:00"
    ingest(write_csv(tmp_path, "order_event-1.csv", [
        record("order_event", n, order_id=f"O{n}", ts_event=day1) for n in (1, 2, 3)]))
    ingest(write_csv(tmp_path, "order_event-2.csv", [
        record("order_event", n, order_id=f"O{n}", ts_event=day2) for n in (4, 5)]))
    ingest(write_csv(tmp_path, "order_event-3.csv", [
        record("order_event", 1, order_id="O1", action="CORR", ts_event=day2),  # moved on
        record("order_event", 2, order_id="O2", action="CANC", ts_event=day1),
        record("order_event", 4, order_id="O4", action="CORR", ts_event=day1),  # moved back
        record("order_event", 5, order_id="O5", action="CORR", ts_event=day2, price="10.02"),
    ]))
    midnight = 1_772_380_800 * 10**9  # 2026-03-02T00:00+08:00
    day = 86_400 * 10**9

    def ids(**kw) -> list[str]:
        return sorted(store.view("order_event", **kw).report_id.to_pyarrow().to_pylist())

    assert ids(start_ns=midnight, end_ns=midnight + day) == ["ORD-3", "ORD-4"]
    assert ids(start_ns=midnight + day, end_ns=midnight + 2 * day) == ["ORD-1", "ORD-5"]
    assert ids(end_ns=midnight + day) == ["ORD-3", "ORD-4"]
    assert ids() == ["ORD-1", "ORD-3", "ORD-4", "ORD-5"]


def test_a_reference_finds_the_values_live_now(tmp_path, store, ingest):
    """What validation asks of references: a report never amended holds its value; a
    cancelled one holds none; a corrected one only its corrected value."""
    import polars as pl

    ingest(*reference_data(tmp_path))
    ingest(write_csv(tmp_path, "order_event-1.csv", [
        record("order_event", n, order_id=f"O{n}") for n in (1, 2, 3)]))
    ingest(write_csv(tmp_path, "order_event-2.csv", [
        record("order_event", 2, order_id="O2", action="CANC"),
        record("order_event", 3, order_id="O9", action="CORR")]))
    asked = pl.Series(["O1", "O2", "O3", "O9", "O7"])
    assert sorted(store.existing("order_event", "order_id", asked)) == ["O1", "O9"]
