"""The dashboard's new-technology risk register and innovation pilots, and the public
list of live pilots (a page and a CSV export, open to all: the supervisor publishes it).

A day's view is what the register's and the pilots' indicators measure that day
(`suptech.risk.register_view`); their breaches are alerts in the queue."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from suptech.model.calendar import day_of
from suptech.ops.access import User
from suptech.server import charts
from suptech.server.ui import _services, _user, date_or_today, page, words

BREACHES = ("TECH_COVER_SHORTFALL", "TECH_REVIEW_OVERDUE", "TECH_INCIDENTS",
            "PILOT_LIMIT_BREACH")


def _day(date: str) -> tuple[int, str]:
    """The day asked for (days since the epoch) and its ISO text; today if none or bad."""
    chosen = date_or_today(date)
    return day_of(chosen), chosen.isoformat()


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/ui/risk/register", response_class=HTMLResponse)
    def register_page(request: Request, who: User = Depends(_user), date: str = ""):
        from suptech.risk.register_view import register_view

        who.require("analyst", "supervisor")
        s, w = _services(request), words(request, who)
        day, shown = _day(date)
        with s.reader() as store:
            view = register_view(store, day)
        breaches = s.alerts(who).filter(pl.col("typology").is_in(BREACHES[:3]))
        return page(request, "register.html", who, day=shown,
                    institutions=view["institutions"].to_dicts(),
                    technologies=view["technologies"].to_dicts(),
                    applications=view["applications"].to_dicts(),
                    breaches=s.with_status(breaches.sort("window_start", descending=True)),
                    chart=charts.to_json(charts.incident_trend(view["incidents"], w)))

    @r.get("/ui/risk/pilots", response_class=HTMLResponse)
    def pilots_page(request: Request, who: User = Depends(_user), date: str = ""):
        from suptech.risk.register_view import pilots_view

        who.require("analyst", "supervisor")
        s = _services(request)
        day, shown = _day(date)
        with s.reader() as store:
            pilots = pilots_view(store, day)
        breaches = s.alerts(who).filter(pl.col("typology") == "PILOT_LIMIT_BREACH")
        return page(request, "pilots.html", who, day=shown, pilots=pilots.to_dicts(),
                    breaches=s.with_status(breaches.sort("window_start", descending=True)))

    @r.get("/public/pilots", response_class=HTMLResponse)
    def public_page(request: Request, date: str = ""):
        from suptech.risk.register_view import public_pilots

        s = _services(request)
        day, shown = _day(date)
        with s.reader() as store:
            live = public_pilots(store, day)
        return page(request, "public_pilots.html", None, day=shown, pilots=live.to_dicts())

    @r.get("/public/pilots.csv")
    def public_export(request: Request, date: str = "") -> Response:
        from suptech.risk.register_view import public_pilots

        s = _services(request)
        day, shown = _day(date)
        with s.reader() as store:
            live = public_pilots(store, day)
        return Response(live.write_csv(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="pilots-{shown}.csv"'})

    return r
