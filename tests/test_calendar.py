"""Trading calendars: each venue keeps its own hours, and detectors read them from one place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import ibis
import pytest

from suptech.detect.market.data import Clock
from suptech.model.calendar import CN_EQUITY, CN_FUTURES, calendar, load

NS = 1_000_000_000
SHANGHAI = timezone(timedelta(hours=8))


def ns(text: str, tz=SHANGHAI) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()) * NS


def evaluate(expr, **columns):
    t = ibis.memtable(columns)
    con = ibis.duckdb.connect()
    return con.execute(t.select(out=expr(t)))["out"].tolist()


def test_the_chinese_venues_have_their_exchanges_hours():
    assert calendar("XSHG") == calendar("XSHE") == CN_EQUITY
    assert CN_EQUITY.close_call_start == (14 * 3600 + 57 * 60) * NS
    assert calendar("CCFX") == CN_FUTURES and CN_FUTURES.close_call_start is None
    assert calendar("XXXX") == CN_EQUITY  # a venue without a calendar: the default


def test_the_trading_clock_stops_over_the_lunch_break():
    clock = Clock(["XSHG"])
    before, after = ns("2026-03-02T11:29:00"), ns("2026-03-02T13:01:00")
    tt = evaluate(lambda t: clock.trading_time(t.ts), ts=[before, after])
    assert tt[1] - tt[0] == 2 * 60 * NS


@pytest.mark.parametrize("at", ["09:29:00", "09:31:00", "11:30:00", "12:15:00", "13:00:00",
                                "13:01:30", "14:58:00", "15:30:00"])
def test_the_clock_of_one_moment_is_the_clock_of_a_column(at):
    """A stream's window reads its own clock from the calendar; the detectors read each
    row's through `Clock`: the same clock."""
    ts = ns(f"2026-03-02T{at}")
    for mic, cal in (("XSHG", CN_EQUITY), ("CCFX", CN_FUTURES)):
        assert evaluate(lambda t: Clock([mic]).trading_time(t.ts), ts=[ts]) \
            == [cal.trading_time(ts)]


def test_a_venue_configured_in_a_file_keeps_its_own_day_and_close(tmp_path, monkeypatch):
    path = tmp_path / "calendars.toml"
    path.write_text('[XNAS]\nutc_offset = "-04:00"\nsessions = ["09:30-16:00"]\n'
                    'closing_call = "15:50-16:00"\n')
    monkeypatch.setenv("SUPTECH_CALENDARS", str(path))
    clock = Clock(["XSHG", "XNAS"])
    assert clock.needs_mic
    # 23:00 in New York on 2 March is 11:00 on 3 March in Shanghai.
    ts = ns("2026-03-02T23:00:00", timezone(timedelta(hours=-4)))
    day = evaluate(lambda t: clock.day(t.ts, t.mic), ts=[ts, ts], mic=["XNAS", "XSHG"])
    assert day[1] - day[0] == 1
    close = evaluate(lambda t: clock.close_call_start(t.mic), mic=["XNAS", "XSHG"])
    assert close == [(15 * 3600 + 50 * 60) * NS, (14 * 3600 + 57 * 60) * NS]


@pytest.mark.parametrize("text, says", [
    ('[XNAS]\nutc_offset = "-04:00"\nsessions = ["16:00-09:30"]\n', "ends before it starts"),
    ('[XNAS]\nutc_offset = "-04:00"\n', "sessions must be a list"),
    ('[XNAS]\nutc_offset = "four"\nsessions = ["09:30-16:00"]\n', "utc_offset"),
    ('[XNAS]\nutc_offset = "-04:00"\nsessions = ["12:00-16:00", "09:30-11:00"]\n', "in order"),
    ("[XNAS\n", "calendars"),
])
def test_a_malformed_calendar_file_says_which_venue_and_why(tmp_path, text, says):
    path = tmp_path / "calendars.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=says) as e:
        load(path)
    assert str(path) in str(e.value)
