"""Trading calendars: a market's time zone, its sessions, its breaks and its closing call.

Detectors reason in a market's own time: the trading day, the time of day, the close,
and a "trading clock" that stops over a break between sessions (an order at 11:29 and
one at 13:01 are two minutes apart for a trader in Shanghai). Each venue (ISO 10383
MIC) has its calendar; an instrument takes its venue's, and one whose venue has none
takes the default, the Shanghai and Shenzhen timetable.

The offset from UTC is fixed: the Chinese markets keep no summer time. A market that
does (Nasdaq) is configured with its offset of the period its data covers.

Calendars other than the built-in ones come from a TOML file named by
`SUPTECH_CALENDARS`, one table per MIC:

    [XNAS]
    utc_offset = "-04:00"
    sessions = ["09:30-16:00"]
    closing_call = "15:50-16:00"   # optional
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SECOND = 1_000_000_000
DAY = 86_400 * SECOND
EPOCH = dt.date(1970, 1, 1)


def _hhmm(text: str, where: str) -> int:
    """Seconds since midnight of "HH:MM"."""
    try:
        h, m = text.split(":")
        seconds = int(h) * 3600 + int(m) * 60
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a time of day HH:MM") from None
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"{where}: {text!r} is not a time of day HH:MM")
    return seconds


def _span(text: str, where: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{where}: {text!r} is not a span HH:MM-HH:MM")
    a, b = _hhmm(start.strip(), where), _hhmm(end.strip(), where)
    if b < a:
        raise ValueError(f"{where}: {text!r} ends before it starts")
    return a, b


@dataclass(frozen=True)
class Calendar:
    """Times are seconds since local midnight; `utc_offset` seconds east of UTC."""

    utc_offset: int
    sessions: tuple[tuple[int, int], ...]  # continuous trading, in order
    closing_call: tuple[int, int] | None = None

    def __post_init__(self):
        if not self.sessions:
            raise ValueError("a calendar needs at least one session")
        ends = [t for s in self.sessions for t in s]
        if ends != sorted(ends):
            raise ValueError("sessions must be in order and must not overlap")

    @property
    def offset_ns(self) -> int:
        return self.utc_offset * SECOND

    @property
    def breaks(self) -> tuple[tuple[int, int], ...]:
        """Pauses between sessions (the lunch break), in ns since local midnight."""
        return tuple((a[1] * SECOND, b[0] * SECOND)
                     for a, b in zip(self.sessions, self.sessions[1:]) if b[0] > a[1])

    @property
    def close_call_start(self) -> int | None:
        """When the closing call opens, ns since local midnight (None: no call)."""
        return None if self.closing_call is None else self.closing_call[0] * SECOND

    @property
    def close_tod(self) -> int:
        """When the day's trading ends (the closing call's end, or the last session's),
        ns since local midnight."""
        return (self.closing_call or self.sessions[-1])[1] * SECOND

    def close(self, day: int) -> int:
        """When trading on local `day` ends, ns UTC."""
        return self.day_start(day) + self.close_tod

    def trading_time(self, ts: int) -> int:
        """The trading clock at `ts` (ns UTC): stopped over the breaks between sessions.
        `suptech.detect.market.data.Clock.trading_time` is this, as an expression over
        a column."""
        tod = (ts + self.offset_ns) % DAY
        return ts - sum(min(max(tod - a, 0), b - a) for a, b in self.breaks)

    def local_day(self, ts: int) -> int:
        """The local trading day of `ts` (ns UTC), as days since the epoch."""
        return (ts + self.offset_ns) // DAY

    def day_start(self, day: int) -> int:
        """Local midnight of `day`, ns UTC."""
        return day * DAY - self.offset_ns

    def local_date(self, ts: int) -> dt.date:
        """The local date of `ts` (ns UTC)."""
        return date_of(self.local_day(ts))


#: Shanghai and Shenzhen: 09:30-11:30 and 13:00-14:57 continuous, a closing call
#: auction 14:57-15:00 (SSE and SZSE trading rules, 2023).
CN_EQUITY = Calendar(8 * 3600, ((9 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 14 * 3600 + 3420)),
                     (14 * 3600 + 3420, 15 * 3600))
#: CFFEX stock index futures: 09:30-11:30 and 13:00-15:00, no call at the close.
CN_FUTURES = Calendar(8 * 3600, ((9 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 15 * 3600)))

#: Off-exchange (ISO 10383 XOFF), where crypto venues without a MIC are filed: trading
#: around the clock, days counted in UTC.
AROUND_THE_CLOCK = Calendar(0, ((0, 86_400),))

BUILT_IN = {"XSHG": CN_EQUITY, "XSHE": CN_EQUITY, "CCFX": CN_FUTURES, "XOFF": AROUND_THE_CLOCK}
DEFAULT = CN_EQUITY


def load(path: Path) -> dict[str, Calendar]:
    """Calendars of a TOML file (see the module's docstring), by MIC; a clear error
    naming the MIC and the field for anything malformed."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"calendars {path}: {e}") from None
    out = {}
    for mic, entry in data.items():
        where = f"calendars {path} [{mic}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: not a table")
        offset = str(entry.get("utc_offset", ""))
        sign = -1 if offset.startswith("-") else 1
        seconds = _hhmm(offset.lstrip("+-"), f"{where} utc_offset")
        sessions = entry.get("sessions")
        if not isinstance(sessions, list) or not sessions:
            raise ValueError(f"{where}: sessions must be a list of spans HH:MM-HH:MM")
        call = entry.get("closing_call")
        try:
            out[mic] = Calendar(sign * seconds,
                                tuple(_span(str(s), f"{where} sessions") for s in sessions),
                                None if call is None else _span(str(call), f"{where} closing_call"))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    return out


def calendars() -> dict[str, Calendar]:
    """The built-in calendars and those of `SUPTECH_CALENDARS`, which win."""
    path = os.environ.get("SUPTECH_CALENDARS")
    return BUILT_IN | (load(Path(path)) if path else {})


def longest_break() -> int:
    """The longest pause between sessions of any calendar (ns): how much later than
    `n` trading minutes a window may end in wall-clock time."""
    return max((b - a for c in calendars().values() for a, b in c.breaks), default=0)


def date_of(day: int) -> dt.date:
    """The date of `day`, days since the epoch."""
    return EPOCH + dt.timedelta(days=day)


def day_of(date: dt.date) -> int:
    """`date` as days since the epoch (`date_of`'s inverse)."""
    return (date - EPOCH).days


def calendar(mic: str | None) -> Calendar:
    return calendars().get(mic or "", DEFAULT)


@cache
def _closed(mic: str, year: int) -> frozenset[dt.date]:
    import holidays

    known = holidays.list_supported_financial()
    return frozenset(holidays.financial_holidays(mic if mic in known else "XSHG", years=year))


def is_trading_day(mic: str | None, day: dt.date) -> bool:
    """Whether the market trades on `day`: a weekday that is not one of its exchange's
    holidays (python-holidays' financial calendars; the Shanghai exchange's for a market
    they do not know). Exchanges stay closed on China's make-up working weekends."""
    return day.weekday() < 5 and day not in _closed(mic or "XSHG", day.year)


def add_trading_days(mic: str | None, day: dt.date, n: int) -> dt.date:
    """The `n`-th trading day after `day` (`day` itself for 0)."""
    while n > 0:
        day += dt.timedelta(days=1)
        n -= is_trading_day(mic, day)
    return day
