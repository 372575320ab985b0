"""The REST API: thin handlers over the ingest pipeline, the store and the ops services.

Every endpoint needs a bearer token (`suptech users add` prints one). Errors are JSON
`{"detail": "..."}` with 400 (a bad parameter), 401 (no or unknown token), 403 (the
role may not), 404 (no such object in the caller's jurisdiction) or 409 (the object's
state forbids it).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations,
# and those name dependencies defined inside create_app.
import json
import threading
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as FastApiPath
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from suptech.model.reports import REPORT_TYPES
from suptech.ops import access, audit, cases
from suptech.ops.access import Conflict, NotFound, Refused, User
from suptech.server import scope

ReportType = StrEnum("ReportType", {name: name for name in REPORT_TYPES})
MAX_ROWS = 10_000
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
#: An identifier in a body (alert, case, user): what ids look like, nothing more.
Id = Annotated[str, Field(pattern=ID_PATTERN)]
#: Free text: anything but NUL, which no database stores as text.
Prose = Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"^[^\x00]+$")]


# ---- response shapes (they are the OpenAPI schema) -------------------------------------

class Problem(BaseModel):
    detail: str


class FeedbackRow(BaseModel):
    row: int | None
    report_id: str | None
    field: str | None
    code: str
    message: str


class SubmissionResult(BaseModel):
    batch_id: str | None
    file: str
    report_type: str | None
    rows: int
    accepted: int
    rejected: int
    warnings: int
    duplicate: bool
    error: str | None = Field(None, description="Set when the file was unusable as a whole.")
    feedback: list[FeedbackRow]


class Submission(BaseModel):
    batch_id: str
    report_type: str
    file: str
    ts_received: int
    rows: int
    accepted: int
    rejected: int
    warnings: int
    owner: str | None


class Me(BaseModel):
    user_id: str
    role: str
    jurisdiction: str
    lei: str | None


class Rows(BaseModel):
    rows: list[dict[str, Any]]
    total: int


class Alert(BaseModel):
    alert_id: str
    detector: str
    typology: str
    score: float
    account_ids: str
    isin: str | None
    window_start: int
    window_end: int
    detector_version: str
    parameters: str
    explanation: str | None
    status: str
    assignee: str | None
    reason: str | None
    regions: list[str]


class Event(BaseModel):
    actor: str
    kind: str
    text: str | None
    ts: str


class AlertDetail(Alert):
    evidence: dict[str, list[dict[str, Any]]]
    timeline: list[Event]


class Case(BaseModel):
    case_id: str
    title: str
    jurisdiction: str
    state: str
    created_by: str
    investigator: str | None
    created_at: str
    updated_at: str
    alert_ids: list[str] = []


class CaseDetail(Case):
    timeline: list[Event]


class JsonBatch(BaseModel):
    records: list[dict[str, Any]] = Field(..., max_length=100_000)


class Assign(BaseModel):
    assignee: Id


class Text(BaseModel):
    text: Prose


class Dismiss(BaseModel):
    reason: Prose


class BulkDismiss(Dismiss):
    alert_ids: list[Id] = Field(..., min_length=1, max_length=1_000)


class NewCase(BaseModel):
    title: Prose
    alert_ids: list[Id] = Field(default_factory=list, max_length=1_000)


class AlertIds(BaseModel):
    alert_ids: list[Id] = Field(..., min_length=1, max_length=1_000)


class Transition(BaseModel):
    to: cases.CaseState
    note: Prose | None = None


class AuditCheck(BaseModel):
    ok: bool
    entries: int
    head: str
    broken_at: int | None
    reason: str | None


class UserRow(BaseModel):
    user_id: str
    role: str
    jurisdiction: str
    lei: str | None
    created_at: str
    live_tokens: int


ERRORS = {code: {"model": Problem} for code in (400, 401, 403, 404, 409)}


# ---- the application ---------------------------------------------------------------

def jsonl_line(record: dict[str, Any]) -> bytes:
    """One record as a JSON line, canonical so that a batch sent again is a duplicate.

    What orjson refuses (integers beyond 64 bits, lone UTF-16 surrogates) is written
    by the standard library as is, and the line is then rejected by the reader with a
    feedback row like any bad line of a file, not with a server error.
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(record, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8", "surrogatepass")


class Services:
    """The store (one at a time: DuckDB has one writer) and the operational database."""

    def __init__(self, data_dir: Path, engine: str = "duckdb", database_url: str | None = None):
        from suptech.ops.db import connect
        from suptech.store.database import open_store

        self.store = open_store(data_dir, engine)
        self.lock = threading.RLock()
        self.ops = connect(data_dir, database_url)

    def close(self) -> None:
        self.store.close()
        self.ops.dispose()


def create_app(data_dir: Path, engine: str = "duckdb", database_url: str | None = None) -> FastAPI:
    holder: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        holder["s"] = Services(data_dir, engine, database_url)
        try:
            yield
        finally:
            holder.pop("s").close()

    app = FastAPI(title="suptech", version="1", lifespan=lifespan,
                  description="Supervision server: report submission, alerts and cases.")
    bearer = HTTPBearer(auto_error=False)

    def services() -> Services:
        return holder["s"]

    def user(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
             s: Annotated[Services, Depends(services)]) -> User:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(401, "a bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        with s.ops.connect() as con:
            who = access.authenticate(con, creds.credentials)
        if who is None:
            raise HTTPException(401, "unknown or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        return who

    Who = Annotated[User, Depends(user)]
    PathId = Annotated[str, FastApiPath(pattern=ID_PATTERN)]
    S = Annotated[Services, Depends(services)]

    for exc, status in ((Refused, 403), (NotFound, 404), (Conflict, 409)):
        def handler(_: Request, e: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(e)}, status_code=status)
        app.add_exception_handler(exc, handler)

    # ---- identity ----

    @app.get("/v1/me", response_model=Me, responses=ERRORS, tags=["identity"])
    def me(who: Who) -> Me:
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

    def ingest(s: Services, who: User, name: str, data: bytes,
               report_type: str | None) -> SubmissionResult:
        from suptech.ingest.pipeline import ingest_file

        who.require("submitter")
        with s.lock:
            result = ingest_file(s.store, Path(name), report_type, owner=who.lei, data=data)
        summary = result.summary
        return SubmissionResult(
            batch_id=summary.batch_id, file=Path(name).name, report_type=summary.report_type,
            rows=summary.rows, accepted=summary.accepted, rejected=summary.rejected,
            warnings=summary.warnings, duplicate=summary.duplicate, error=summary.error,
            feedback=result.feedback.drop("file").to_dicts())

    @app.post("/v1/submissions", response_model=SubmissionResult, responses=ERRORS,
              tags=["submissions"], summary="Submit one report file (CSV, Parquet, JSON Lines, "
                                            "pacs.008 XML)")
    def submit_file(who: Who, s: S, file: Annotated[UploadFile, File()],
                    report_type: ReportType | None = None) -> SubmissionResult:
        name = Path(file.filename or "upload").name
        return ingest(s, who, name, file.file.read(), report_type.value if report_type else None)

    @app.post("/v1/submissions/{report_type}", response_model=SubmissionResult,
              responses=ERRORS, tags=["submissions"],
              summary="Submit a batch of reports as JSON records")
    def submit_batch(who: Who, s: S, report_type: ReportType, batch: JsonBatch) -> SubmissionResult:
        data = b"\n".join(jsonl_line(r) for r in batch.records)
        return ingest(s, who, f"{report_type.value}-api.jsonl", data, report_type.value)

    def visible_submissions(s: Services, who: User) -> pl.DataFrame:
        with s.lock:
            frame = pl.from_arrow(s.store.submissions())
        if who.role == "submitter":
            return frame.filter(pl.col("owner") == who.lei)
        return frame  # supervisors chase bad reporters: they see every institution's

    @app.get("/v1/submissions", response_model=list[Submission], responses=ERRORS,
             tags=["submissions"])
    def list_submissions(who: Who, s: S,
                         limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100) -> list[dict]:
        frame = visible_submissions(s, who).sort("ts_received", descending=True).head(limit)
        return frame.select(list(Submission.model_fields)).to_dicts()

    @app.get("/v1/submissions/{batch_id}/feedback", response_model=list[FeedbackRow],
             responses=ERRORS, tags=["submissions"])
    def feedback(who: Who, s: S, batch_id: PathId,
                 limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1000) -> list[dict]:
        if batch_id not in set(visible_submissions(s, who)["batch_id"]):
            raise NotFound(f"no submission {batch_id}")
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

    def alerts_of(s: Services, who: User) -> pl.DataFrame:
        who.require("analyst", "supervisor")
        with s.lock:
            alerts = s.store.alerts()
            regions = scope.alert_regions(s.store, alerts)
        mine = alerts.filter(pl.col("alert_id").is_in(
            [a for a, r in regions.items() if who.jurisdiction in r]))
        return mine.with_columns(pl.col("alert_id").replace_strict(
            {a: sorted(r) for a, r in regions.items()}, default=None,
            return_dtype=pl.List(pl.String)).alias("regions"))

    def with_status(s: Services, frame: pl.DataFrame) -> list[dict]:
        with s.ops.connect() as con:
            status = cases.alert_status(con, frame["alert_id"].to_list())
        out = []
        for row in frame.drop("evidence", "scan_id", strict=False).to_dicts():
            t = status.get(row["alert_id"], {})
            out.append({**row, "status": t.get("status", "new"), "assignee": t.get("assignee"),
                        "reason": t.get("reason")})
        return out

    def one_alert(s: Services, who: User, alert_id: str) -> pl.DataFrame:
        found = alerts_of(s, who).filter(pl.col("alert_id") == alert_id)
        if found.is_empty():
            raise NotFound(f"no alert {alert_id}")
        return found

    @app.get("/v1/alerts", response_model=list[Alert], responses=ERRORS, tags=["alerts"])
    def list_alerts(who: Who, s: S, typology: str | None = None, status: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 500) -> list[dict]:
        frame = alerts_of(s, who)
        if typology:
            frame = frame.filter(pl.col("typology") == typology)
        rows = with_status(s, frame.sort(["score", "alert_id"], descending=[True, False]))
        if status:
            rows = [r for r in rows if r["status"] == status]
        return rows[:limit]

    @app.get("/v1/alerts/{alert_id}", response_model=AlertDetail, responses=ERRORS,
             tags=["alerts"], summary="An alert with its evidence and timeline")
    def get_alert(who: Who, s: S, alert_id: PathId) -> dict:
        from suptech.detect.base import REGISTRY
        from suptech.detect.evidence import evidence, payment_evidence

        frame = one_alert(s, who, alert_id)
        alert = frame.row(0, named=True)
        with s.lock:
            if REGISTRY.get(alert["detector"]).domain == "payments":
                ev = {"payments": payment_evidence(s.store, alert)}
            else:
                found = evidence(s.store, alert)
                ev = {"orders": found.orders, "trades": found.trades}
        with s.ops.begin() as con:
            audit.record(con, who.user_id, "alert.read", "alert", alert_id)
            timeline = cases.timeline(con, "alert", alert_id)
        [row] = with_status(s, frame)
        return {**row, "evidence": {k: v.head(MAX_ROWS).to_dicts() for k, v in ev.items()},
                "timeline": timeline}

    @app.post("/v1/alerts/{alert_id}/assign", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def assign(who: Who, s: S, alert_id: PathId, body: Assign) -> dict:
        frame = one_alert(s, who, alert_id)
        with s.ops.begin() as con:
            cases.assign(con, who, alert_id, body.assignee)
        return with_status(s, frame)[0]

    @app.post("/v1/alerts/{alert_id}/dismiss", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def dismiss(who: Who, s: S, alert_id: PathId, body: Dismiss) -> dict:
        frame = one_alert(s, who, alert_id)
        with s.ops.begin() as con:
            cases.dismiss(con, who, alert_id, body.reason)
        return with_status(s, frame)[0]

    @app.post("/v1/alerts/dismiss", response_model=list[Alert], responses=ERRORS,
              tags=["alerts"], summary="Dismiss several alerts with one reason")
    def bulk_dismiss(who: Who, s: S, body: BulkDismiss) -> list[dict]:
        mine = alerts_of(s, who).filter(pl.col("alert_id").is_in(body.alert_ids))
        missing = sorted(set(body.alert_ids) - set(mine["alert_id"]))
        if missing:
            raise NotFound(f"no alert {', '.join(missing)}")
        with s.ops.begin() as con:  # all or none
            for alert_id in sorted(set(body.alert_ids)):
                cases.dismiss(con, who, alert_id, body.reason)
        return with_status(s, mine)

    @app.post("/v1/alerts/{alert_id}/escalate", response_model=Alert, responses=ERRORS,
              tags=["alerts"])
    def escalate(who: Who, s: S, alert_id: PathId) -> dict:
        frame = one_alert(s, who, alert_id)
        with s.ops.begin() as con:
            cases.escalate(con, who, alert_id)
        return with_status(s, frame)[0]

    @app.post("/v1/alerts/{alert_id}/comments", response_model=list[Event], responses=ERRORS,
              tags=["alerts"])
    def comment_alert(who: Who, s: S, alert_id: PathId, body: Text) -> list[dict]:
        one_alert(s, who, alert_id)
        with s.ops.begin() as con:
            cases.comment(con, who, "alert", alert_id, body.text)
            return cases.timeline(con, "alert", alert_id)

    # ---- cases ----

    def case_detail(con, who: User, case_id: str) -> dict:
        return {**cases.get_case(con, who, case_id),
                "timeline": cases.timeline(con, "case", case_id)}

    def check_alerts(s: Services, who: User, alert_ids: list[str]) -> None:
        if not alert_ids:
            return
        visible = set(alerts_of(s, who)["alert_id"])
        missing = sorted(set(alert_ids) - visible)
        if missing:
            raise NotFound(f"no alert {', '.join(missing)}")

    @app.get("/v1/cases", response_model=list[Case], responses=ERRORS, tags=["cases"])
    def list_cases(who: Who, s: S, state: cases.CaseState | None = None) -> list[dict]:
        with s.ops.connect() as con:
            return cases.list_cases(con, who, state.value if state else None)

    @app.post("/v1/cases", response_model=CaseDetail, responses=ERRORS, tags=["cases"],
              status_code=201)
    def new_case(who: Who, s: S, body: NewCase) -> dict:
        who.require("analyst", "supervisor")
        check_alerts(s, who, body.alert_ids)
        with s.ops.begin() as con:
            case = cases.open_case(con, who, body.title, body.alert_ids)
            return case_detail(con, who, case["case_id"])

    @app.get("/v1/cases/{case_id}", response_model=CaseDetail, responses=ERRORS, tags=["cases"])
    def get_case(who: Who, s: S, case_id: PathId) -> dict:
        who.require("analyst", "supervisor")
        with s.ops.connect() as con:
            return case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/transitions", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"], summary="Move a case along its state machine")
    def move_case(who: Who, s: S, case_id: PathId, body: Transition) -> dict:
        with s.ops.begin() as con:
            cases.transition(con, who, case_id, body.to.value, body.note)
            return case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/comments", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"])
    def comment_case(who: Who, s: S, case_id: PathId, body: Text) -> dict:
        with s.ops.begin() as con:
            cases.get_case(con, who, case_id)
            cases.comment(con, who, "case", case_id, body.text)
            return case_detail(con, who, case_id)

    @app.post("/v1/cases/{case_id}/alerts", response_model=CaseDetail, responses=ERRORS,
              tags=["cases"])
    def case_alerts(who: Who, s: S, case_id: PathId, body: AlertIds) -> dict:
        who.require("analyst", "supervisor")
        check_alerts(s, who, body.alert_ids)
        with s.ops.begin() as con:
            cases.add_alerts(con, who, case_id, body.alert_ids)
            return case_detail(con, who, case_id)

    return app
