"""Real-time detection is the scan's own definition: a simulated day fed to the window in
slices, as a stream delivers it, raises exactly the alerts the batch scan raises over the
same data, per typology and as a whole: the same ids, accounts, windows, scores and
evidence. No NATS and no waiting: the window is fed in process."""

from __future__ import annotations

import polars as pl
import pytest

from suptech.detect.base import REGISTRY, SECOND
from suptech.detect.run import run
from suptech.detect.scan import scan
from suptech.detect.window import EVENTS, REGISTER, Window, incremental, stored_events
from suptech.ingest.pipeline import ingest_files
from suptech.simulate.market_run import simulate_market
from suptech.store.database import fullest, open_store

SAME = ["alert_id", "detector", "typology", "account_ids", "isin", "window_start",
        "window_end", "score", "evidence", "detector_version", "parameters"]


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A simulated day with every market typology injected, as stored, and the scan's
    alerts over it."""
    root = tmp_path_factory.mktemp("window")
    simulate_market(root / "sim", seed=71, days=1, instruments=5, scale="tiny")
    store = open_store(root / "data")
    try:
        ingest_files(store, sorted((root / "sim").glob("*.parquet")))
        batch = run(store, incremental())
        register = {n: pl.from_arrow(store.view(n).to_pyarrow()) for n in REGISTER}
        events = {n: pl.from_arrow(store.view(n).to_pyarrow()).sort("ts_event")
                  for n in EVENTS}
    finally:
        store.close()
    return batch, register, events, root / "data"


def fed(w: Window, events, slice_s: int, register=None) -> list[pl.DataFrame]:
    """The alerts of `w` fed `slice_s` seconds of events at a time, orders before trades,
    in order (`register` sent again after the first slice, as after reference data)."""
    start = min(int(f["ts_event"].min()) for f in events.values())
    end = max(int(f["ts_event"].max()) for f in events.values())
    step, versions = slice_s * SECOND, []
    for at in range(start, end + step, step):
        for name, frame in events.items():
            part = frame.filter(pl.col("ts_event").is_between(at, at + step, closed="left"))
            if part.height:
                w.add(name, part)
        versions.append(w.advance())
        if len(versions) == 1 and register is not None:
            w.register(register)
    return versions


def streamed(register, events, slice_s: int, lateness_s: int = 5) -> tuple[pl.DataFrame, list]:
    """A window fed the day, then drained: the fullest version of each alert, and every
    version in order."""
    w = Window(lateness=lateness_s * SECOND)
    w.register(register)
    versions = fed(w, events, slice_s, register) + [w.advance(drained=True)]
    return fullest(pl.concat(versions)), versions


@pytest.fixture(scope="module")
def stream(day):
    _, register, events, _ = day
    return streamed(register, events, slice_s=300)


def test_every_market_typology_runs_in_real_time():
    assert {d.typology for d in incremental()} == set(REGISTRY.typologies("market"))


@pytest.mark.parametrize("typology", sorted(REGISTRY.typologies("market")))
def test_the_stream_raises_exactly_the_scans_alerts_of_each_typology(day, stream, typology):
    batch, streamed_alerts = day[0], stream[0]
    mine = batch.filter(pl.col("typology") == typology).select(SAME).sort("alert_id")
    assert mine.height >= 1, f"the day's injected {typology} case was not found by the scan"
    theirs = streamed_alerts.filter(pl.col("typology") == typology).select(SAME).sort("alert_id")
    assert theirs.to_dicts() == mine.to_dicts()


def test_the_whole_day_streamed_equals_the_scan(day, stream):
    assert stream[0].select(SAME).sort("alert_id").equals(day[0].select(SAME).sort("alert_id"))


def test_a_case_keeps_its_id_as_it_grows_and_each_version_is_fuller(stream):
    _, versions = stream
    seen: dict[str, int] = {}
    for frame in versions:
        for alert in frame.iter_rows(named=True):
            size = len(alert["evidence"].split(";"))
            assert size >= seen.get(alert["alert_id"], 0)
            seen[alert["alert_id"]] = size


def test_a_condition_over_the_whole_day_is_raised_only_after_the_close(day, stream):
    """Ramping needs the day without a trade on the other side: its alerts come with the
    close, not with the bursts."""
    _, versions = stream
    ramping = [i for i, f in enumerate(versions) if (f["typology"] == "RAMPING").any()]
    assert ramping and min(ramping) >= len(versions) - 3


def test_a_scan_completes_an_alert_the_stream_stored_while_its_case_grew(day, stream):
    batch, data = day[0], day[3]
    first: dict[str, dict] = {}
    for frame in stream[1]:
        for alert in frame.iter_rows(named=True):
            first.setdefault(alert["alert_id"], alert)
    grown = [a for a, v in first.items() if v["evidence"] != batch.filter(
        pl.col("alert_id") == a)["evidence"].item()]
    assert grown, "no case grew after it was first raised"
    store = open_store(data)
    try:
        partial = pl.DataFrame([first[a] for a in grown]).drop("regions")
        store.record_scan(None, partial)
        result = scan(store)
        assert result.completed is not None and set(result.completed["alert_id"]) == set(grown)
        now = store.alerts().filter(pl.col("alert_id").is_in(grown)).select(SAME)
    finally:
        store.close()
    assert now.sort("alert_id").equals(
        batch.filter(pl.col("alert_id").is_in(grown)).select(SAME).sort("alert_id"))


def test_a_restarted_stream_carries_on_from_what_the_store_holds(day):
    """A stream killed at lunch and started again feeds its new window the store's
    recent events first (`stored_events`): the day's alerts are then the scan's, the
    close's whole-day cases included. Without them, they are not."""
    batch, register, events, data = day
    mid = min(int(f["ts_event"].min()) for f in events.values()) + 3 * 3600 * SECOND
    before = {n: f.filter(pl.col("ts_event") < mid) for n, f in events.items()}
    after = {n: f.filter(pl.col("ts_event") >= mid) for n, f in events.items()}
    first = Window()
    first.register(register)
    killed = fed(first, before, 900)  # never drained

    def restarted(restore: bool) -> pl.DataFrame:
        w = Window()
        w.register(register)
        if restore:
            store = open_store(data)  # as it was at the restart: the reports before `mid`
            try:
                for name, rows in stored_events(store, w.horizon(), until=mid):
                    w.add(name, rows)
            finally:
                store.close()
        versions = fed(w, after, 900) + [w.advance(drained=True)]
        return fullest(pl.concat(killed + versions)).select(SAME).sort("alert_id")

    expected = batch.select(SAME).sort("alert_id")
    assert restarted(restore=True).equals(expected)
    assert not restarted(restore=False).equals(expected)
