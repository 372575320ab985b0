"""The API's reconciliation breaks: what `suptech reconcile` kept, as feedback to the
institutions it names (a submitter sees the breaks naming its LEI, as the venue or the
member; an analyst or a supervisor every break)."""

# No `from __future__ import annotations`: FastAPI reads the handler's annotations.
from typing import Annotated, Optional

import polars as pl
from fastapi import Query
from pydantic import BaseModel

from suptech.ops.access import NotFound
from suptech.server.services import MAX_ROWS
from suptech.server.shapes import ERRORS


class BreakRow(BaseModel):
    day: str
    code: str
    kind: str
    field: Optional[str]
    mic: Optional[str]
    trade_id: Optional[str]
    order_id: Optional[str]
    side: Optional[str]
    ts_event: Optional[int]
    venue: Optional[str]
    venue_report_id: Optional[str]
    venue_value: Optional[str]
    member: Optional[str]
    member_report_id: Optional[str]
    member_value: Optional[str]
    report_type: Optional[str]
    due_ns: Optional[int]
    received_ns: Optional[int]


def register(app, Who, S) -> None:  # noqa: N803  (the app's dependency types)
    @app.get("/v1/breaks", response_model=list[BreakRow], responses=ERRORS,
             tags=["submissions"], summary="Reconciliation breaks of a month")
    def breaks(who: Who, s: S, month: Annotated[Optional[str], Query(
            pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: the month of the "
            "latest day reconciled.")] = None,
               limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1000) -> list[dict]:
        from suptech.reconcile.quality_view import month_of

        with s.lock:
            m = month_of(s.store, month)
        if m is None:
            raise NotFound("nothing reconciled for {month}", month=month or "any month")
        b = m.breaks
        if who.role == "submitter":
            b = b.filter((pl.col("venue") == who.lei) | (pl.col("member") == who.lei))
        else:
            who.require("analyst", "supervisor")
        b = b.sort(["day", "code", "ts_event"]).head(limit).with_columns(
            day=pl.col("day").cast(pl.Date).cast(pl.String))
        return b.select(list(BreakRow.model_fields)).to_dicts()
