"""The dashboard's investor protection: each institution's sales against the suitability
rule and its complaints against their clock, and one complaint's page, in the caller's
jurisdiction (`suptech.investor.views`)."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from suptech.detect.base import REGISTRY
from suptech.ops.access import NotFound, User
from suptech.server.ui import _services, _user, date_or_today, page, words


def investor_typologies() -> list[str]:
    return sorted({c.typology for c in REGISTRY.detectors.values() if c.domain == "investor"})


def _about(s, who: User, subjects: list[str]) -> pl.DataFrame:
    """The caller's alerts whose subject (an explanation's first key) is one of these."""
    alerts = s.alerts(who)
    return s.with_status(alerts.filter(pl.col("explanation").str.json_path_match(
        "$.subject").is_in(subjects)))


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    @r.get("/investors", response_class=HTMLResponse)
    def investors_page(request: Request, who: User = Depends(_user), date: str = ""):
        from suptech.investor.views import complaints, institutions

        who.require("analyst", "supervisor")
        s, on = _services(request), date_or_today(date)
        per, listed = s.kept(("investors", who.jurisdiction, on), lambda store: (
            institutions(store, who.jurisdiction, on), complaints(store, who.jurisdiction, on)))
        alerts = s.alerts(who).filter(pl.col("typology").is_in(investor_typologies()))
        alerts = alerts.with_columns(
            subject=pl.col("explanation").str.json_path_match("$.subject"),
            investor=pl.col("explanation").str.json_path_match("$.investor"))
        return page(request, "investors.html", who, day=on.isoformat(),
                    institutions=per.to_dicts(), complaints=listed.head(200).to_dicts(),
                    alerts=s.with_status(alerts.sort("window_start", descending=True)
                                         .head(200)))

    @r.get("/investors/{party_id}", response_class=HTMLResponse)
    def profile_page(request: Request, party_id: str, who: User = Depends(_user),
                     date: str = ""):
        from suptech.investor.views import profile
        from suptech.server.charts import to_json
        from suptech.server.charts_investor import risk_profile

        who.require("analyst", "supervisor")
        s, on = _services(request), date_or_today(date)
        with s.reader() as store:
            found = profile(store, who.jurisdiction, party_id, on)
        if found is None:
            raise NotFound("no investor {party_id}", party_id=party_id)
        chart = found["profile"] and to_json(risk_profile(found["profile"], words(request, who)))
        subjects = [party_id] + [x["sale_id"] for x in found["sales"]] \
            + [c["complaint_id"] for c in found["complaints"]]
        return page(request, "profile.html", who, day=on.isoformat(), p=found, chart=chart,
                    alerts=_about(s, who, subjects))

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
        # Its own alerts, and those of the sales it names or its complainant bought there.
        subjects = [complaint_id] + [x["sale_id"] for x in found["steps"] if x["sale_id"]] \
            + found["sales"]
        return page(request, "complaint.html", who, day=on.isoformat(), c=found,
                    alerts=_about(s, who, subjects))

    return r
