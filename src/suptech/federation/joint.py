"""Joint cases: a case worked by several regions with one timeline (issue 25).

The case lives in the operational database of the region that opened it (the lead),
as any of its cases, with its partner regions named. A partner's users act on it
through their own node, which vouches for them over the federation: the lead records
each action under the user's own name and region (user@region) on the one timeline,
and in its audit log; the partner's node audits what it sent. Closing a joint case
takes a supervisor of another region than the one that investigated it (four eyes
across regions, `ops.cases.refusal`). Every step is checked against the lead's
agreement for the `joint_cases` job with that partner.
"""

from __future__ import annotations

import sqlalchemy as sa

from suptech.federation import records
from suptech.federation.node import Node
from suptech.ops import cases
from suptech.ops.access import NotFound, User
from suptech.ops.db import cases as case_table

FIELDS = {"case"}
ACTIONS = ("view", "comment", "transition")


def open_joint(node: Node, who: User, title: str, alert_ids: list[str],
               partners: list[str]) -> dict:
    """Open a case of this region, worked with `partners`; each partner is told."""
    partners = sorted(set(partners) - {node.region})
    if not partners:
        raise ValueError("a joint case needs at least one other region")
    agreement = node.allow("joint_cases", {node.region, *partners}, node.region, FIELDS)
    with node.ops.begin() as con:
        case = cases.open_case(con, who, title, alert_ids)
        con.execute(case_table.update().where(case_table.c.case_id == case["case_id"])
                    .values(partners=",".join(partners)))
    for region in partners:
        node.link.post(region, "/cases/joined", {"case_id": case["case_id"], "title": title,
                                                 "lead": node.region, "partners": partners})
    with node.ops.begin() as con:
        records.keep(con, "joint", ",".join(partners), case["case_id"], records.tag(agreement),
                     {"lead": node.region, "title": title, "partners": partners})
        return _detail(con, who, case["case_id"])


def joined(node: Node, lead: str, body: dict) -> dict:
    """A lead region says this region is a partner of its case: kept, to be listed."""
    agreement = node.allow("joint_cases", {node.region, lead}, lead, FIELDS)
    with node.ops.begin() as con:
        records.keep(con, "joint", lead, body["case_id"], records.tag(agreement),
                     {"lead": lead, "title": body["title"], "partners": body["partners"]})
    return {"kept": True}


def act_for_partner(node: Node, partner: str, case_id: str, body: dict) -> dict:
    """At the lead: a partner's user acting on the case, as the partner vouches for it."""
    action = body.get("action")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (actions: {', '.join(ACTIONS)})")
    node.allow("joint_cases", {node.region, partner}, partner, FIELDS)
    user = User(f"{body['user']}@{partner}", body["role"], node.region)
    with node.ops.begin() as con:
        row = con.execute(sa.select(case_table.c.partners)
                          .where(case_table.c.case_id == case_id)).first()
        if row is None or partner not in (row.partners or "").split(","):
            raise NotFound("no joint case {case_id} with {region}", case_id=case_id,
                           region=partner)
        return _apply(con, user, case_id, action, body.get("text"), body.get("to"))


def act(node: Node, who: User, case_id: str, action: str, text: str | None = None,
        to: str | None = None) -> dict:
    """At a region: its user acting on a joint case, here if this region leads it, else
    through the lead's node."""
    who.require("analyst", "supervisor")
    with node.ops.connect() as con:
        mine = [r for r in records.read(con, "joint", 1000) if r["job_id"] == case_id]
    if not mine:
        raise NotFound("no joint case {case_id}", case_id=case_id)
    lead = mine[0]["body"]["lead"]
    if lead == node.region:
        with node.ops.begin() as con:
            return _apply(con, who, case_id, action, text, to)
    return node.link.post(lead, f"/cases/{case_id}", {
        "action": action, "user": who.user_id, "role": who.role, "text": text, "to": to})


def joint_cases(node: Node) -> list[dict]:
    """The joint cases this region leads or is a partner of (newest first)."""
    with node.ops.connect() as con:
        rows = records.read(con, "joint", 200)
    seen, out = set(), []
    for r in rows:
        if r["job_id"] not in seen:
            seen.add(r["job_id"])
            out.append({"case_id": r["job_id"], **r["body"]})
    return out


def _apply(con, user: User, case_id: str, action: str, text: str | None,
           to: str | None) -> dict:
    """The action on the case (a view does nothing), then the case as `user` sees it."""
    if action == "comment":
        cases.comment(con, user, "case", case_id, text or "")
    elif action == "transition":
        cases.transition(con, user, case_id, to or "", text)
    return _detail(con, user, case_id)


def _detail(con, user: User, case_id: str) -> dict:
    case = cases.get_case(con, user, case_id)
    return {**case, "partners": (case.get("partners") or "").split(","),
            "timeline": cases.timeline(con, "case", case_id),
            "may": [t.value for t in cases.CaseState
                    if cases.refusal(case, user, t) is None]}
