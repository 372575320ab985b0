"""The analyst's dashboard: server-rendered pages over the same services as the API.

A user logs in with its API token; the server starts a session of its own for it and
the browser keeps only the session's random id, in an HttpOnly, SameSite=Strict cookie
(Secure over TLS), so another site cannot make the browser act (`guard` also refuses
changes from another origin). Pages are plain HTML forms and
links, usable with the keyboard; charts are Plotly, drawn in the page from figures the
server builds. Every action answers with a redirect back, carrying a message.
"""

from __future__ import annotations

import datetime as dt

import json
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import quote

import polars as pl
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from suptech import i18n
from suptech.detect.run import REGISTRY
from suptech.model import display
from suptech.ops import access, cases
from suptech.ops.access import Conflict, NotFound, Refused, Said, User
from suptech.server import charts, guard, scope
from suptech.server.services import Services

COOKIE = "suptech_session"
#: The language chosen on this browser before logging in (the login page's).
LANGUAGE_COOKIE = "suptech_language"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class LoginRequired(Exception):
    """No valid session: the page sends the browser to the login form."""


def _services(request: Request) -> Services:
    return request.app.state.services


class Sessions:
    """Dashboard sessions, kept by the server: the browser holds a random id, never the
    API token, and logging out ends the session here, whatever became of the cookie.
    Each session's token is authenticated on every request, so revoking the user's
    tokens ends its sessions too (within `SUPTECH_TOKEN_TTL` seconds where another
    process revoked them: `suptech.server.guard.KnownTokens`). Kept in memory: a
    restart logs everyone out."""

    IDLE = 8 * 3600.0

    def __init__(self):
        self._by_id: dict[str, list] = {}  # id -> [token, last seen]
        self._lock = threading.Lock()

    def start(self, token: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            for k in [k for k, (_, seen) in self._by_id.items() if now - seen > self.IDLE]:
                del self._by_id[k]
            self._by_id[sid] = [token, now]
        return sid

    def token(self, sid: str) -> str | None:
        with self._lock:
            entry = self._by_id.get(sid)
            if entry is None or time.monotonic() - entry[1] > self.IDLE:
                self._by_id.pop(sid, None)
                return None
            entry[1] = time.monotonic()
            return entry[0]

    def end(self, sid: str) -> None:
        with self._lock:
            self._by_id.pop(sid, None)


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def _user(request: Request) -> User:
    sid = request.cookies.get(COOKIE)
    token = _sessions(request).token(sid) if sid else None
    if not token:
        raise LoginRequired
    with _services(request).ops.connect() as con:
        who = access.authenticate(con, token)
    if who is None:
        raise LoginRequired
    return who


def words(request: Request, who: User | None) -> i18n.Words:
    """The page's language: the user's setting, else this browser's choice, else its
    Accept-Language, else English (`suptech.i18n`)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return i18n.words((who.language if who else None)
                      or (chosen if chosen in i18n.LANGUAGES else None)
                      or i18n.negotiate(request.headers.get("accept-language")))


def _back(url: str, message: str, error: bool = False) -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}{'error' if error else 'msg'}={quote(message)}",
                            status_code=303)


def _local(ns: int | None) -> str:
    return "" if ns is None else display.local_times(pl.Series([ns]))[0][:19]


templates.env.filters["local"] = _local
templates.env.filters["iso_local"] = lambda text: display.iso_local(text) if text else ""
templates.env.globals["zone"] = display.zone


def date_or_today(text: str) -> dt.date:
    """A page's `?date=`: the day named, else (none, or not a date) today."""
    try:
        return dt.date.fromisoformat(text) if text else dt.date.today()
    except ValueError:
        return dt.date.today()


def page(request: Request, name: str, who: User | None, **context) -> HTMLResponse:
    w = words(request, who)
    return templates.TemplateResponse(request, name, {
        "who": who, "msg": request.query_params.get("msg"),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "_": w, "lang": w.language, "languages": i18n.LANGUAGES, "here": request.url.path,
        "error": request.query_params.get("error"), **context})


def said(e: Exception, w: i18n.Words) -> str:
    """An error's message in the page's language (ours are `Said`; others in English)."""
    return e.said(w) if isinstance(e, Said) else str(e)


def act(url: str, do, w: i18n.Words) -> RedirectResponse:
    """Run an action; its message, or its refusal or conflict, comes back as the page's
    message, in the user's language."""
    try:
        message = do()
    except (Refused, Conflict, NotFound, ValueError) as e:
        return _back(url, said(e, w), error=True)
    return _back(url, message)


def router() -> APIRouter:
    r = APIRouter(prefix="/ui", include_in_schema=False)

    # ---- session ----

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        return page(request, "login.html", None)

    @r.post("/login")
    def login(request: Request, token: str = Form(...)):
        who = request.app.state.check_token(token.strip(), guard.client(request.scope))
        if who is None:
            w = words(request, None)
            return _back("/ui/login", w("unknown or revoked token"), error=True)
        response = RedirectResponse("/ui" if who.role in ("analyst", "supervisor")
                                    else "/ui/submissions", status_code=303)
        response.set_cookie(COOKIE, _sessions(request).start(token.strip()), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    @r.post("/logout")
    def logout(request: Request):
        sid = request.cookies.get(COOKIE)
        if sid:
            _sessions(request).end(sid)
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @r.post("/language")
    def choose_language(request: Request, language: str = Form(...), back: str = Form("/ui")):
        """The language chosen: this browser's from now on, and the user's own setting
        where one is logged in."""
        if language not in i18n.LANGUAGES:
            language = i18n.DEFAULT
        try:
            who = _user(request)
        except LoginRequired:
            who = None
        if who is not None:
            with _services(request).ops.begin() as con:
                access.set_language(con, who, language)
        # Back to the page it was chosen on, on this site only.
        response = RedirectResponse(back if back.startswith("/ui") else "/ui", status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="strict",
                            secure=request.url.scheme == "https", max_age=365 * 86400)
        return response

    # ---- overview ----

    @r.get("", response_class=HTMLResponse)
    def overview(request: Request, who: User = Depends(_user)):
        s = _services(request)
        if who.role not in ("analyst", "supervisor"):
            return RedirectResponse("/ui/submissions", status_code=303)
        alerts = s.alerts(who)
        received, quality = s.kept(("overview", who.jurisdiction), lambda store: (
            received_reports(store, who.jurisdiction), data_quality(store)))
        names, w = s.institution_names(), words(request, who)
        return page(request, "overview.html", who, received=received, quality=quality["files"],
                    names=names,
                    alerts_chart=charts.to_json(charts.alerts_per_day(
                        alerts, list(REGISTRY.typologies()), w)),
                    rejections_chart=charts.to_json(charts.rejections(quality["codes"].with_columns(
                        pl.col("institution").replace(names)), w)),
                    n_alerts=alerts.height)

    def received_reports(store, jurisdiction: str) -> list[dict]:
        """Orders, trades and payments of the jurisdiction, counted by submitter and
        market (a payment's channel)."""
        received = []
        for type_name, market in (("order_event", "mic"), ("trade", "mic"),
                                  ("payment", "channel")):
            t = scope.reports_in(store, type_name, jurisdiction)
            counts = t.group_by([t.submitter, t[market].name("market")]).aggregate(
                reports=t.count())
            received += [{"type": type_name, **row} for row in
                         pl.from_arrow(counts.to_pyarrow()).sort("reports", descending=True)
                         .to_dicts()]
        return received

    def data_quality(store) -> dict[str, pl.DataFrame]:
        subs = pl.from_arrow(store.submissions())
        who_sent = store.institutions()
        files = subs.join(who_sent, on="batch_id", how="left").with_columns(
            pl.col("institution").fill_null("(unknown)"))
        per = files.group_by("institution").agg(
            pl.len().alias("files"), pl.col("rows").sum(), pl.col("rejected").sum(),
            pl.col("warnings").sum()).with_columns(
            (pl.col("rejected") / pl.col("rows").clip(lower_bound=1)).alias("rate")) \
            .sort("rate", descending=True)
        codes = store.feedback_counts().join(files.select("batch_id", "institution"),
                                               on="batch_id", how="left") \
            .group_by(["institution", "code"]).agg(pl.col("rows").sum()).sort("institution")
        return {"files": per.to_dicts(), "codes": codes}

    # ---- cases ----

    @r.get("/cases", response_class=HTMLResponse)
    def case_list(request: Request, who: User = Depends(_user)):
        s = _services(request)
        with s.ops.connect() as con:
            rows = cases.list_cases(con, who)
        return page(request, "cases.html", who, cases=rows)

    @r.post("/cases")
    def new_case(request: Request, who: User = Depends(_user), title: str = Form(...),
                 alert_ids: str = Form("")):
        s, w = _services(request), words(request, who)
        ids = [a.strip() for a in alert_ids.replace(",", " ").split() if a.strip()]
        try:
            s.check_alerts(who, ids)
            with s.ops.begin() as con:
                case = cases.open_case(con, who, title, ids)
        except (Refused, Conflict, NotFound) as e:
            return _back("/ui/cases", said(e, w), error=True)
        return _back(f"/ui/cases/{case['case_id']}", w("case opened"))

    @r.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, who: User = Depends(_user)):
        s = _services(request)
        with s.ops.connect() as con:
            case = s.case_detail(con, who, case_id)
        state = cases.CaseState(case["state"])
        return page(request, "case.html", who, case=case, closed=not cases.TRANSITIONS[state],
                    moves=[m.value for m in sorted(cases.TRANSITIONS[state])
                           if cases.refusal(case, who, m) is None])

    @r.post("/cases/{case_id}/act")
    def case_action(request: Request, case_id: str, who: User = Depends(_user),
                    action: str = Form(...), text: str = Form(""), to: str = Form("")):
        s, w = _services(request), words(request, who)

        def do() -> str:
            with s.ops.begin() as con:
                if action == "comment":
                    cases.get_case(con, who, case_id)
                    cases.comment(con, who, "case", case_id, text)
                    return w("comment added")
                cases.transition(con, who, case_id, to, text or None)
                return w("case is now {state}", state=w.code(to))
        return act(f"/ui/cases/{case_id}", do, w)

    # ---- submissions (what a submitter sees) ----

    @r.get("/submissions", response_class=HTMLResponse)
    def submissions(request: Request, who: User = Depends(_user)):
        rows = _services(request).submissions(who).sort("ts_received", descending=True) \
            .head(200).to_dicts()
        return page(request, "submissions.html", who, submissions=rows)

    return r


def install(app) -> None:
    """Add the dashboard, its static files and its login redirect to the application."""
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs().encode()
    app.state.sessions = Sessions()
    css = (Path(__file__).parent / "static" / "suptech.css").read_bytes()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return Response(plotly_js, media_type="application/javascript",
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/suptech.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(css, media_type="text/css")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=303)

    @app.exception_handler(LoginRequired)
    def to_login(_: Request, __: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/ui/login", status_code=303)

    _framed_errors(app)

    from suptech.server import ui_alerts, ui_investors, ui_quality, ui_register, ui_risk

    app.include_router(router())
    app.include_router(ui_alerts.router())
    app.include_router(ui_risk.router())
    app.include_router(ui_register.router())
    app.include_router(ui_investors.router())
    app.include_router(ui_quality.router())


#: What a page's error is called, by status.
HEADINGS = {403: i18n.N_("Not yours to do"), 404: i18n.N_("Not found"),
            409: i18n.N_("Not now"), 422: i18n.N_("Not understood"),
            None: i18n.N_("Something went wrong")}


def _framed_errors(app) -> None:
    """A dashboard page's error in the dashboard's own frame, saying what the API would
    say (its handlers answer, and their answer is shown), never raw JSON."""
    import inspect

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    for exc in (Refused, NotFound, Conflict, HTTPException, RequestValidationError):
        api = app.exception_handlers[exc]

        async def framed(request: Request, e: Exception, api=api):
            answer = api(request, e)
            answer = await answer if inspect.isawaitable(answer) else answer
            if not request.url.path.startswith("/ui/") or answer.status_code < 400 \
                    or answer.media_type != "application/json":
                return answer
            try:
                who = _user(request)
            except LoginRequired:
                who = None
            w = words(request, who)
            detail = json.loads(answer.body).get("detail")
            if isinstance(e, Said):
                detail = e.said(w)
            elif not isinstance(detail, str):  # a form's fields, as pydantic lists them
                detail = w("the form was not filled in as this page expects")
            shown = page(request, "error.html", who, status=answer.status_code, detail=detail,
                         heading=w(HEADINGS.get(answer.status_code, HEADINGS[None])),
                         back="/ui" if who else "/ui/login")
            shown.status_code = answer.status_code
            return shown
        app.add_exception_handler(exc, framed)
