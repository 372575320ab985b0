"""Per-payment features on the account graph, for the learned detector.

One row per payment: what the payment is (amount, time, channel, corridor) and where it
sits in the graph: how many accounts its debtor pays and its creditor is paid by, how
much of what each received the same day it passed on, whether the pair dealt before.
Window counts are divided by the days the scan covers, so a one-day incremental scan
and a three-day training run see the same scale. Computed with Ibis, so any engine.

No feature names an account, a bank or a currency, and none depends on the scale of a
network's amounts or its clock: the amount enters as its rank among the scan's
payments and as ratios to the accounts' own means. The model has to carry over to
networks it never saw (AMLworld's has other banks, currencies, channels, time zones).

Transfers from an account to itself move no money between parties and are left out,
as the rule detectors leave them out of the graph (cash deposits, which the simulator
writes that way, are the structuring rule's).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.detect.payments.common import ORDINARY, with_known
from suptech.detect.payments.data import HIGH_RISK, PaymentData
from suptech.i18n import N_, Words, words

#: The model's inputs, in order. Changing this list means training a new model version.
FEATURES = (
    "amount_rank", "cash", "cross_border", "high_risk", "foreign_currency", "ordinary",
    "d_out_rate", "d_out_parties", "d_in_rate", "d_in_parties", "d_day_out", "d_day_in",
    "d_day_in_share", "d_mean_out_ratio",
    "c_out_rate", "c_out_parties", "c_in_rate", "c_in_parties", "c_day_out", "c_day_in",
    "c_day_pass_share", "c_mean_in_ratio",
    "pair_payments", "pair_days", "reciprocal", "pair_known",
)

#: What each feature means, for explanations people read.
MEANING = {
    "amount_rank": N_("the amount's rank among the scan's payments (1 = largest)"),
    "d_out_rate": N_("payments the debtor makes a day (log)"),
    "d_out_parties": N_("accounts the debtor pays (log)"),
    "d_in_rate": N_("payments the debtor receives a day (log)"),
    "d_in_parties": N_("accounts that pay the debtor (log)"),
    "d_day_out": N_("payments the debtor made that day (log)"),
    "d_day_in": N_("payments the debtor received that day (log)"),
    "d_day_in_share": N_("what the debtor received that day over what it paid out"),
    "d_mean_out_ratio": N_("this amount against the debtor's usual payment (log ratio)"),
    "c_out_rate": N_("payments the creditor makes a day (log)"),
    "c_out_parties": N_("accounts the creditor pays (log)"),
    "c_in_rate": N_("payments the creditor receives a day (log)"),
    "c_in_parties": N_("accounts that pay the creditor (log)"),
    "c_day_out": N_("payments the creditor made that day (log)"),
    "c_day_in": N_("payments the creditor received that day (log)"),
    "c_day_pass_share": N_("what the creditor paid on that day over what it received"),
    "c_mean_in_ratio": N_("this amount against what the creditor usually receives (log ratio)"),
    "pair_payments": N_("payments between the two a day (log)"),
    "pair_days": N_("days the two dealt with each other"),
}
#: The yes-or-no features: what a payment with (1) and without (0) each is.
SAYS = {
    "cash": (N_("paid in cash"), N_("not paid in cash")),
    "cross_border": (N_("debtor and creditor in different countries"),
                     N_("debtor and creditor in one country")),
    "high_risk": (N_("to or from a FATF high-risk jurisdiction"),
                  N_("neither to nor from a FATF high-risk jurisdiction")),
    "foreign_currency": (N_("not in CNY"), N_("in CNY")),
    "ordinary": (N_("an ordinary business purpose code"), N_("no ordinary business purpose code")),
    "reciprocal": (N_("the creditor also pays the debtor"), N_("the creditor never pays the debtor")),
    "pair_known": (N_("the debtor and the creditor are regular counterparts"),
                   N_("the debtor and the creditor are not regular counterparts")),
}


def describe(feature: str, value: float, contribution: float, w: Words | None = None) -> str:
    """One driver of a learned score in words: what the payment is, then how far and
    which way that moved the score ("no ordinary business purpose code: +9.77 log-odds
    towards laundering"), never the feature's name beside a value that denies it; in
    the language of `w` (English where none is given)."""
    w = w or words("en")
    if feature in SAYS:
        what = w(SAYS[feature][0 if value >= 0.5 else 1])
    else:
        what = f"{w(MEANING[feature]) if feature in MEANING else feature} = {value:g}"
    if contribution >= 0:
        return w("{what}: {contribution:+.2f} log-odds towards laundering", what=what,
                 contribution=contribution)
    return w("{what}: {contribution:+.2f} log-odds away from laundering", what=what,
             contribution=contribution)


def _ln1p(x: ir.NumericValue) -> ir.FloatingValue:
    return (x.cast("float64").fill_null(0) + 1).ln()


def payment_features(d: PaymentData) -> ir.Table:
    """payment_id, debtor, creditor, ts_event and FEATURES, one row per payment."""
    p = d.payments
    p = with_known(d, p.filter(p.debtor != p.creditor))
    # Ranked while the table is narrow: the sort then carries a few columns, not forty.
    p = p.select("payment_id", "ts_event", "day", "debtor", "creditor", "cny", "channel",
                 "purpose", "currency", "debtor_country", "creditor_country", "known",
                 amount_rank=ibis.percent_rank().over(order_by=p.cny.fill_null(0)))
    # Accounts as integers: the joins and groupings below then hash numbers, not
    # millions of strings (a third of the time and memory on 5 million payments).
    names = p.select(account=p.debtor).union(p.select(account=p.creditor), distinct=True)
    # Numbered in a fixed order: each reference to `names` may be computed anew.
    names = names.mutate(aid=ibis.row_number().over(order_by="account"))
    n1, n2 = names.view(), names.view()  # views: the same table joined twice
    p = p.join(n1, p.debtor == n1.account).select(p, dn=n1.aid)
    p = p.join(n2, p.creditor == n2.account).select(p, cn=n2.aid)
    days = p.day.nunique().as_scalar().cast("float64")
    cny = p.cny.fill_null(0)
    out = p.group_by(key=p.dn).aggregate(
        out_n=p.count(), out_parties=p.cn.nunique(), out_sum=cny.sum())
    inn = p.group_by(key=p.cn).aggregate(
        in_n=p.count(), in_parties=p.dn.nunique(), in_sum=cny.sum())
    day_out = p.group_by(key=p.dn, kday=p.day).aggregate(
        day_out_n=p.count(), day_out_sum=cny.sum())
    day_in = p.group_by(key=p.cn, kday=p.day).aggregate(
        day_in_n=p.count(), day_in_sum=cny.sum())
    pairs = p.group_by(pd=p.dn, pc=p.cn).aggregate(pair_n=p.count(), pair_days=p.day.nunique())

    # Each side's figures, joined on its account (and the payment's day).
    t = p
    for prefix, key in (("d", "dn"), ("c", "cn")):
        for table, names_ in ((out, ("out_n", "out_parties", "out_sum")),
                              (inn, ("in_n", "in_parties", "in_sum")),
                              (day_out, ("day_out_n", "day_out_sum")),
                              (day_in, ("day_in_n", "day_in_sum"))):
            table = table.view()  # derived from the same payments as t: a view disambiguates
            predicates = [t[key] == table.key]
            if "kday" in table.columns:
                predicates.append(t.day == table.kday)
            t = t.left_join(table, predicates).select(
                t, *[table[n].cast("float64").fill_null(0).name(f"{prefix}_{n}")
                     for n in names_])
    pairs, back = pairs.view(), pairs.view()
    t = t.left_join(pairs, [t.dn == pairs.pd, t.cn == pairs.pc]).select(
        t, pairs.pair_n, pairs.pair_days)
    t = t.left_join(back, [t.dn == back.pc, t.cn == back.pd]).select(t, back_n=back.pair_n)
    amount = t.cny.fill_null(0)
    features = dict(
        amount_rank=t.amount_rank.cast("float64"),
        cash=(t.channel.upper() == "CASH").cast("float64"),
        cross_border=(t.debtor_country != t.creditor_country).fill_null(False).cast("float64"),
        high_risk=(t.debtor_country.isin(HIGH_RISK) | t.creditor_country.isin(HIGH_RISK))
        .fill_null(False).cast("float64"),
        foreign_currency=(t.currency != "CNY").fill_null(True).cast("float64"),
        ordinary=t.purpose.isin(ORDINARY).fill_null(False).cast("float64"),
        d_out_rate=_ln1p(t.d_out_n / days), d_out_parties=_ln1p(t.d_out_parties),
        d_in_rate=_ln1p(t.d_in_n / days), d_in_parties=_ln1p(t.d_in_parties),
        d_day_out=_ln1p(t.d_day_out_n), d_day_in=_ln1p(t.d_day_in_n),
        # What the debtor received that day, as a share of what it paid out.
        d_day_in_share=(t.d_day_in_sum / ibis.greatest(t.d_day_out_sum, 1.0)).clip(upper=10.0),
        d_mean_out_ratio=_ln1p(amount) - _ln1p(t.d_out_sum / ibis.greatest(t.d_out_n, 1.0)),
        c_out_rate=_ln1p(t.c_out_n / days), c_out_parties=_ln1p(t.c_out_parties),
        c_in_rate=_ln1p(t.c_in_n / days), c_in_parties=_ln1p(t.c_in_parties),
        c_day_out=_ln1p(t.c_day_out_n), c_day_in=_ln1p(t.c_day_in_n),
        # How much of what the creditor received that day it paid on the same day.
        c_day_pass_share=(t.c_day_out_sum / ibis.greatest(t.c_day_in_sum, 1.0)).clip(upper=10.0),
        c_mean_in_ratio=_ln1p(amount) - _ln1p(t.c_in_sum / ibis.greatest(t.c_in_n, 1.0)),
        pair_payments=_ln1p(t.pair_n / days), pair_days=t.pair_days.cast("float64").fill_null(0),
        reciprocal=(t.back_n.fill_null(0) > 0).cast("float64"),
        # The rules' notion of regular counterparts (`common.with_known`).
        pair_known=t.known.cast("float64"),
    )
    # Single precision, as the model reads them: half the memory for millions of rows.
    return t.select("payment_id", "debtor", "creditor", "ts_event",
                    **{name: features[name].cast("float32") for name in FEATURES})
