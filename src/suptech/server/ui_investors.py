"""The dashboard's investor protection: each institution's sales against the suitability
rule and its complaints against their clock, and one complaint's page, in the caller's
jurisdiction (`suptech.investor.views`)."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from suptech.ops.access import NotFound, User
from suptech.server.ui import _services, _user, date_or_today, page

KINDS = ("UNSUITABLE_SALE", "MISSING_RECORDING", "REASSESSMENT_GAMING",
         "ELDERLY_HIGH_RISK_SALE", "ABOVE_LEVEL_PROMOTION", "COMPLAINT_OVERDUE")


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    @r.get("/investors", response_class=HTMLResponse)
    def investors_page(request: Request, who: User = Depends(_user), date: str = ""):
        from suptech.investor.views import complaints, institutions

        who.require("analyst", "supervisor")
        s, on = _services(request), date_or_today(date)
        with s.reader() as store:
            per = institutions(store, who.jurisdiction, on)
            listed = complaints(store, who.jurisdiction, on)
        alerts = s.alerts(who).filter(pl.col("typology").is_in(KINDS))
        return page(request, "investors.html", who, day=on.isoformat(),
                    institutions=per.to_dicts(), complaints=listed.head(200).to_dicts(),
                    alerts=s.with_status(alerts.sort("window_start", descending=True)
                                         .head(200)))

    @r.get("/complaints/{complaint_id}", response_class=HTMLResponse)
    def complaint_page(request: Request, complaint_id: str, who: User = Depends(_user),
                       date: str = ""):
        from suptech.investor.views import complaint

        who.require("analyst", "supervisor")
        s, on = _services(request), date_or_today(date)
        with s.reader() as store:
            found = complaint(store, who.jurisdiction, complaint_id, on)
        if found is None:
            raise NotFound("no complaint {complaint_id}", complaint_id=complaint_id)
        mine = s.alerts(who).filter(pl.col("explanation").str.contains(
            f'"subject": "{complaint_id}"', literal=True))
        return page(request, "complaint.html", who, day=on.isoformat(), c=found,
                    alerts=s.with_status(mine))

    return r
