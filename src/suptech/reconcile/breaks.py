"""Breaks: where the reports of one execution do not agree, or one is missing, as rows
that tell both submitters (the venue and the member) and the supervisor what is wrong.
The codes extend the reporting contract's feedback codes (docs/reconciliation.md)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.reconcile.pairing import FIELDS

#: A break's kind and its feedback code.
CODES = {
    "UNPAIRED_VENUE": "R001",  # the venue reported the execution; the member did not
    "UNPAIRED_MEMBER": "R002",  # the member reported a fill the venue has no trade for
    "MISMATCH": "R003",  # paired, and a field disagrees beyond its tolerance
    "DUPLICATE": "R004",  # one side reported the same execution again
    "LATE": "R005",  # received after its deadline
    "LATE_CORRECTION": "R006",  # corrected or cancelled after the deadline
    "ROUTE_UNMATCHED": "R007",  # a route that arrives nowhere (`routes`)
    "UNROUTED_EXECUTION": "R008",  # an order of another firm's client, no route into it
}
KINDS = tuple(CODES)

#: The columns of a break, whatever its kind: the execution (or the late report) it is
#: of, each side's submitter, report and value where they disagree; a late report's
#: report type, deadline and receipt (ns UTC).
COLUMNS = {"code": "string", "kind": "string", "field": "string", "mic": "string",
           "trade_id": "string", "order_id": "string", "side": "string",
           "ts_event": "int64", "venue": "string", "venue_report_id": "string",
           "venue_value": "string", "member": "string", "member_report_id": "string",
           "member_value": "string", "report_type": "string", "due_ns": "int64",
           "received_ns": "int64"}


def row(t: ir.Table, kind: str, field: ir.Value | str | None = None, **values) -> ir.Table:
    """`t` as breaks of `kind`: `values` by column, the others null."""
    out = {"code": ibis.literal(CODES[kind]), "kind": ibis.literal(kind), "field": field}
    for c in list(COLUMNS)[3:]:
        out[c] = values.get(c)
    return t.select(**{c: (v if isinstance(v, ir.Value) else ibis.literal(v, type=COLUMNS[c]))
                       .cast(COLUMNS[c]) for c, v in out.items()})


def pair_breaks(pairs: ir.Table, duplicates: ir.Table, accounts: ir.Table,
                venues: ir.Table) -> ir.Table:
    """The breaks of matched pairs (`pairing.matched`) and of the duplicates: unpaired
    sides, each field that disagrees, repeated reports. `accounts` (account_id,
    member_lei) names the member of a side the member never reported; `venues` (mic,
    venue) the venue of a fill the venue never reported."""
    p = pairs.left_join(accounts, pairs.v_account_id == accounts.account_id)
    p = p.left_join(venues, p.m_mic == venues.mic)
    common = dict(
        mic=ibis.coalesce(p.v_mic, p.m_mic), trade_id=ibis.coalesce(p.v_trade_id, p.m_trade_id),
        order_id=ibis.coalesce(p.v_order_id, p.m_order_id),
        side=ibis.coalesce(p.v_side, p.m_side), ts_event=ibis.coalesce(p.v_ts_event,
                                                                       p.m_ts_event),
        venue=ibis.coalesce(p.v_submitter, p.venue), venue_report_id=p.v_report_id,
        member=ibis.coalesce(p.m_submitter, p.member_lei), member_report_id=p.m_report_id)
    parts = [row(p.filter(p.m_report_id.isnull()), "UNPAIRED_VENUE", **common),
             row(p.filter(p.v_report_id.isnull()), "UNPAIRED_MEMBER", **common)]
    for f in FIELDS:
        parts.append(row(p.filter(p[f"bad_{f}"]), "MISMATCH", f, **common,
                          venue_value=p[f"v_{f}"].cast("string"),
                          member_value=p[f"m_{f}"].cast("string")))
    d = duplicates
    venue_dup = d.by == "VENUE"
    parts.append(row(d, "DUPLICATE", None, mic=d.mic, trade_id=d.trade_id,
                      order_id=d.order_id, side=d.side, ts_event=d.ts_event,
                      venue=ibis.ifelse(venue_dup, d.submitter, None),
                      venue_report_id=ibis.ifelse(venue_dup, d.report_id, None),
                      venue_value=ibis.ifelse(venue_dup, d.first_report_id, None),
                      member=ibis.ifelse(venue_dup, None, d.submitter),
                      member_report_id=ibis.ifelse(venue_dup, None, d.report_id),
                      member_value=ibis.ifelse(venue_dup, None, d.first_report_id)))
    out = parts[0]
    for t in parts[1:]:
        out = out.union(t)
    return out
