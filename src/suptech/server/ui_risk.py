"""The dashboard's risk page: a day's risk indicators as a heat map of shares by
indicator, each cell a link to the alerts behind it, and the day's risk alerts.

The levels are the indicators' own (`suptech.risk.levels`), market-wide measures of
shares; the alerts are the caller's jurisdiction's, as in the queue."""

from __future__ import annotations

import datetime as dt

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from suptech.model.calendar import date_of, day_of
from suptech.ops.access import User
from suptech.pdf import download as pdf_download
from suptech.server import charts
from suptech.server.ui import _services, _user, page, words

#: Shares the heat map shows: those with the highest level of any indicator.
SHOWN = 40


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    @r.get("/risk", response_class=HTMLResponse)
    def risk_page(request: Request, who: User = Depends(_user), date: str = ""):
        from suptech.risk.levels import day_range, indicators, last_day

        who.require("analyst", "supervisor")
        s, w = _services(request), words(request, who)
        try:
            day = day_of(dt.date.fromisoformat(date)) if date else None
        except ValueError:
            day, date = None, ""
        if day is None:
            day = s.kept(("risk: last day",), last_day)
        found = _levels(s, day) if day is not None else None
        alerts = s.alerts(who)
        shown_day = date_of(day).isoformat() if day is not None else None
        if day is not None:
            start, end = day_range(day, day)
            alerts = alerts.filter(pl.col("detector").is_in([i.id for i in indicators()])
                                   & (pl.col("window_start") >= start)
                                   & (pl.col("window_start") < end))
        rows = s.with_status(alerts.sort("score", descending=True)) if day is not None else []
        return page(request, "risk.html", who, day=shown_day, alerts=rows,
                    measures=0 if found is None else found.height,
                    at_line=0 if found is None else int((found["level"].round(9) >= 1).sum()),
                    chart=charts.to_json(charts.risk_heatmap(found, shown_day, SHOWN, w))
                    if found is not None else None,
                    banks=_banks(found, w))

    @r.get("/risk/report.pdf")
    def risk_report(request: Request, date: str, who: User = Depends(_user)):
        """The day's risk report (`suptech risk report`) in the user's language."""
        from suptech.risk.report import daily_report

        who.require("analyst", "supervisor")
        s, w = _services(request), words(request, who)
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            return Response(f"{date!r} is not a date YYYY-MM-DD", status_code=422,
                            media_type="text/plain")
        found = _levels(s, day_of(day))
        with s.reader() as store:
            return pdf_download(lambda out: daily_report(store, day, out, w.language,
                                                         source=str(s.data_dir), found=found),
                                f"risk-report-{day}.pdf")

    return r


def _levels(s, day: int) -> pl.DataFrame:
    """A day's levels under the rules in force (one object while their file is
    unchanged), measured once for the page and its report (seconds each time)."""
    from suptech.risk.levels import levels
    from suptech.risk.rules import rules

    return s.kept(("risk: levels", day, id(rules())), lambda store: levels(store, day, day))


def _banks(found: pl.DataFrame | None, w) -> str | None:
    from suptech.risk.rules import rules

    fig = None if found is None else charts.exposure_bars(found, rules().debtrank.line, SHOWN, w)
    return charts.to_json(fig) if fig is not None else None
