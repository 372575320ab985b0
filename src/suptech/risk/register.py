"""The new-technology risk register as the indicators read it: each day's applications
in force, their cover, assessments and incidents (`suptech.model.reports_risk`).

A register's day is a calendar day: reviews fall due and insurance ends on weekends too.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.risk.data import in_force


def applications(r, days: ir.Table) -> ir.Table:
    """Each day's applications that are live by then, as last reported."""
    apps = in_force(r.reports("tech_application"), ["application_id"], days)
    return apps.filter(apps.live_from.epoch_days() <= apps.day)


def raised_once(t: ir.Table, key: str, breach: ir.BooleanValue) -> ir.BooleanValue:
    """A breach is raised on its first day, not each day it lasts: `breach` and not on
    the calendar day before (`t` holds the day before the range, `RiskData.days`; a
    subject with no row that day was not in breach)."""
    before = ibis.window(group_by=key, order_by="day")
    was = ibis.coalesce(breach.lag().over(before), False) \
        & (t.day.lag().over(before) == t.day - 1)
    return breach & ~was
