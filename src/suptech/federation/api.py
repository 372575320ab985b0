"""A node's own users and the federation: the API and the dashboard page through which a
region's supervisors ask for joint jobs, share an alert with other regions, and see the
federation (members, agreements, released outputs, alerts shared both ways).

Mounted on a node's server (`federation.serve`), over the node's `Node`; every request
to another member goes out over the node's mutual-TLS link and is audited there.
"""

from __future__ import annotations

from typing import Annotated

import polars as pl
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from suptech.federation import joint, records, sharing
from suptech.federation.home import COORDINATOR
from suptech.federation.node import Node
from suptech.federation.wire import Refusal, status_of
from suptech.ops.access import Conflict, NotFound, Refused, User
from suptech.server import guard
from suptech.server.shapes import Text, Transition


class JobRequest(BaseModel):
    job: str = Field(description="psi, linkage, secure_sum or risk_propagation")
    #: PSI: the other region and the kinds of identifier; linkage: the other region; a
    #: sum: the regions, the indicator and the noise's scale; risk propagation: the
    #: regions (all if none), the Paillier key's length (a new campaign key only),
    #: rounds, delta, lead risk.
    with_: str | None = Field(default=None, alias="with")
    kinds: list[str] = []
    regions: list[str] = []
    indicator: str | None = None
    scale: float | None = None
    sensitivity: int = 1
    key_length: int | None = None
    iterations: int | None = None
    delta: float | None = None
    lead_risk: float | None = None


class Share(BaseModel):
    to: list[str] = Field(min_length=1)


class JointCase(BaseModel):
    title: str = Field(min_length=1)
    alert_ids: list[str] = []
    partners: list[str] = Field(min_length=1)


def _node(request: Request) -> Node:
    node = getattr(request.app.state, "federation", None)
    if node is None:
        raise HTTPException(503, "this server is not a federation node")
    return node


async def _who(request: Request) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    who = None
    if scheme.lower() == "bearer" and token:
        who = await run_in_threadpool(request.app.state.check_token, token,
                                      guard.client(request.scope))
    if who is None:
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return who


Who = Annotated[User, Depends(_who)]
TheNode = Annotated[Node, Depends(_node)]


def request_job(node: Node, who: User, body: dict) -> dict:
    """Ask the coordinator for a joint job on this region's behalf."""
    who.require("supervisor", "admin")
    return node.link.post(COORDINATOR, "/jobs", body)


def share_alert(node: Node, services, who: User, alert_id: str, to: list[str]) -> dict:
    """Send an alert of this region, redacted as `sharing` says, to the regions `to`
    (each checks its own agreement) and tell the coordinator of the release."""
    who.require("analyst", "supervisor")
    to = sorted(set(to) - {node.region})
    unknown = [r for r in to if r not in node.home.regions]
    if not to or unknown:
        raise ValueError(f"share with other regions of the federation ({', '.join(node.home.regions)})"
                         + (f", not {', '.join(unknown)}" if unknown else ""))
    fields = set(sharing.RELEASED)
    agreement = node.allow("alerts", {node.region, *to}, node.region, fields)
    alert, evidence, _ = services.alert_detail(who, alert_id)
    frame = evidence.get("payments") if "payments" in evidence else evidence.get("trades")
    shared = sharing.redact(alert, frame if frame is not None else pl.DataFrame(),
                            node.home.campaign_key(node.region))
    body = {"alert": shared, "fields": sorted(fields)}
    for region in to:
        node.link.post(region, "/alerts", body)
    node.link.post(COORDINATOR, "/alerts", {**body, "to": to})
    with node.ops.begin() as con:
        records.keep(con, "alert.out", ",".join(to), alert_id, records.tag(agreement),
                     {"to": to, "alert_id": alert_id, "typology": alert["typology"]})
    return {"shared": alert_id, "to": to, "agreement": records.tag(agreement)}


def overview(node: Node) -> dict:
    """The federation as this node sees it; a coordinator out of reach is said so."""
    out = {"region": node.region, "campaign": node.home.campaign,
           "adopted": [a.model_dump(mode="json") for a in node.agreements.in_force]}
    try:
        out["members"] = node.link.get(COORDINATOR, "/members")
        out["released"] = node.link.get(COORDINATOR, "/released")
    except Refusal as e:
        out["members"], out["released"], out["coordinator_error"] = [], [], e.why
    with node.ops.connect() as con:
        out["alerts_in"] = records.read(con, "alert.in", 100)
        out["alerts_out"] = records.read(con, "alert.out", 100)
        latest = records.read(con, "propagated", 1)
    # This region's leads from the latest risk propagation, riskiest first.
    out["propagated"] = latest[0] if latest else None
    out["joint_cases"] = joint.joint_cases(node)
    return out


