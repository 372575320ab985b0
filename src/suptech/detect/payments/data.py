"""The payment flow as payment detectors see it: one row per payment, amounts in CNY.

Amounts in other currencies are converted at fixed reference rates (a supervisor's
thresholds are in CNY; the day's official rate would be better and is a table away).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from suptech.detect.base import SharedTables
from suptech.detect.market.data import Clock

#: CNY per unit, for thresholds only.
REFERENCE_RATES = {"CNY": 1.0, "USD": 7.2, "EUR": 7.8, "HKD": 0.92, "JPY": 0.048,
                   "GBP": 9.1, "SGD": 5.3, "CHF": 8.1, "CAD": 5.3, "AUD": 4.7,
                   "MXN": 0.4, "BRL": 1.3, "RUB": 0.08, "INR": 0.087, "ILS": 1.9,
                   "SAR": 1.9,
                   # Bitcoin, imported as XXX (no ISO code): about USD 20,000 in 2022.
                   "XXX": 144_000.0}
#: Large-value cash reporting threshold (PBoC): CNY 50,000 a day.
CASH_THRESHOLD_CNY = 50_000
#: FATF's high-risk jurisdictions ("black list") and others under increased monitoring
#: that the simulator uses.
HIGH_RISK = ("KP", "IR", "MM")


@dataclass
class PaymentData(SharedTables):
    payments: ir.Table  # payment_id, ts_event, day, debtor, creditor, cny, channel, ...
    accounts: ir.Table  # account_id, opened_date, account_type, last_active_date
    #: account, last_ts: each account's last payment stored before the scanned range
    #: (none when the scan starts with the store): its own history, beside the range.
    before: ir.Table | None = None
    #: debtor, creditor: the pairs with a payment stored before the scanned range.
    pairs_before: ir.Table | None = None


def payments_once(store, start_ns: int | None = None, end_ns: int | None = None) -> ir.Table:
    """The live payment reports, one a payment (`payment_id`, its UETR): a payment
    reported again, by its other bank or by the same one under another report id, is
    one movement of money, counted once and shown once; its earliest report stands for
    it (reports that disagree are for reconciliation to say)."""
    p = store.view("payment", start_ns=start_ns, end_ns=end_ns)
    first = p.mutate(_n=ibis.row_number().over(
        group_by="payment_id", order_by=[p.ts_received, p.row, p.report_id]))
    return first.filter(first._n == 0).drop("_n")


def payment_data(store, start_ns: int | None = None, end_ns: int | None = None) -> PaymentData:
    p = payments_once(store, start_ns, end_ns)
    before = pairs = None
    if start_ns is not None:  # the accounts' own history: all of it
        earlier = store.view("payment", end_ns=start_ns)
        sides = earlier.select(account=earlier.debtor_account_id, ts=earlier.ts_event).union(
            earlier.select(account=earlier.creditor_account_id, ts=earlier.ts_event))
        before = sides.group_by("account").aggregate(last_ts=sides.ts.max())
        pairs = earlier.select(debtor=earlier.debtor_account_id,
                               creditor=earlier.creditor_account_id).distinct()
    rate = p.currency.cases(*REFERENCE_RATES.items(), else_=ibis.null())
    p = p.select(
        "payment_id", "ts_event", "channel", "purpose", "debtor_country", "creditor_country",
        "currency", debtor=p.debtor_account_id, creditor=p.creditor_account_id,
        cny=p.amount.cast("float64") * rate, day=Clock([]).day(p.ts_event))
    a = store.view("account")
    d = PaymentData(p, a.select("account_id", "opened_date", "account_type",
                                "last_active_date"), before, pairs)
    d.payments = d.shared(("payments",), lambda: _with_own(p, holders(store)))
    return d


def holders(store) -> ir.Table:
    """account_id, holder: who holds each registered account: its owner's group where
    the owner belongs to one (`party.group_id`), else its owner."""
    a, party = store.view("account"), store.view("party")
    j = a.left_join(party, a.owner_party_id == party.party_id)
    # One row per account whatever the register holds: the payments are joined to it.
    return j.group_by("account_id").aggregate(
        holder=j.group_id.fill_null(j.owner_party_id).max())


def _with_own(p: ir.Table, h: ir.Table) -> ir.Table:
    """The payments with `own`: between accounts of one holder (a person's own accounts
    at two banks, a group's sweeps and cash pool). Such a payment moves no money from
    one party to another, which is what every laundering shape is made of."""
    hd, hc = h.view(), h.view()
    t = p.left_join(hd, p.debtor == hd.account_id).select(p, hd_=hd.holder)
    t = t.left_join(hc, t.creditor == hc.account_id).select(t, hc_=hc.holder)
    return t.select(*p.columns, own=(t.hd_ == t.hc_).fill_null(False))
