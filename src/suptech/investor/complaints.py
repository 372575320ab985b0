"""Complaints as a workflow, with its clock, written once: the detector, the pages and the
tests read it from here.

A complaint (`complaint`) is received when it is reported; its institution reports each
step (`complaint_event`): acknowledged, extended (with the notice given to the
complainant), decided, reviewed, withdrawn. The decision is due within 15 days of
receipt; an extension noticed before the deadline moves it to 30 days, a second to 60
(the ladder of the CBIRC's Measures on Consumer Complaint Handling, art. 20, that the
securities regulators' follow). Days are working days of the Chinese calendar by
default: public holidays off, the make-up working days on (python-holidays'), the day
of receipt not counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

#: The deadlines, in days after receipt: at first, then after each extension.
LADDER = (15, 30, 60)
OPEN, DECIDED, REVIEWED, WITHDRAWN = "OPEN", "DECIDED", "REVIEWED", "WITHDRAWN"


@lru_cache(maxsize=32)
def _china(year: int):
    return holidays.China(years=year)


def working(day: dt.date) -> bool:
    """A working day in China: not a weekend or public holiday, or a make-up day."""
    return _china(day.year).is_working_day(day)


def add_days(start: dt.date, days: int, working_days: bool = True) -> dt.date:
    """The day `days` days after `start` (not counted), working days or calendar."""
    if not working_days:
        return start + dt.timedelta(days=days)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        left -= working(day)
    return day


@dataclass(frozen=True)
class Clock:
    """Where a complaint stands on a day."""

    state: str  # OPEN, DECIDED, REVIEWED or WITHDRAWN
    received: dt.date
    deadline: dt.date  # the decision's, after the extensions noticed in time
    extensions: int
    decided: dt.date | None

    @property
    def late(self) -> bool:
        """Decided after its deadline (or, open, past it: see `overdue`)."""
        return self.decided is not None and self.decided > self.deadline

    def overdue(self, on: dt.date) -> bool:
        return self.state == OPEN and on > self.deadline


def clock(received: dt.date, events: list[tuple[dt.date, str]], on: dt.date,
          working_days: bool = True) -> Clock:
    """The complaint received on `received`, with its events (day, kind) up to `on`."""
    deadline, extensions, state, decided = \
        add_days(received, LADDER[0], working_days), 0, OPEN, None
    for day, kind in sorted(e for e in events if e[0] <= on):
        if kind == "EXTENDED" and state == OPEN and day <= deadline \
                and extensions + 1 < len(LADDER):
            extensions += 1
            deadline = add_days(received, LADDER[extensions], working_days)
        elif kind == "DECIDED" and state == OPEN:
            state, decided = DECIDED, day
        elif kind == "REVIEWED" and state == DECIDED:
            state = REVIEWED
        elif kind == "WITHDRAWN" and state == OPEN:
            state = WITHDRAWN
    return Clock(state, received, deadline, extensions, decided)
