"""Serious incidents: a new-technology application with `max_serious` or more incidents
of high or critical severity within the rules' `window_days`, or (`critical_alone`) one
critical incident. The level is the serious incidents over `max_serious`, at least 1
with a critical one where that alone is a breach; raised on the day it reaches the line.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.indicator import Indicator, at_line, begins, why

SERIOUS = ("HIGH", "CRITICAL")


@register
class SeriousIncidents(Indicator):
    id = "tech_incidents"
    typology = "TECH_INCIDENTS"
    section = "technology"
    subject = "application"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        days = r.days("tech_incident")
        inc = r.reports("tech_incident")
        inc = inc.filter(inc.severity.isin(SERIOUS))
        # Every day an incident is within the window of: its day and the window's after.
        t = inc.join(days, (inc.since <= days.day) & (days.day < inc.since + rule.window_days))
        t = t.group_by([t.day, t.application_id]).aggregate(
            serious=t.count(), critical=(t.severity == "CRITICAL").sum(),
            loss=t.loss.cast("float64").sum(), ids=t.incident_id.collect().join(","))
        level = t.serious / rule.max_serious
        if rule.critical_alone:
            level = ibis.greatest(level, ibis.ifelse(t.critical > 0, 1.0, 0.0))
        t = t.mutate(level=level.cast("float64"))
        t = t.mutate(raised=begins(t, "application_id", "day", at_line(t.level), step=1))
        t = r.reported(t)
        return t.select(
            "day", "level", "raised", isin=ibis.null("string"), subject=t.application_id,
            value=t.serious.cast("float64"), accounts=ibis.literal([], type="array<string>"),
            why=why(measure="high and critical incidents in the window",
                    application=t.application_id, serious=t.serious, critical=t.critical,
                    window_days=rule.window_days, max_serious=rule.max_serious,
                    losses=t.loss, incidents=t.ids))
