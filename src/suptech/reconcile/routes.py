"""Order routing, followed across firms as CAT follows it: a member that sends an order
on reports a ROUTE naming where (`routed_to`: a member's LEI, or a venue's MIC) and the
id it has there (`routed_order_id`); the receiving side reports that order's NEW.

- ROUTE_UNMATCHED: a route that arrives nowhere: no NEW of the routed id, reported by the
  member it went to or at the venue it went to. Told to the sender and the destination.
- UNROUTED_EXECUTION: an order executed by a member for an account another firm holds,
  with no route into it (one naming it and its executing member or venue): the holding
  firm's client was served by a firm no route says it reached. Told to both.

For these breaks `member` is the firm that sent the route (or executed the order) and
`venue` the other side told: the destination, or the firm holding the account."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.reconcile.breaks import row
from suptech.reconcile.pairing import FILLS


def route_breaks(store, start_ns: int | None = None, end_ns: int | None = None) -> ir.Table:
    e = store.view("order_event", start_ns=start_ns, end_ns=end_ns)
    routes = e.filter(e.event_type == "ROUTE")
    news = e.filter(e.event_type == "NEW").select(
        n_order="order_id", n_member="member_lei", n_mic="mic")
    nowhere = routes.anti_join(news, [routes.routed_order_id == news.n_order,
                                      (routes.routed_to == news.n_member)
                                      | (routes.routed_to == news.n_mic)])
    unmatched = row(nowhere, "ROUTE_UNMATCHED", "routed_order_id", mic=nowhere.mic,
                    order_id=nowhere.order_id, side=nowhere.side, ts_event=nowhere.ts_event,
                    member=nowhere.submitter, member_report_id=nowhere.report_id,
                    venue=nowhere.routed_to, venue_value=nowhere.routed_order_id)
    fills = e.filter(e.event_type.isin(FILLS))
    a = store.view("account").select("account_id", holder="member_lei")
    fills = fills.join(a, "account_id")
    served = fills.filter(fills.holder != fills.member_lei)
    first = ibis.row_number().over(group_by=served.order_id, order_by=[served.ts_event,
                                                                        served.report_id])
    served = served.mutate(_k=first).filter(lambda t: t._k == 0)
    into = routes.select(r_order="routed_order_id", r_to="routed_to")
    unrouted = served.anti_join(into, [served.order_id == into.r_order,
                                       (into.r_to == served.member_lei)
                                       | (into.r_to == served.mic)])
    return unmatched.union(row(
        unrouted, "UNROUTED_EXECUTION", "account_id", mic=unrouted.mic,
        order_id=unrouted.order_id, side=unrouted.side, ts_event=unrouted.ts_event,
        trade_id=unrouted.trade_id, member=unrouted.submitter,
        member_report_id=unrouted.report_id, member_value=unrouted.account_id,
        venue=unrouted.holder))
