"""The REST API: thin handlers over the ingest pipeline, the store and the ops services.

Every endpoint needs a bearer token (`suptech users add` prints one). Errors are JSON
`{"detail": "..."}` with 400 (a bad parameter), 401 (no or unknown token), 403 (the
role may not), 404 (no such object in the caller's jurisdiction) or 409 (the object's
state forbids it).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations,
# and those name dependencies defined inside create_app.
import asyncio
import hmac
import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import polars as pl
from fastapi import (
    APIRouter, Body, Depends, FastAPI, File, HTTPException, Query, Request, UploadFile)
from fastapi import Path as FastApiPath
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from suptech import cli_remote
from suptech.detect.evidence import PICTURED
from suptech.ingest.jsonl import exact_number
from suptech.ops import access, audit, cases
from suptech.ops.access import Conflict, NotFound, Refused, User
from suptech.server import api_quality, batches, guard, scope
from suptech.server.services import MAX_ROWS, Busy, Services
from suptech.store import writer
from suptech.server.shapes import (
    Alert, AlertDetail, AlertIds, Assign, AuditCheck, BulkDismiss, Case, CaseDetail,
    Dismiss, ERRORS, Event, FeedbackRow, ID_PATTERN, JsonBatch, Me, NewCase, ReportType,
    Rows, Submission, SubmissionResult, Text, Transition, UserRow, submission_result)


# ---- the application ---------------------------------------------------------------

#: Alert lists computed at once (`GET /v1/alerts`); the others wait their turn.
LISTING = 2


class ExactNumbersRequest(Request):
    """A request whose JSON numbers with a fraction come as their digits, never floats:
    a batch's amount of 1234567890123456.78 reaches the store as sent."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=exact_number)
        return self._json


class ExactNumbersRoute(APIRoute):
    def get_route_handler(self):
        handler = super().get_route_handler()

        async def exact(request: Request):
            return await handler(ExactNumbersRequest(request.scope, request.receive))
        return exact


