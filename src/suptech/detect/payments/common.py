"""Pieces several payment detectors share."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from suptech.detect.base import HIT_SCHEMA, SECOND, hits_table
from suptech.detect.payments.data import PaymentData

#: Purposes whose flows are ordinary business, not movements of funds between parties a
#: launderer controls: salaries, intra-group sweeps, purchases, supplier and trade
#: payments, loans paid out to borrowers and paid back, rent (ISO 20022
#: ExternalPurpose1Code). Trade-based laundering needs its own detector, on invoices and
#: prices, which the payment flow alone cannot see.
ORDINARY = ("SALA", "INTC", "GDDS", "SUPP", "TRAD", "LOAN", "LOAR", "RENT")
#: Days on which one account paying another makes them regular counterparts: a laundering
#: shape uses each of its links once or on a day or two.
REGULAR_DAYS = 3
#: Days since a pair first dealt after which they are regular counterparts.
ESTABLISHED_DAYS = 7
#: A day in nanoseconds.
DAY_NS = 86_400 * SECOND
#: Out of keeping with an account's business: an order of magnitude above its usual day.
ABOVE_USUAL = 10


def large(d: PaymentData, min_cny: float) -> ir.Table:
    """Payments of at least `min_cny` between parties (not ordinary business flows, nor
    between accounts of one holder: `data.holders`)."""
    p = d.payments
    return p.filter((p.cny >= min_cny) & (p.purpose.isnull() | ~p.purpose.isin(ORDINARY))
                    & (p.debtor != p.creditor) & ~p.own)


def with_known(d: PaymentData, t: ir.Table) -> ir.Table:
    """`t` (payments of the scanned range) with `known`: the debtor and the creditor
    are regular counterparts. The debtor had paid the creditor before the range (in the
    store), or `ESTABLISHED_DAYS` or more before that day, or pays it on at least
    `REGULAR_DAYS` days of the range that span `ESTABLISHED_DAYS` or more (a standing
    relationship, plain to a scan of a month from its first day on). A payment between
    such a pair is the account's regular business (a payroll, a supplier paid every
    month, a group's daily sweep); a link a laundering case uses again a day later, or
    a conduit used every day of a week, is not."""
    p = d.payments
    first = p.group_by(fd="debtor", fc="creditor").aggregate(
        first_day=p.day.min(), last_day=p.day.max(), days=p.day.nunique())
    standing = (first.days >= REGULAR_DAYS) & (
        first.last_day - first.first_day >= ESTABLISHED_DAYS)
    t = t.join(first, [t.debtor == first.fd, t.creditor == first.fc]).select(
        t, known=(first.first_day <= t.day - ESTABLISHED_DAYS) | standing)
    if d.pairs_before is None:
        return t
    b = d.pairs_before.select(bd="debtor", bc="creditor", before=ibis.literal(True))
    t = t.left_join(b, [t.debtor == b.bd, t.creditor == b.bc])
    return t.select(*[c for c in t.columns if c not in ("bd", "bc", "before", "known")],
                    known=t.known | t.before.fill_null(False))


def unusual(d: PaymentData, min_cny: float) -> ir.Table:
    """Large payments (`large`) out of keeping with the payer's business: between
    accounts that had not paid each other before that day (`with_known`), and more than
    `ABOVE_USUAL` times what the payer pays its regular counterparts on an average day
    (`usual_day`). Where the graph typologies look for their shapes: a ring, a block or
    a hub made of a company's standing relationships (its suppliers paid every month, its
    group's daily sweeps and top-ups) or of payments the size of its business (a trader
    paying a new foreign supplier) is its business; the laundering shapes are made of
    transfers between accounts with no dealings before, out of keeping with the payer
    (FATF: "no apparent business relationship"; PBoC: "inconsistent with the client's
    business"). Computed once per scan."""
    return d.shared(("unusual", min_cny), lambda: beyond_usual(
        new_pairs(d, large(d, min_cny)), "debtor", "cny", usual_day(d, "debtor")))


def passing(d: PaymentData, min_cny: float) -> ir.Table:
    """The payments of `unusual` between accounts that both pay and receive such sums:
    where money passed on from hand to hand (rings, walks) is looked for; the sources
    and sinks of fans, scatter-gathers and stacks are not in it."""
    big = unusual(d, min_cny)
    both = big.select(account=big.debtor).intersect(big.select(account=big.creditor))
    return big.filter(big.debtor.isin(both.account) & big.creditor.isin(both.account))


def same_order(amount: float, other: float, share: float) -> bool:
    """Whether `amount` is from `share` to `1 / share` times `other`: a sum passed on,
    of the same order as the one beside it (a ring's or a walk's next hop)."""
    return share * other <= amount <= other / share


def beyond_usual(t: ir.Table, account: str, amount: str, usual: ir.Table,
                 times: float = ABOVE_USUAL) -> ir.Table:
    """The rows of `t` whose `amount` is more than `times` the `account`'s usual day
    (`usual`, from `usual_day`): out of keeping with its business."""
    u = usual.select(usual_account="account", usual_cny="usual")
    t = t.left_join(u, t[account] == u.usual_account)
    return t.filter(t[amount] > times * t.usual_cny.fill_null(0)).drop(
        "usual_account", "usual_cny")


def usual_day(d: PaymentData, side: str) -> ir.Table:
    """account, usual: what the account pays (`side` "debtor") or is paid ("creditor")
    on an average day of the scanned range, by and to its regular counterparts
    (`with_known`): the size of its business. A mule's regular flow is nothing.
    Computed once per scan."""
    def build():
        p = d.payments
        known = with_known(d, p.filter(p.debtor != p.creditor))
        known = known.filter(known.known)
        days = p.day.nunique().as_scalar().cast("float64")
        return known.group_by(account=known[side]).aggregate(
            usual=known.cny.sum().cast("float64") / days)
    return d.shared(("usual day", side), build)


def new_pairs(d: PaymentData, t: ir.Table) -> ir.Table:
    """The payments of `t` between accounts that had not paid each other before that day
    (`with_known`)."""
    t = with_known(d, t)
    return t.filter(~t.known).drop("known")


def sole(t: ir.Table, centre: str, other: str, among: ir.Table | None = None) -> ir.Table:
    """The payments of `t` whose `other` side deals with no `centre` but this one that
    day, in `t` or in the payments `among` (the shape's own scale: a person lending an
    account still pays a friend a thousand now and then). A mule set up for one fan or
    hub; keeps many-to-many blocks (bipartite, stacks) out of the one-to-many shapes."""
    a = t if among is None else among
    degree = a.group_by([a[other].name("who"), "day"]).aggregate(k=a[centre].nunique())
    several = degree.filter(degree.k > 1).select("who", "day")
    return t.anti_join(several, [t[other] == several.who, t.day == several.day])


def windows(rows: list[dict], within_days: int) -> list[tuple[list[dict], list[dict]]]:
    """(window, around) pairs of `rows` (dicts with a "day"): the whole range, then
    each `within_days` of it with the `within_days` either side. A shape found over the
    whole range is one its accounts make nothing else of in it; over a month, the
    accounts a shape borrows (people with a business of their own) deal with others on
    other days, so it is also looked for in each window, its accounts making nothing
    else of the kind in the window's `around`."""
    days = sorted({r["day"] for r in rows})
    found = [(rows, rows)]
    for first in days:
        # A window whose days around are the whole range finds nothing the range does not.
        if days[0] < first - within_days or first + 2 * within_days <= days[-1]:
            found.append((
                [r for r in rows if first <= r["day"] < first + within_days],
                [r for r in rows if first - within_days <= r["day"] < first + 2 * within_days]))
    return found


def shape_hit(accounts, payments: list[dict], score: float) -> dict:
    """A hit of a shape found in Python (`networkx`) over `payments` (dicts with
    ts_event and payment_id): its accounts, the time its payments span, and those
    payments as its evidence."""
    times = [r["ts_event"] for r in payments]
    return {"account_ids": sorted(accounts), "isin": None, "window_start": min(times),
            "window_end": max(times), "score": min(1.0, score),
            "evidence": [r["payment_id"] for r in payments]}


def shape_hits(hits: list[dict]) -> ir.Table:
    """`shape_hit`s as a detector's hits."""
    return ibis.memtable(pa.Table.from_pylist(hits, schema=HIT_SCHEMA.to_pyarrow()))


def group_hits(t: ir.Table, accounts: ir.ArrayValue, score) -> ir.Table:
    """Hits of a case that involves several accounts (`accounts`, an array)."""
    return hits_table(t.mutate(account_ids=accounts.unique().sort(),
                               isin=ibis.null().cast("string"),
                               score=ibis.least(score, 1.0)))
