"""The order-to-trade ratio (MiFID II RTS 9, article 3): a member's order messages in
an instrument on a day (new orders, modifications, cancellations) against its trades
there, in number and in volume. A venue caps it to keep its systems orderly; a member
that sent fewer messages than the rules' `min_messages` is not rated. Trades are
counted per member through the account register; a member with none has its messages
counted against one. The lines are the rules' `order_ratios`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import register
from suptech.risk.data import MESSAGES
from suptech.risk.indicator import Indicator, why

#: How many of a member's accounts an alert names: those that sent the most messages.
NAMED = 10


def member_messages(r) -> ir.Table:
    """Order messages per member, instrument, day and account, on the days reported:
    what the order-to-trade and the cancellation ratios count."""
    m = r.reported(r.messages.filter(r.messages.event_type.isin(list(MESSAGES))))
    return m.group_by(["member_lei", "isin", "day", "account_id"]).aggregate(
        messages=m.count(), volume=m.quantity.sum(),
        new=(m.event_type == "NEW").sum(), cancelled=(m.event_type == "CANCEL").sum())


def busiest(per_account: ir.Table, measure: str) -> ir.Table:
    """Per member, instrument and day: the accounts with the most `measure`, at most
    NAMED of them, as an array."""
    rank = ibis.row_number().over(group_by=["member_lei", "isin", "day"],
                                  order_by=[ibis.desc(per_account[measure]),
                                            per_account.account_id])
    top = per_account.mutate(_r=rank).filter(lambda t: t._r < NAMED)
    return top.group_by(["member_lei", "isin", "day"]).aggregate(
        accounts=top.account_id.collect())


@register
class OrderToTrade(Indicator):
    id = "order_to_trade"
    typology = "ORDER_TO_TRADE_RATIO"
    section = "order_ratios"
    subject = "member"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        per_account = member_messages(r)
        m = per_account.group_by(["member_lei", "isin", "day"]).aggregate(
            messages=per_account.messages.sum(), volume=per_account.volume.sum())
        e = r.reported(r.executions)
        done = e.group_by(["member_lei", "isin", "day"]).aggregate(
            trades=e.trade_id.nunique(), traded=e.quantity.sum())
        m = m.left_join(done, ["member_lei", "isin", "day"]).select(
            "member_lei", "isin", "day", "messages", "volume",
            trades=ibis.coalesce(done.trades, 0), traded=ibis.coalesce(done.traded, 0))
        m = m.filter(m.messages >= rule.min_messages)
        m = m.mutate(by_number=m.messages / ibis.greatest(m.trades, 1),
                     by_volume=m.volume / ibis.greatest(m.traded, 1))
        m = m.join(busiest(per_account, "messages"), ["member_lei", "isin", "day"])
        return m.select(
            "day", "isin", subject=m.member_lei, value=m.by_number,
            level=ibis.greatest(m.by_number / rule.max_number,
                                m.by_volume / rule.max_volume),
            accounts=m.accounts,
            why=why(measure="order messages per trade, in number and in volume",
                    member=m.member_lei, messages=m.messages, trades=m.trades,
                    by_number=m.by_number, number_line=rule.max_number,
                    by_volume=m.by_volume, volume_line=rule.max_volume))