def create_app(data_dir: Path, engine: str = "duckdb", database_url: str | None = None,
               nats_url: Optional[str] = None, prefix: str = "suptech",
               stream: bool = False, url: Optional[str] = None) -> FastAPI:
    """`nats_url`: where streaming alerts are published (`<prefix>.alerts.<region>`), for
    the dashboard's live alert queue; `stream`: also consume the report stream in this
    process (`suptech stream`'s work), which needs the DuckDB engine; `url`: where this
    server is reached, published in the data directory so that the CLI's commands on it
    run here (`suptech.store.writer`)."""
    holder: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        holder["s"] = app.state.services = Services(data_dir, engine, database_url)
        app.state.live = (nats_url, prefix) if nats_url else None
        consumer, stop = None, asyncio.Event()
        if stream and nats_url:
            from suptech.stream.consumer import consume
            from suptech.stream.messages import Config
            consumer = asyncio.create_task(consume(
                Config(data_dir, nats_url, prefix, database_url=database_url), stop))
            # A consumer that fails says so at once, not when the server stops.
            consumer.add_done_callback(lambda t: t.cancelled() or t.exception() is None or
                                       logging.getLogger("suptech.stream").error(
                                           "the stream consumer stopped", exc_info=t.exception()))
        try:
            with writer.serving(data_dir, holder["s"].store, url) as app.state.writer:
                yield
        finally:
            if consumer is not None:
                stop.set()
                await consumer
            holder.pop("s").close()

    app = FastAPI(title="suptech", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Supervision server: report submission, alerts and cases.")
    bearer = HTTPBearer(auto_error=False)

    async def services() -> Services:
        return holder["s"]

    failures = guard.FailedAuth()
    known = guard.KnownTokens()

    def check_token(token: str, client: str) -> User | None:
        """The token's user; None for an unknown one, which is counted and audited."""
        who = known.get(token)
        if who is not None:
            return who
        s = holder["s"]
        with s.ops.connect() as con:
            who = access.authenticate(con, token)
        if who is not None:
            known.put(token, who)
        else:
            n = failures.failed(client)
            if n <= guard.FailedAuth.LIMIT:
                with s.ops.begin() as con:
                    audit.record(con, "anonymous", "auth.locked" if n == guard.FailedAuth.LIMIT
                                 else "auth.failed", "client", client, failures=n)
        return who

    async def authenticate(token: str, client: str) -> User | None:
        """`check_token` without a thread for a known token (most requests)."""
        return known.get(token) or await run_in_threadpool(check_token, token, client)

    app.state.check_token = check_token
    app.add_middleware(guard.Guard, authenticate=authenticate, failures=failures)

    async def user(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None,
                                                      Depends(bearer)]) -> User:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(401, "a bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        # The guard has authenticated a request with a body already.
        who = getattr(request.state, "user", None) or await authenticate(
            creds.credentials, guard.client(request.scope))
        if who is None:
            raise HTTPException(401, "unknown or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        return who

    listing = asyncio.Semaphore(LISTING)
    Who = Annotated[User, Depends(user)]
    PathId = Annotated[str, FastApiPath(pattern=ID_PATTERN)]
    S = Annotated[Services, Depends(services)]

    @app.exception_handler(Busy)
    def busy(_: Request, e: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": "1"})

    for exc, status in ((Refused, 403), (NotFound, 404), (Conflict, 409)):
        def handler(_: Request, e: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(e)}, status_code=status)
        app.add_exception_handler(exc, handler)

    # ---- the CLI's commands on this data directory (`suptech.cli_remote`) ----

    @app.post(cli_remote.ENDPOINT, include_in_schema=False)
    def run_command(request: Request, body: Annotated[dict[str, Any], Body()]) -> dict:
        me = getattr(app.state, "writer", None)
        given = request.headers.get(cli_remote.SECRET_HEADER, "")
        if me is None or not hmac.compare_digest(given.encode(), me.secret.encode()):
            raise HTTPException(403, "not this server's writer secret (see writer.json)")
        argv = body.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise HTTPException(400, "argv: a list of strings")
        why = cli_remote.allowed(argv, data_dir)
        if why:
            raise HTTPException(400, why)
        columns = body.get("columns")
        return cli_remote.execute(argv, columns if isinstance(columns, int) else None)

    # ---- identity ----

    @app.get("/v1/me", response_model=Me, responses=ERRORS, tags=["identity"])
    async def me(who: Who) -> Me:
        return Me(**who.__dict__)

    @app.get("/v1/users", response_model=list[UserRow], responses=ERRORS, tags=["identity"])
    def users(who: Who, s: S) -> list[dict]:
        who.require("admin")
        with s.ops.connect() as con:
            return access.list_users(con)

    @app.get("/v1/audit/verify", response_model=AuditCheck, responses=ERRORS, tags=["identity"])
    def verify(who: Who, s: S) -> AuditCheck:
        who.require("admin")
        with s.ops.connect() as con:
            v = audit.verify(con)
        return AuditCheck(ok=v.ok, entries=v.entries, head=v.head, broken_at=v.broken_at,
                          reason=v.reason)

    # ---- submissions ----

    @app.post("/v1/submissions", response_model=SubmissionResult, responses=ERRORS,
              tags=["submissions"], summary="Submit one report file (CSV, Parquet, JSON Lines, "
                                            "pacs.008 XML)")
    async def submit_file(who: Who, s: S, file: Annotated[UploadFile, File()],
                          report_type: ReportType | None = None) -> JSONResponse:
        name = Path(file.filename or "upload").name
        return submission_result(name, await s.ingest(
            who, name, await file.read(), report_type.value if report_type else None))

    exact = APIRouter(route_class=ExactNumbersRoute)

    @exact.post("/v1/submissions/{report_type}", response_model=SubmissionResult,
              responses=ERRORS, tags=["submissions"],
              summary="Submit a batch of reports as JSON records")
    async def submit_batch(who: Who, s: S, report_type: ReportType,
                           batch: JsonBatch) -> JSONResponse:
        name = f"{report_type.value}-api.jsonl"
        return submission_result(name, await s.ingest(who, name, batch.records,
                                                      report_type.value))

    app.include_router(exact)
    batches.install(app, exact)  # a well-formed batch taken before FastAPI's route
    api_quality.register(app, Who, S)

    @app.get("/v1/submissions", response_model=list[Submission], responses=ERRORS,
             tags=["submissions"])
    def list_submissions(who: Who, s: S,
                         limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100) -> list[dict]:
        frame = s.submissions(who).sort("ts_received", descending=True).head(limit)
        return frame.select(list(Submission.model_fields)).to_dicts()

    @app.get("/v1/submissions/{batch_id}/feedback", response_model=list[FeedbackRow],
             responses=ERRORS, tags=["submissions"])
    def feedback(who: Who, s: S, batch_id: PathId,
                 limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1000) -> list[dict]:
        if s.submissions(who, batch_id).is_empty():
            raise NotFound("no submission {batch_id}", batch_id=batch_id)
        with s.lock:
            return s.store.feedback_of(batch_id).head(limit).to_dicts()

    # ---- reports ----

    def moment(m: datetime | None) -> int | None:
        if m is None:
            return None
        m = m if m.tzinfo else m.replace(tzinfo=timezone.utc)
        ns = int(m.timestamp() * 1_000_000) * 1000
        # Nothing was received before 1970, and everything by 2262 (int64 nanoseconds).
        return min(max(ns, 0), 2**63 - 1)

    @app.get("/v1/reports/{report_type}", response_model=Rows, responses=ERRORS,
             tags=["reports"], summary="Current reports of the caller's jurisdiction")
    def reports(who: Who, s: S, report_type: ReportType,
                as_of: Annotated[datetime | None, Query(
                    description="As known at this time (ISO 8601; UTC if no offset).")] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
                offset: Annotated[int, Query(ge=0, le=10**12)] = 0) -> Rows:
        who.require("analyst", "supervisor")
        as_of_ns = moment(as_of)
        with s.lock:
            t = scope.reports_in(s.store, report_type.value, who.jurisdiction, as_of_ns)
            total = int(t.count().execute())
            rows = pl.from_arrow(t.order_by(t.columns[0]).limit(limit, offset=offset).to_pyarrow())
        with s.ops.begin() as con:  # reading personal data is itself audited
            audit.record(con, who.user_id, "report.read", "report", report_type.value,
                         as_of=as_of.isoformat() if as_of else None, rows=rows.height,
                         offset=offset)
        return Rows(rows=rows.to_dicts(), total=total)

    # ---- alerts ----

    @app.get("/v1/alerts", response_model=list[Alert], responses=ERRORS, tags=["alerts"])
    async def list_alerts(who: Who, s: S, typology: str | None = None, status: str | None = None,
                          limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 500) -> list[dict]:
        def listed() -> list[dict]:
            frame = s.alerts(who)
            if typology:
                frame = frame.filter(pl.col("typology") == typology)
            rows = s.with_status(frame.sort(["score", "alert_id"], descending=[True, False]))
            return [r for r in rows if r["status"] == status] if status else rows
        # A few at a time: a burst on as many threads convoyed on the interpreter.
        async with listing:
            return (await run_in_threadpool(listed))[:limit]

    @app.get("/v1/alerts/{alert_id}", response_model=AlertDetail, responses=ERRORS,
             tags=["alerts"], summary="An alert with its evidence and timeline")
    def get_alert(who: Who, s: S, alert_id: PathId) -> dict:
        row, ev, timeline = s.alert_detail(who, alert_id)
        return {**row, "evidence": {k: v.head(MAX_ROWS).to_dicts() for k, v in ev.items()
                                    if k not in PICTURED}, "timeline": timeline}

    @app.post("/v1/alerts/{alert_id}/assign", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def assign(who: Who, s: S, alert_id: PathId, body: Assign) -> dict:
        return s.with_status(s.triage(who, [alert_id], "assign", body.assignee))[0]

    @app.post("/v1/alerts/{alert_id}/dismiss", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def dismiss(who: Who, s: S, alert_id: PathId, body: Dismiss) -> dict:
        return s.with_status(s.triage(who, [alert_id], "dismiss", body.reason))[0]

    @app.post("/v1/alerts/dismiss", response_model=list[Alert], responses=ERRORS,
              tags=["alerts"], summary="Dismiss several alerts with one reason")
    def bulk_dismiss(who: Who, s: S, body: BulkDismiss) -> list[dict]:
        return s.with_status(s.triage(who, body.alert_ids, "dismiss", body.reason))

    @app.post("/v1/alerts/{alert_id}/escalate", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def escalate(who: Who, s: S, alert_id: PathId) -> dict:
        return s.with_status(s.triage(who, [alert_id], "escalate"))[0]

    @app.post("/v1/alerts/{alert_id}/comments", response_model=list[Event], responses=ERRORS,
              tags=["alerts"])
    def comment_alert(who: Who, s: S, alert_id: PathId, body: Text) -> list[dict]:
        s.alert(who, alert_id)
        with s.ops.begin() as con:
            cases.comment(con, who, "alert", alert_id, body.text)
            return cases.timeline(con, "alert", alert_id)

    # ---- cases ----

    @app.get("/v1/cases", response_model=list[Case], responses=ERRORS, tags=["cases"])
    def list_cases(who: Who, s: S, state: cases.CaseState | None = None) -> list[dict]:
        with s.ops.connect() as con:
            return cases.list_cases(con, who, state.value if state else None)

    @app.post("/v1/cases", response_model=CaseDetail, responses=ERRORS, tags=["cases"],
              status_code=201)
    def new_case(who: Who, s: S, body: NewCase) -> dict:
        who.require("analyst", "supervisor")
        s.check_alerts(who, body.alert_ids)
        with s.ops.begin() as con:
            case = cases.open_case(con, who, body.title, body.alert_ids)
            return s.case_detail(con, who, case["case_id"])

    @app.get("/v1/cases/{case_id}", response_model=CaseDetail, responses=ERRORS, tags=["cases"])
    def get_case(who: Who, s: S, case_id: PathId) -> dict:
        who.require("analyst", "supervisor")
        with s.ops.connect() as con:
            return s.case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/transitions", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"], summary="Move a case along its state machine")
    def move_case(who: Who, s: S, case_id: PathId, body: Transition) -> dict:
        with s.ops.begin() as con:
            cases.transition(con, who, case_id, body.to.value, body.note)
            return s.case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/comments", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"])
    def comment_case(who: Who, s: S, case_id: PathId, body: Text) -> dict:
        with s.ops.begin() as con:
            cases.get_case(con, who, case_id)
            cases.comment(con, who, "case", case_id, body.text)
            return s.case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/alerts", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"])
    def case_alerts(who: Who, s: S, case_id: PathId, body: AlertIds) -> dict:
        who.require("analyst", "supervisor")
        s.check_alerts(who, body.alert_ids)
        with s.ops.begin() as con:
            cases.add_alerts(con, who, case_id, body.alert_ids)
            return s.case_detail(con, who, case_id)

    from suptech.server import ui

    ui.install(app)
    install_docs(app)
    return app


def install_docs(app: FastAPI) -> None:
    """The API's Swagger UI at /docs, served from the swagger-ui-bundle package: nothing
    is loaded from another host (FastAPI's default page loads it from a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse
    from swagger_ui_bundle import swagger_ui_path

    assets = {n: Path(swagger_ui_path) / n for n in
              ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")}

    @app.get("/static/swagger/{name}", include_in_schema=False)
    def swagger_asset(name: str):
        if name not in assets:
            raise HTTPException(404, f"no {name}")
        return FileResponse(assets[name], headers={"Cache-Control": "max-age=86400"})

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json", title="suptech API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png")
        nonce = getattr(request.state, "csp_nonce", "")
        return HTMLResponse(bytes(page.body).decode().replace(
            "<script>", f'<script nonce="{nonce}">'))
