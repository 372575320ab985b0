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
    """Order messages per member, instrument and day, on the days reported: what the
    order-to-trade and the cancellation ratios count (made once a run)."""
    def build() -> ir.Table:
        m = r.reported(r.messages)
        return m.group_by(["member_lei", "isin", "day"]).aggregate(
            messages=m.count(), volume=m.quantity.sum(),
            new=(m.event_type == "NEW").sum(), cancelled=(m.event_type == "CANCEL").sum())
    return r.shared(("member_messages",), build)


def busiest(r, rated: ir.Table, event_types: tuple[str, ...]) -> ir.Table:
    """Per member, instrument and day of `rated`: the accounts that sent the most
    messages of `event_types` there, at most NAMED of them, as an array (counted for
    the rated few only)."""
    keys = ["member_lei", "isin", "day"]
    m = r.reported(r.messages).semi_join(rated.select(*keys), keys)
    m = m.filter(m.event_type.isin(list(event_types)))
    per = m.group_by([*keys, "account_id"]).aggregate(n=m.count())
    per = per.mutate(rank=ibis.row_number().over(
        group_by=keys, order_by=[ibis.desc(per.n), per.account_id]))
    top = per.filter(per["rank"] < NAMED)
    return top.group_by(keys).aggregate(accounts=top.account_id.collect())


@register
class OrderToTrade(Indicator):
    id = "order_to_trade"
    typology = "ORDER_TO_TRADE_RATIO"
    section = "order_ratios"
    subject = "member"

    def levels(self, r) -> ir.Table:
        rule = self.rules
        keys = ["member_lei", "isin", "day"]
        m = member_messages(r)
        m = m.filter(m.messages >= rule.min_messages)
        # The trades of the members rated only (a member on both sides trades once).
        e = r.reported(r.executions).semi_join(m.select(*keys), keys)
        done = e.group_by(keys).aggregate(trades=e.trade_id.nunique(), traded=e.quantity.sum())
        m = m.left_join(done, keys).select(
            *keys, "messages", "volume",
            trades=ibis.coalesce(done.trades, 0), traded=ibis.coalesce(done.traded, 0))
        m = m.mutate(by_number=m.messages / ibis.greatest(m.trades, 1),
                     by_volume=m.volume / ibis.greatest(m.traded, 1))
        m = m.join(busiest(r, m, MESSAGES), ["member_lei", "isin", "day"])
        return m.select(
            "day", "isin", subject=m.member_lei, value=m.by_number,
            level=ibis.greatest(m.by_number / rule.max_number,
                                m.by_volume / rule.max_volume),
            accounts=m.accounts,
            why=why(measure="order messages per trade, in number and in volume",
                    member=m.member_lei, messages=m.messages, trades=m.trades,
                    by_number=m.by_number, number_line=rule.max_number,
                    by_volume=m.by_volume, volume_line=rule.max_volume))
