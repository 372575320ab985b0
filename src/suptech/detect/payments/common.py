"""Pieces several payment detectors share."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.base import hits_table
from suptech.detect.payments.data import PaymentData

#: Purposes whose flows are ordinary business, not movements of funds between parties a
#: launderer controls: salaries, intra-group sweeps, purchases, supplier and trade
#: payments, loans paid out to borrowers (ISO 20022 ExternalPurpose1Code). Trade-based
#: laundering needs its own detector, on invoices and prices, which the payment flow
#: alone cannot see.
ORDINARY = ("SALA", "INTC", "GDDS", "SUPP", "TRAD", "LOAN")


def large(d: PaymentData, min_cny: float) -> ir.Table:
    """Payments of at least `min_cny` between parties (not ordinary business flows)."""
    p = d.payments
    return p.filter((p.cny >= min_cny) & (p.purpose.isnull() | ~p.purpose.isin(ORDINARY))
                    & (p.debtor != p.creditor))


def new_pairs(d: PaymentData, t: ir.Table) -> ir.Table:
    """The payments of `t` between accounts that had not paid each other before that day,
    in the store (in or before the scanned range): not the account's regular business
    (a payroll, a supplier paid every month)."""
    p = d.payments
    first = p.group_by(["debtor", "creditor"]).aggregate(first_day=p.day.min())
    t = t.join(first, ["debtor", "creditor"])
    t = t.filter(t.day == t.first_day).drop("first_day")
    return t if d.pairs_before is None else t.anti_join(d.pairs_before, ["debtor", "creditor"])


def group_hits(t: ir.Table, accounts: ir.ArrayValue, score) -> ir.Table:
    """Hits of a case that involves several accounts (`accounts`, an array)."""
    return hits_table(t.mutate(account_ids=accounts.unique().sort(),
                               isin=ibis.null().cast("string"),
                               score=ibis.least(score, 1.0)))