def _said(do, *args):
    """`do(*args)`, a request it cannot take (a ValueError) answered 400, saying why."""
    try:
        return do(*args)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None


def install(app: FastAPI) -> None:
    """The node's federation API (/v1/federation...) and its dashboard page."""

    @app.exception_handler(Refusal)
    def refused(_: Request, e: Refusal) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=status_of(e))

    @app.get("/v1/federation", tags=["federation"])
    def get_overview(who: Who, node: TheNode) -> dict:
        who.require("analyst", "supervisor", "admin")
        return overview(node)

    @app.post("/v1/federation/jobs", tags=["federation"])
    def post_job(who: Who, node: TheNode, body: JobRequest) -> dict:
        return request_job(node, who, body.model_dump(by_alias=True, exclude_none=True))

    @app.post("/v1/federation/alerts/{alert_id}/share", tags=["federation"])
    def post_share(request: Request, who: Who, node: TheNode, alert_id: str,
                   body: Share) -> dict:
        return _said(share_alert, node, request.app.state.services, who, alert_id, body.to)

    @app.get("/v1/federation/cases", tags=["federation"])
    def get_joint_cases(who: Who, node: TheNode) -> list[dict]:
        who.require("analyst", "supervisor")
        return joint.joint_cases(node)

    @app.post("/v1/federation/cases", tags=["federation"])
    def post_joint_case(who: Who, node: TheNode, body: JointCase) -> dict:
        return _said(joint.open_joint, node, who, body.title, body.alert_ids, body.partners)

    @app.get("/v1/federation/cases/{case_id}", tags=["federation"])
    def get_joint_case(who: Who, node: TheNode, case_id: str) -> dict:
        return joint.act(node, who, case_id, "view")

    @app.post("/v1/federation/cases/{case_id}/comment", tags=["federation"])
    def comment_joint_case(who: Who, node: TheNode, case_id: str, body: Text) -> dict:
        return joint.act(node, who, case_id, "comment", text=body.text)

    @app.post("/v1/federation/cases/{case_id}/transition", tags=["federation"])
    def move_joint_case(who: Who, node: TheNode, case_id: str, body: Transition) -> dict:
        return joint.act(node, who, case_id, "transition", text=body.note, to=body.to.value)

    from suptech.server import ui

    @app.get("/ui/federation", include_in_schema=False)
    def page(request: Request, who: User = Depends(ui._user)):
        who.require("analyst", "supervisor", "admin")
        from suptech.federation.picture import federation_map

        fed = overview(_node(request))
        chart = federation_map(fed, ui.words(request, who)).to_json()
        return ui.page(request, "federation.html", who, fed=fed, chart=chart)

    @app.post("/ui/federation/share", include_in_schema=False)
    def share_form(request: Request, alert_id: Annotated[str, Form()],
                   to: Annotated[list[str], Form()], who: User = Depends(ui._user)):
        w, back = ui.words(request, who), f"/ui/alerts/{alert_id}"
        try:
            return ui.act(back, lambda: share_alert(
                _node(request), request.app.state.services, who, alert_id, to) and
                w("Shared with {regions}", regions=", ".join(to)), w)
        except Refusal as e:
            return ui._back(back, str(e), error=True)

    @app.post("/ui/federation/cases", include_in_schema=False)
    def open_form(request: Request, title: Annotated[str, Form()],
                  partners: Annotated[list[str], Form()], alert_ids: Annotated[str, Form()] = "",
                  who: User = Depends(ui._user)):
        w = ui.words(request, who)
        try:
            case = joint.open_joint(_node(request), who, title, alert_ids.split(), partners)
        except (Refusal, Refused, ValueError) as e:
            return ui._back("/ui/federation", ui.said(e, w), error=True)
        return ui._back(f"/ui/federation/cases/{case['case_id']}", w("Case opened"))

    @app.get("/ui/federation/cases/{case_id}", include_in_schema=False)
    def case_page(request: Request, case_id: str, who: User = Depends(ui._user)):
        case = joint.act(_node(request), who, case_id, "view")
        return ui.page(request, "joint_case.html", who, case=case)

    @app.post("/ui/federation/cases/{case_id}", include_in_schema=False)
    def case_form(request: Request, case_id: str, action: Annotated[str, Form()],
                  text: Annotated[str, Form()] = "", to: Annotated[str, Form()] = "",
                  who: User = Depends(ui._user)):
        w, back = ui.words(request, who), f"/ui/federation/cases/{case_id}"
        if action not in ("comment", "transition"):
            return ui._back(back, w("the form was not filled in as this page expects"), True)
        try:
            joint.act(_node(request), who, case_id, action, text=text or None, to=to or None)
        except (Refusal, Refused, Conflict, NotFound, ValueError) as e:
            return ui._back(back, ui.said(e, w) if not isinstance(e, Refusal) else e.why, True)
        return ui._back(back, w("Done"))
