"""The dashboard's data quality: each reporting institution's indicators over a month
beside the market's (what `suptech reconcile` kept), the days' trend, the month's
breaks, and each institution's report card (PDF). Supervisors and analysts see every
institution; a submitter its own card."""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from suptech.ops.access import NotFound, User
from suptech.pdf import download as pdf_download
from suptech.server.ui import _services, _user, page, words

#: Breaks listed on the page; the CLI writes them all.
SHOWN = 200


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    @r.get("/quality", response_class=HTMLResponse)
    def quality_page(request: Request, who: User = Depends(_user), month: str = ""):
        from suptech.reconcile.card import MEANINGS, NAMES
        from suptech.reconcile.quality import INDICATORS
        from suptech.reconcile.quality_view import daily, market, month_of, table
        from suptech.server.charts import to_json
        from suptech.server.charts_quality import quality_trend

        who.require("analyst", "supervisor")
        s, w = _services(request), words(request, who)
        with s.reader() as store:
            m = month_of(store, month or None)
        if m is None or m.empty:
            return page(request, "quality.html", who, month=month or (m.label if m else ""),
                        rows=[], indicators=[], market={}, breaks=[], chart=None)
        days = daily(m)
        breaks = m.breaks.sort(["day", "code", "ts_event"]).head(SHOWN).with_columns(
            day=pl.col("day").cast(pl.Date))
        return page(request, "quality.html", who, month=m.label,
                    rows=table(m, s.institution_names()),
                    indicators=[(k, NAMES[k], MEANINGS[k], INDICATORS[k][1]) for k in INDICATORS],
                    market=market(m), breaks=breaks.to_dicts(), n_breaks=m.breaks.height,
                    chart=to_json(quality_trend(days, w)) if days["day"].n_unique() > 1
                    else None)

    @r.get("/quality/{lei}/card.pdf")
    def card(request: Request, lei: str, who: User = Depends(_user), month: str = ""):
        """An institution's report card for a month, in the user's language."""
        from suptech.reconcile.card import report_card
        from suptech.reconcile.quality_view import month_of

        if who.role == "submitter":
            if lei != who.lei:
                raise NotFound("no report card {lei}", lei=lei)
        else:
            who.require("analyst", "supervisor")
        s, w = _services(request), words(request, who)
        with s.reader() as store:
            m = month_of(store, month or None)
        if m is None:
            return Response(f"{month!r} is not a month YYYY-MM, or nothing was reconciled",
                            status_code=404, media_type="text/plain")
        name = s.institution_names().get(lei, "")
        return pdf_download(lambda out: report_card(m, lei, out, w.language, name),
                            f"data-quality-{lei}-{m.label}.pdf")

    return r
