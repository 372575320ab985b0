"""The dashboard's alert pages: the queue, an alert with its evidence, and what an
analyst does with them (`ui` holds the sessions and the other pages)."""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from suptech.detect.evidence import PICTURED, Evidence
from suptech.detect.run import REGISTRY
from suptech.model import display
from suptech.model.alert import detectors
from suptech.ops import cases, views
from suptech.ops.access import Conflict, User
from suptech.server import charts
from suptech.server.ui import _services, _user, act, page, words

#: Alerts a page of the queue shows.
PAGE = 50


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    @r.get("/alerts", response_class=HTMLResponse)
    def alert_queue(request: Request, who: User = Depends(_user), typology: str = "",
                    status: str = "", sort: str = "score", p: int = 1, isin: str = ""):
        s = _services(request)
        frame = s.alerts(who)
        if typology:
            frame = frame.filter(pl.col("typology") == typology)
        if isin:  # an instrument's alerts (the risk page's cells lead here)
            frame = frame.filter(pl.col("isin") == isin)
        order = {"score": (["score", "alert_id"], [True, False]),
                 "time": (["window_start", "alert_id"], [True, False])}.get(sort, ("score", True))
        rows = s.with_status(frame.sort(order[0], descending=order[1]))
        if status:
            rows = [x for x in rows if x["status"] == status]
        pages = max(1, -(-len(rows) // PAGE))
        p = min(max(p, 1), pages)
        shown = {"typology": typology, "status": status, "sort": sort,
                 **({"isin": isin} if isin else {})}
        w = words(request, who)
        with s.ops.connect() as con:
            saved = views.mine(con, who)
        return page(request, "alerts.html", who, views=saved,
                    alerts=[{**x, "detectors": detectors(x["detector"], x.get("explanation"))}
                            for x in rows[(p - 1) * PAGE:p * PAGE]],
                    total=len(rows), p=p, pages=pages,
                    typologies=list(REGISTRY.typologies()), statuses=cases.ALERT_STATUSES,
                    typology_names={t: w.typology(t) for t in REGISTRY.typologies()},
                    query=views.queue_query(urlencode(shown)), **shown)

    @r.post("/alerts/views")
    def save_view(request: Request, who: User = Depends(_user), name: str = Form(""),
                  query: str = Form(""), forget: str = Form("")):
        """Save the queue's filter under a name (or, with `forget`, drop a view)."""
        s, w = _services(request), words(request, who)

        def do() -> str:
            with s.ops.begin() as con:
                if forget:
                    views.forget(con, who, forget)
                    return w("view {name} removed", name=forget)
                views.save(con, who, name, query)
                return w("view {name} saved", name=name.strip())
        kept = views.queue_query(query)
        return act("/ui/alerts" + (f"?{kept}" if kept else ""), do, w)

    @r.get("/alerts/live")
    async def live_alerts(request: Request, who: User = Depends(_user)):
        """Server-sent events: each streaming alert of the user's jurisdiction as it is
        published. 204 (which tells EventSource to stop) when the server has no stream."""
        who.require("analyst", "supervisor")
        live = getattr(request.app.state, "live", None)
        if live is None:
            return Response(status_code=204)
        url, prefix = live

        async def events():
            import nats

            heard: asyncio.Queue = asyncio.Queue()
            nc = await nats.connect(url)
            try:
                await nc.subscribe(f"{prefix}.alerts.{who.jurisdiction}", cb=heard.put)
                yield ": listening\n\n"
                while not await request.is_disconnected():
                    try:
                        m = await asyncio.wait_for(heard.get(), 15)
                    except asyncio.TimeoutError:
                        yield ": still here\n\n"  # keeps proxies from closing the stream
                        continue
                    yield f"data: {m.data.decode()}\n\n"
            finally:
                await nc.close()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @r.post("/alerts/bulk")
    def bulk(request: Request, who: User = Depends(_user), action: str = Form(...),
             alert_ids: list[str] = Form(default=[]), reason: str = Form(""),
             query: str = Form("")):
        s, w = _services(request), words(request, who)

        def do() -> str:
            if not alert_ids:
                raise Conflict("select at least one alert")
            if action == "dismiss":
                s.triage(who, alert_ids, "dismiss", reason)
                return w("{n} alert(s) dismissed", n=len(alert_ids))
            s.triage(who, alert_ids, "assign", who.user_id)
            return w("{n} alert(s) assigned to you", n=len(alert_ids))
        # Back to the queue as it was filtered, on the same page.
        kept = views.queue_query(query, views.QUEUE + ("p",))
        return act("/ui/alerts" + (f"?{kept}" if kept else ""), do, w)

    @r.get("/alerts/{alert_id}", response_class=HTMLResponse)
    def alert_page(request: Request, alert_id: str, who: User = Depends(_user)):
        s, w = _services(request), words(request, who)
        row, ev, timeline = s.alert_detail(who, alert_id)
        if "payments" in ev:
            figure = charts.money_flow(ev["payments"], row, w, ev["accounts"])
            tables = {"payments": ev["payments"], "accounts": ev["accounts"]}
        elif REGISTRY.get(row["detector"]).domain == "investor":
            figure, tables = None, ev  # sales and assessments, or a complaint: tables
        else:
            figure = charts.book_replay(Evidence.of(ev), row, w)
            tables = {k: v for k, v in ev.items() if k not in PICTURED}
        ticks = s.ticks(row.get("isin"))
        with s.ops.connect() as con:
            open_cases = cases.list_cases(con, who)
        detector = REGISTRY.get(row["detector"])
        about = sys.modules[detector.__module__].__doc__ or detector.__doc__ or ""
        row["detectors"] = detectors(row["detector"], row.get("explanation"))
        return page(request, "alert.html", who, alert=row,
                    chart=charts.to_json(figure) if figure is not None else None,
                    about=about.strip(),
                    kind="payments" if "payments" in ev else "book",
                    tables={k: (v.columns, display.readable(v.head(200), ticks).rows())
                            for k, v in tables.items()},
                    timeline=timeline, drivers=charts.drivers(row.get("explanation"), w),
                    parameters=json.dumps(json.loads(row["parameters"]), indent=1),
                    cases=[c for c in open_cases if c["state"] not in
                           {x.value for x in cases.CLOSED}])

    @r.post("/alerts/{alert_id}/act")
    def alert_action(request: Request, alert_id: str, who: User = Depends(_user),
                     action: str = Form(...), text: str = Form(""), case_id: str = Form("")):
        s, w = _services(request), words(request, who)
        url = f"/ui/alerts/{alert_id}"

        def do() -> str:
            if action == "assign":
                s.triage(who, [alert_id], "assign", who.user_id)
                return w("assigned to you")
            if action == "dismiss":
                s.triage(who, [alert_id], "dismiss", text)
                return w("dismissed")
            if action == "escalate":
                s.triage(who, [alert_id], "escalate")
                return w("escalated")
            s.alert(who, alert_id)
            with s.ops.begin() as con:
                if action == "comment":
                    cases.comment(con, who, "alert", alert_id, text)
                    return w("comment added")
                if action == "add_to_case":
                    cases.add_alerts(con, who, case_id, [alert_id])
                    return w("added to {case_id}", case_id=case_id)
            raise Conflict("unknown action {action}", action=repr(action))
        return act(url, do, w)

    return r
