"""Alert triage and cases: an explicit state machine, a timeline, and the audit trail.

Every change here is written in the caller's transaction together with its timeline
event and its audit entry, so that none exists without the others.

Cases:

    open ──> investigating ──> escalated ──> closed-no-action
                  │    ^            │    └─> closed-referred
                  │    └────────────┘  (a supervisor sends it back)
                  └──> closed-no-action / closed-referred

Whoever starts the investigation is the case's investigator. Closing takes a
supervisor who is not the investigator (four eyes). Closed cases stay closed.

Alerts: new ──> assigned ──> dismissed (with a reason) or escalated; a new alert may be
dismissed or escalated at once. Dismissed and escalated alerts are settled.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops import audit
from suptech.ops.access import Conflict, NotFound, Refused, User
from suptech.ops.covered import event_seal
from suptech.ops.db import case_alerts, cases, events, triage


class CaseState(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    ESCALATED = "escalated"
    CLOSED_NO_ACTION = "closed-no-action"
    CLOSED_REFERRED = "closed-referred"


CLOSED = frozenset({CaseState.CLOSED_NO_ACTION, CaseState.CLOSED_REFERRED})
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset({CaseState.INVESTIGATING}),
    CaseState.INVESTIGATING: frozenset({CaseState.ESCALATED, *CLOSED}),
    CaseState.ESCALATED: frozenset({CaseState.INVESTIGATING, *CLOSED}),
    CaseState.CLOSED_NO_ACTION: frozenset(),
    CaseState.CLOSED_REFERRED: frozenset(),
}

ALERT_STATUSES = ("new", "assigned", "dismissed", "escalated")
SETTLED = ("dismissed", "escalated")


def _event(con: Connection, object_type: str, object_id: str, actor: str, kind: str,
           text: str | None) -> dict:
    """Add a timeline event; returns what the audit entry recording it must carry (its
    id and a seal of its content: see `ops.covered`)."""
    ts = audit.now()
    event_id = con.execute(events.insert().values(
        object_type=object_type, object_id=object_id, actor=actor, kind=kind, text=text,
        ts=ts)).inserted_primary_key[0]
    return {"event_id": event_id,
            "event": event_seal(event_id, object_type, object_id, actor, kind, text, ts)}


# ---- alerts ------------------------------------------------------------------------

def alert_status(con: Connection, alert_ids: list[str]) -> dict[str, dict]:
    if not alert_ids:
        return {}
    rows = con.execute(sa.select(triage).where(triage.c.alert_id.in_(alert_ids))).mappings()
    return {r["alert_id"]: dict(r) for r in rows}


def alert_cases(con: Connection, alert_ids: list[str]) -> dict[str, dict]:
    """The case each alert is in (its latest, where several hold it): case_id, case_state."""
    if not alert_ids:
        return {}
    rows = con.execute(sa.select(case_alerts.c.alert_id, cases.c.case_id, cases.c.state)
                       .join(cases, cases.c.case_id == case_alerts.c.case_id)
                       .where(case_alerts.c.alert_id.in_(alert_ids))
                       .order_by(cases.c.created_at, cases.c.case_id)).all()
    return {a: {"case_id": c, "case_state": state} for a, c, state in rows}


def _set_status(con: Connection, user: User, alert_id: str, status: str,
                assignee: str | None = None, reason: str | None = None) -> dict:
    current = alert_status(con, [alert_id]).get(alert_id)
    before = current["status"] if current else "new"
    if before in SETTLED:
        raise Conflict("alert {alert_id} is already {before}", alert_id=alert_id, before=before)
    values = dict(status=status, assignee=assignee or (current or {}).get("assignee"),
                  reason=reason, updated_at=audit.now())
    if current:
        con.execute(triage.update().where(triage.c.alert_id == alert_id).values(**values))
    else:
        con.execute(triage.insert().values(alert_id=alert_id, **values))
    text = {"assigned": f"assigned to {assignee}", "dismissed": f"dismissed: {reason}",
            "escalated": "escalated"}[status]
    ev = _event(con, "alert", alert_id, user.user_id, status, text)
    audit.record(con, user.user_id, f"alert.{status}", "alert", alert_id, before=before,
                 assignee=values["assignee"], reason=reason, **ev)
    return {"alert_id": alert_id, **values}


def assign(con: Connection, user: User, alert_id: str, assignee: str) -> dict:
    user.require("analyst", "supervisor")
    return _set_status(con, user, alert_id, "assigned", assignee=assignee)


def dismiss(con: Connection, user: User, alert_id: str, reason: str) -> dict:
    user.require("analyst", "supervisor")
    if not reason or not reason.strip():
        raise Conflict("a dismissal needs a reason")
    return _set_status(con, user, alert_id, "dismissed", reason=reason.strip())


def escalate(con: Connection, user: User, alert_id: str) -> dict:
    user.require("analyst", "supervisor")
    return _set_status(con, user, alert_id, "escalated")


def comment(con: Connection, user: User, object_type: str, object_id: str, text: str) -> None:
    user.require("analyst", "supervisor")
    if not text or not text.strip():
        raise Conflict("a comment needs text")
    ev = _event(con, object_type, object_id, user.user_id, "comment", text.strip())
    audit.record(con, user.user_id, f"{object_type}.comment", object_type, object_id,
                 text=text.strip(), **ev)


def timeline(con: Connection, object_type: str, object_id: str) -> list[dict]:
    q = (sa.select(events).where(events.c.object_type == object_type,
                                 events.c.object_id == object_id).order_by(events.c.event_id))
    return [dict(r) for r in con.execute(q).mappings()]


# ---- cases -------------------------------------------------------------------------

def open_case(con: Connection, user: User, title: str, alert_ids: list[str]) -> dict:
    user.require("analyst", "supervisor")
    if not title or not title.strip():
        raise Conflict("a case needs a title")
    case_id = "CS-" + secrets.token_hex(6)
    ts = audit.now()
    con.execute(cases.insert().values(
        case_id=case_id, title=title.strip(), jurisdiction=user.jurisdiction,
        state=CaseState.OPEN.value, created_by=user.user_id, created_at=ts, updated_at=ts))
    for alert_id in sorted(set(alert_ids)):
        con.execute(case_alerts.insert().values(case_id=case_id, alert_id=alert_id))
    ev = _event(con, "case", case_id, user.user_id, "state", "opened")
    audit.record(con, user.user_id, "case.open", "case", case_id, title=title.strip(),
                 alerts=sorted(set(alert_ids)), **ev)
    return get_case(con, user, case_id)


def add_alerts(con: Connection, user: User, case_id: str, alert_ids: list[str]) -> dict:
    user.require("analyst", "supervisor")
    case = get_case(con, user, case_id)
    if CaseState(case["state"]) in CLOSED:
        raise Conflict("case {case_id} is closed", case_id=case_id)
    new = sorted(set(alert_ids) - set(case["alert_ids"]))
    for alert_id in new:
        con.execute(case_alerts.insert().values(case_id=case_id, alert_id=alert_id))
    if new:
        ev = _event(con, "case", case_id, user.user_id, "alerts", "added " + ", ".join(new))
        audit.record(con, user.user_id, "case.add_alerts", "case", case_id, alerts=new, **ev)
    return get_case(con, user, case_id)


def get_case(con: Connection, user: User, case_id: str) -> dict:
    row = con.execute(sa.select(cases).where(cases.c.case_id == case_id)).mappings().first()
    if row is None or row["jurisdiction"] != user.jurisdiction:
        raise NotFound("no case {case_id}", case_id=case_id)
    alerts = con.execute(sa.select(case_alerts.c.alert_id)
                         .where(case_alerts.c.case_id == case_id)
                         .order_by(case_alerts.c.alert_id)).scalars().all()
    return {**dict(row), "alert_ids": list(alerts)}


def list_cases(con: Connection, user: User, state: str | None = None) -> list[dict]:
    user.require("analyst", "supervisor")
    q = sa.select(cases).where(cases.c.jurisdiction == user.jurisdiction)
    if state:
        q = q.where(cases.c.state == state)
    return [dict(r) for r in con.execute(q.order_by(cases.c.created_at.desc())).mappings()]


def refusal(case: dict, user: User, target: CaseState) -> Conflict | Refused | None:
    """Why `user` may not move `case` to `target`, or None where it may (what the
    dashboard offers a user is what this allows)."""
    current, case_id = CaseState(case["state"]), case["case_id"]
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in sorted(TRANSITIONS[current])) or "none: it is closed"
        return Conflict("case {case_id} is {current}; it cannot become {target} "
                        "(allowed: {allowed})", case_id=case_id, current=current.value,
                        target=target.value, allowed=allowed)
    if target in CLOSED or (current is CaseState.ESCALATED
                            and target is CaseState.INVESTIGATING):
        if (refused := user.refused("supervisor")) is not None:
            return refused
    if target in CLOSED and case["investigator"] == user.user_id:
        return Refused("four eyes: {user} investigated case {case_id} and may not close "
                       "it; another supervisor must", user=user.user_id, case_id=case_id)
    if target in CLOSED and case.get("partners") and case["investigator"] and \
            region_of(case["investigator"], case) == region_of(user.user_id, case):
        return Refused("four eyes across regions: case {case_id} is joint and was "
                       "investigated in {region}; a supervisor of another of its regions "
                       "must close it", case_id=case_id,
                       region=region_of(case["investigator"], case))
    return None


def region_of(user_id: str, case: dict) -> str:
    """The region a user of a case acts from: a partner region's user is user@region,
    the case's own region's users are plain."""
    return user_id.rpartition("@")[2] if "@" in user_id else case["jurisdiction"]


def transition(con: Connection, user: User, case_id: str, to: str,
               note: str | None = None) -> dict:
    user.require("analyst", "supervisor")
    try:
        target = CaseState(to)
    except ValueError:
        raise Conflict("unknown case state {to} (states: {states})", to=repr(to),
                       states=", ".join(s.value for s in CaseState)) from None
    case = get_case(con, user, case_id)
    current = CaseState(case["state"])
    refused = refusal(case, user, target)
    if refused is not None:
        raise refused
    values = dict(state=target.value, updated_at=audit.now())
    if target is CaseState.INVESTIGATING and case["investigator"] is None:
        values["investigator"] = user.user_id
    con.execute(cases.update().where(cases.c.case_id == case_id).values(**values))
    ev = _event(con, "case", case_id, user.user_id, "state",
                f"{current.value} → {target.value}" + (f": {note}" if note else ""))
    audit.record(con, user.user_id, "case.transition", "case", case_id,
                 before=current.value, after=target.value, note=note, **ev)
    return get_case(con, user, case_id)
