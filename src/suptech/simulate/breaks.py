"""Breaks injected into a simulated market's reports, labelled, for reconciliation to
find (`suptech.reconcile`); and the time each file reaches the platform, so that its
deadlines can be measured.

Every simulated fill names its trade at the trade's price and quantity, so the day
reconciles whole until these are made, each on a trade of its own:

- a member's fill left out (UNPAIRED_VENUE), a trade the venue left out (its two fills
  UNPAIRED_MEMBER), a fill naming a trade that never was (UNPAIRED_MEMBER);
- a fill at a price a tick off, a quantity a lot short, a time 5 s late, on another
  account of its member (MISMATCH of that field);
- a fill reported twice (DUPLICATE);
- a member's fills sent after the next trading day's 08:00 (LATE), a correction sent two
  trading days after (LATE_CORRECTION);
- an order executed for another firm's client, routed under an id never reported
  (ROUTE_UNMATCHED, UNROUTED_EXECUTION) or not routed (UNROUTED_EXECUTION).

Look-alikes, not breaks: fills sent at 07:59 on the next trading day, a correction sent
then, an order routed whole from the client's firm. The day's other reports arrive at
18:00 local on the day; the reference data first, an hour after its last record, and
each announcement an hour after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from suptech.model.calendar import DEFAULT, SECOND, add_trading_days, day_of
from suptech.model.reports import REPORT_TYPES

HOUR = 3600 * SECOND

FILLS = ("FILL", "PARTIAL_FILL")
LABEL_SCHEMA = {"kind": pl.String, "field": pl.String, "trade_id": pl.String,
                "side": pl.String, "report_id": pl.String, "variant": pl.String,
                "order_id": pl.String}
#: What identifies a break of each kind: its execution's side, or the report itself.
BY_SIDE = ("kind", "field", "trade_id", "side")
BY_REPORT = ("kind", "report_id")
BY_ORDER = ("kind", "order_id")
ROUTING = ("ROUTE_UNMATCHED", "UNROUTED_EXECUTION")


@dataclass
class BreakResult:
    #: Each file and when the platform receives it (ns UTC), in that order.
    schedule: list[tuple[Path, int]]
    labels: pl.DataFrame  # LABEL_SCHEMA


def _at(day: dt.date, hours: float) -> int:
    return DEFAULT.day_start(day_of(day)) + int(hours * HOUR)


def inject_breaks(files: list[Path], out: Path, seed: int = 1, each: int = 2) -> BreakResult:
    """`files` (a simulated market's parquet files) with `each` breaks of every kind a
    day, written to `out`; the reference files are received first, as they are."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    days = sorted({p.stem.split("-", 1)[1] for p in files if p.stem.startswith("trade-")})
    reference = sorted([p for p in files if p.suffix == ".parquet" and "-" not in p.stem],
                       key=lambda p: REPORT_TYPES[p.stem].rank)  # reference data first
    opened = max(pl.read_parquet(p)["ts_event"].max() for p in reference) + HOUR
    schedule = [(p, opened) for p in reference]
    # Announcements are published at any hour, some on later days than their file's.
    schedule += [(p, max(opened, pl.read_parquet(p)["ts_event"].max() + HOUR)) for p in files
                 if p.stem.startswith("announcement-")]
    labels = []
    accounts = pl.read_parquet(next(p for p in reference if p.stem == "account"))
    # Breaks stay off the simulated abuse, so that each is measured on its own.
    cases = next((p for p in files if p.name == "labels.csv"), None)
    abusers = set() if cases is None else {a for x in pl.read_csv(cases)["account_ids"]
                                           .drop_nulls() for a in x.split(";")}
    for day in days:
        d = dt.date.fromisoformat(day)
        ev = pl.read_parquet(next(p for p in files if p.stem == f"order_event-{day}"))
        tr = pl.read_parquet(next(p for p in files if p.stem == f"trade-{day}"))
        clean = ~pl.col("buy_account_id").is_in(list(abusers)) \
            & ~pl.col("sell_account_id").is_in(list(abusers))
        parts, found = _day(rng, ev, tr, each, accounts, clean)
        labels += found
        nxt = add_trading_days(None, d, 1)
        when = {"day": _at(d, 18), "early": _at(nxt, 7 + 59 / 60), "late": _at(nxt, 9),
                "later": _at(add_trading_days(None, d, 2), 10)}
        for (kind, stem), frame in parts.items():
            if frame.height:
                path = out / f"{kind}-{day}-{stem}.parquet"
                frame.write_parquet(path)
                schedule.append((path, when[stem]))
    schedule.sort(key=lambda x: x[1])
    return BreakResult(schedule, pl.DataFrame(labels, schema=LABEL_SCHEMA, orient="row"))


def _day(rng, ev: pl.DataFrame, tr: pl.DataFrame, each: int, accounts: pl.DataFrame,
         clean: pl.Expr):
    """The day's breaks, on trades `clean` says are between ordinary accounts."""
    ev, tr, labels, used = _routes(rng, ev, tr, each, accounts, clean)
    fills = ev.filter(pl.col("event_type").is_in(FILLS))
    picks = iter([t for t in rng.permutation(tr.filter(clean)["trade_id"].to_numpy()).tolist()
                  if t not in used])
    changes, extra, drop_events, drop_trades = {}, [], set(), set()
    late, early, corr_late, corr_early = [], [], [], []

    def fill_of(trade: str, where=lambda f: True) -> dict:
        """One side's fill of `trade`, else of the next trade, until `where` holds."""
        while True:
            side = "BUY" if rng.random() < 0.5 else "SELL"
            f = fills.filter((pl.col("trade_id") == trade) & (pl.col("side") == side)).row(
                0, named=True)
            if where(f):
                return f
            trade = next(picks)

    def others(f: dict) -> pl.Series:
        """The other accounts of the fill's member."""
        return ev.filter((pl.col("member_lei") == f["member_lei"])
                         & (pl.col("account_id") != f["account_id"]))["account_id"]

    def label(kind, field, f, variant, report_id=None):
        labels.append((kind, field, f["trade_id"], f["side"], report_id, variant, None))

    for k in range(each):
        f = fill_of(next(picks))
        drop_events.add(f["report_id"])
        label("UNPAIRED_VENUE", None, f, "member left a fill out")
        t = next(picks)
        drop_trades.add(t)
        for side in ("BUY", "SELL"):
            label("UNPAIRED_MEMBER", None, {"trade_id": t, "side": side}, "venue left a trade out")
        f = fill_of(next(picks))
        ghost = {**f, "report_id": f"{f['report_id']}-G", "trade_id": f"TX{k}-{f['trade_id']}"}
        extra.append(ghost)
        label("UNPAIRED_MEMBER", None, ghost, "fill of no trade")
        f = fill_of(next(picks))
        changes[f["report_id"]] = {"fill_price": f["fill_price"] + Decimal("0.01")}
        label("MISMATCH", "price", f, "a tick off")
        f = fill_of(next(picks), lambda f: f["fill_quantity"] > 100)
        changes[f["report_id"]] = {"fill_quantity": f["fill_quantity"] - 100}
        label("MISMATCH", "quantity", f, "a lot short")
        f = fill_of(next(picks))
        changes[f["report_id"]] = {"ts_event": f["ts_event"] + 5_000_000_000}
        label("MISMATCH", "ts_event", f, "5 s late")
        f = fill_of(next(picks), lambda f: others(f).len() > 0)
        changes[f["report_id"]] = {"account_id": others(f)[0]}
        label("MISMATCH", "account_id", f, "another account of the member")
        f = fill_of(next(picks))
        extra.append({**f, "report_id": f"{f['report_id']}-D"})
        label("DUPLICATE", None, f, "reported twice", f"{f['report_id']}-D")
        f = fill_of(next(picks))
        late.append(f["report_id"])
        label("LATE", "ts_received", f, "after 08:00 the next trading day", f["report_id"])
        f = fill_of(next(picks))
        corr_late.append(f["report_id"])
        label("LATE_CORRECTION", "ts_received", f, "two trading days after", f["report_id"])
        early.append(fill_of(next(picks))["report_id"] if k % 2 else None)
        corr_early.append(fill_of(next(picks))["report_id"] if k % 2 == 0 else None)
    ev = ev.filter(~pl.col("report_id").is_in(list(drop_events)))
    for rid, new in changes.items():
        ev = ev.with_columns(**{c: pl.when(pl.col("report_id") == rid).then(pl.lit(v))
                                .otherwise(pl.col(c)) for c, v in new.items()})
    ev = pl.concat([ev, pl.DataFrame(extra, schema=ev.schema)])
    moved = [r for r in late + early if r]
    corrections = ev.filter(pl.col("report_id").is_in([r for r in corr_late + corr_early if r]))
    corrections = corrections.with_columns(action=pl.lit("CORR"))
    late_ids = [r for r in late if r]
    parts = {
        ("order_event", "day"): ev.filter(~pl.col("report_id").is_in(moved)),
        ("order_event", "late"): ev.filter(pl.col("report_id").is_in(late_ids)),
        ("order_event", "early"): pl.concat([
            ev.filter(pl.col("report_id").is_in([r for r in early if r])),
            corrections.filter(pl.col("report_id").is_in([r for r in corr_early if r]))]),
        ("order_event", "later"): corrections.filter(pl.col("report_id").is_in(corr_late)),
        ("trade", "day"): tr.filter(~pl.col("trade_id").is_in(list(drop_trades)))}
    return parts, labels


def _routes(rng, ev: pl.DataFrame, tr: pl.DataFrame, each: int, accounts: pl.DataFrame,
            clean: pl.Expr):
    """Orders a member executes for a client of another firm, which sent them on: the
    order moved to an account the other firm holds (in its events and trades), and that
    firm's client order and ROUTE before it. Of each three: routed whole (a look-alike),
    routed under a wrong id (ROUTE_UNMATCHED, and UNROUTED_EXECUTION of the order), never
    routed (UNROUTED_EXECUTION). Returns the day's events and trades, the labels and the
    trades of the orders used (kept from the other breaks)."""
    ev = ev.with_columns(**{c: pl.lit(None, pl.String) for c in ("routed_to", "routed_order_id")
                            if c not in ev.columns})
    news = ev.filter(pl.col("event_type") == "NEW")
    touched = tr.filter(~clean)
    avoid = set(touched["buy_order_id"]) | set(touched["sell_order_id"])
    filled = ev.filter(pl.col("event_type").is_in(FILLS) & ~pl.col("order_id").is_in(
        list(avoid)))["order_id"].unique().sort()
    chosen = rng.choice(filled.to_numpy(), 3 * each, replace=False).tolist()
    labels, extra, moved = [], [], {}
    for k, oid in enumerate(chosen):
        new = news.filter(pl.col("order_id") == oid).row(0, named=True)
        firms = accounts.filter(pl.col("member_lei") != new["member_lei"])
        client = firms.row(int(rng.integers(firms.height)), named=True)
        moved[oid] = client["account_id"]
        kind = ("whole", "wrong id", "no route")[k % 3]
        cid = f"C{oid}"
        order = {**new, "submitter": client["member_lei"], "member_lei": client["member_lei"],
                 "account_id": client["account_id"], "order_id": cid}
        extra.append({**order, "report_id": f"RT{oid}-N", "ts_event": new["ts_event"] - 2_000_000})
        if kind != "no route":
            extra.append({**order, "report_id": f"RT{oid}-R", "event_type": "ROUTE",
                          "ts_event": new["ts_event"] - 1_000_000,
                          "routed_to": new["member_lei"],
                          "routed_order_id": oid + ("X" if kind == "wrong id" else "")})
        if kind == "wrong id":
            labels.append(("ROUTE_UNMATCHED", None, None, None, None, "route to an id never "
                           "reported", cid))
        if kind != "whole":
            labels.append(("UNROUTED_EXECUTION", None, None, None, None,
                           f"executed, {kind}", oid))
    ev = ev.with_columns(account_id=pl.col("order_id").replace_strict(moved, default=None, return_dtype=pl.String)
                         .fill_null(pl.col("account_id")))
    ev = pl.concat([ev, pl.DataFrame(extra, schema=ev.schema)]).sort("ts_event",
                                                                     maintain_order=True)
    tr = tr.with_columns(**{f"{s}_account_id": pl.col(f"{s}_order_id").replace_strict(
        moved, default=None, return_dtype=pl.String).fill_null(pl.col(f"{s}_account_id")) for s in ("buy", "sell")})
    used = set(tr.filter(pl.col("buy_order_id").is_in(chosen)
                         | pl.col("sell_order_id").is_in(chosen))["trade_id"])
    return ev, tr, labels, used


def score(labels: pl.DataFrame, breaks: pl.DataFrame) -> pl.DataFrame:
    """Per kind: labels, found, breaks, true. A break of a side's execution is the
    label's when kind, field, trade and side agree; a route's when its order does; a
    late or duplicate report's when its report id does (the member's, or the venue's)."""
    b = breaks.with_columns(report_id=pl.coalesce("member_report_id", "venue_report_id"))
    side = pl.col("kind").is_in(["UNPAIRED_VENUE", "UNPAIRED_MEMBER", "MISMATCH"])
    routing = pl.col("kind").is_in(ROUTING)
    parts = []
    for keys, which in ((list(BY_SIDE), side), (list(BY_ORDER), routing),
                        (list(BY_REPORT), ~side & ~routing)):
        lab = labels.filter(which).select(keys).unique()
        got = b.filter(which).select(keys).unique()
        counts = [lab.group_by("kind").len("labels"),
                  lab.join(got, on=keys, how="semi", nulls_equal=True)
                  .group_by("kind").len("found"),
                  got.group_by("kind").len("breaks"),
                  got.join(lab, on=keys, how="semi", nulls_equal=True)
                  .group_by("kind").len("true")]
        out = counts[0]
        for c in counts[1:]:
            out = out.join(c, on="kind", how="full", coalesce=True)
        parts.append(out)
    return pl.concat(parts, how="diagonal").fill_null(0).group_by("kind").sum().sort("kind")
