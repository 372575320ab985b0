"""The API's request and response shapes: they are its OpenAPI schema, so they are
declared once here and read by the handlers in `app`."""

# No `from __future__ import annotations`: FastAPI and pydantic read these annotations.
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, create_model

from suptech.model import alert
from suptech.model.reports import REPORT_TYPES
from suptech.ops import cases

ReportType = StrEnum("ReportType", {name: name for name in REPORT_TYPES})
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


def submission_result(name: str, result) -> JSONResponse:
    """A submission's answer (`FileResult`), made here rather than by FastAPI from a
    returned model, which it would validate once more; a clean one's without polars,
    whose calls cost more than the rest of the answer."""
    summary, feedback = result.summary, result.feedback
    return JSONResponse(SubmissionResult(
        batch_id=summary.batch_id, file=Path(name).name, report_type=summary.report_type,
        rows=summary.rows, accepted=summary.accepted, rejected=summary.rejected,
        warnings=summary.warnings, duplicate=summary.duplicate, error=summary.error,
        feedback=feedback.drop("file").to_dicts() if feedback.height else [],
    ).model_dump(mode="json"))


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


#: The alert's own fields (`suptech.model.alert`), less its evidence ids, which the
#: detail gives as rows, and the run that stored it.
_AlertFields = create_model("AlertFields", **{
    name: ((t | None) if name in alert.OPTIONAL else t, ...)
    for name, t in alert.TYPES.items() if name not in ("evidence", "scan_id")})


class Alert(_AlertFields):
    status: str
    assignee: str | None
    reason: str | None
    regions: list[str]
    case_id: str | None = Field(None, description="The case the alert is in, if any.")
    case_state: str | None = None


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


#: The most records a JSON batch may hold (`JsonBatch`, `server.batches`).
MAX_RECORDS = 100_000


class JsonBatch(BaseModel):
    records: list[dict[str, Any]] = Field(..., max_length=MAX_RECORDS)


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


ERRORS = {code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 429, 503)}
