"""The new-technology risk register as the indicators read it: each day's applications
in force, their cover, assessments and incidents (`suptech.model.reports_risk`).

A register's day is a calendar day: reviews fall due and insurance ends on weekends too.
"""

from __future__ import annotations

import ibis.expr.types as ir

from suptech.risk.data import in_force


def applications(r, days: ir.Table) -> ir.Table:
    """Each day's applications that are live by then, as last reported."""
    apps = in_force(r.reports("tech_application"), ["application_id"], days)
    return apps.filter(apps.live_from.epoch_days() <= apps.day)
