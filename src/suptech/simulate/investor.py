"""`suptech simulate investor`: investors, their suitability assessments, products of five
risk levels and their sales by members' salespeople, with labelled mis-selling.

Ordinary sales are suitable by construction: a product within the investor's category
(the elderly buy up to R3), high-risk ones recorded, investors assessed long before.
A few ordinary sales are the allowed exception, papered whole (asked for, warned,
confirmed), each by a salesperson of its own. Each kind of mis-selling is made from the
rule's definition (docs/typologies/suitability.md), on investors of its own, and
labelled with its sale (or its salesperson or campaign) as subject:

- UNSUITABLE_SALE: above level unasked; to the lowest category even papered; asked for
  without a warning; warned without a confirmation; before any assessment;
- MISSING_RECORDING: R4-R5 within a C4-C5 investor's category, no recording;
- REASSESSMENT_GAMING: a C2 investor reassessed C4 1-5 days before buying R4;
- ELDERLY_HIGH_RISK_SALE: an investor of 70 or more buying R4-R5, suitable and recorded;
- ABOVE_LEVEL_PROMOTION: a salesperson, or a campaign, with 6-8 papered sales above
  the investors' levels;
- COMPLAINT_OVERDUE: a complaint acknowledged and never decided; one extended only
  after its deadline;
- MIS_SELLING_RATE: one institution selling above level unasked in 6 % of its sales
  (each also an UNSUITABLE_SALE, labelled so);
- STALE_ASSESSMENT: a sale on an assessment filed without an end, 800-1000 days old;
- RISK_PROFILE_MISMATCH: a C2 investor buying R4 three or four times, each papered; a C2
  investor with a margin account; a C5 investor buying only R1-R2, five or six times;
- COMPLAINT_RATE: one institution drawing three times its peers' complaints per sale.

Look-alikes, not labelled: the papered exceptions, reassessments 30 days or more
before an above-level purchase, the elderly buying R3, assessments without an end 600-700
days old, a C3 investor buying R4 three times papered, a C4 with a margin account, a C5
buying R1-R3; complaints decided on their
deadline's day, or extended in time and decided within 30 working days. Every other
complaint (one investor in fifty) is decided within 3-14 working days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from suptech.formats import ids
from suptech.formats.files import Label, write_labels, write_reports
from suptech.investor.complaints import LADDER, add_days
from suptech.simulate.market import midnight_ns, trading_days

HOUR = 3600 * 1_000_000_000
REGIONS = ("CN-SH", "CN-JS", "CN-ZJ", "CN-AH")
CATEGORY_SHARE = {"C1": 0.10, "C2": 0.20, "C3": 0.35, "C4": 0.25, "C5": 0.08,
                  "PROFESSIONAL": 0.02}
AGES = {"UNDER_60": 0.7, "60_TO_69": 0.2, "70_PLUS": 0.1}
KINDS = ("unsolicited", "lowest", "no_warning", "no_confirmation", "no_assessment",
         "no_recording", "gaming", "elderly", "promotion")


@dataclass
class InvestorResult:
    files: list[Path]
    labels: list[Label]
    sales: int


def _n(category: str) -> int:
    return 6 if category == "PROFESSIONAL" else int(category[1])


class _Book:
    def __init__(self, rng, start: dt.date, days: int, investors: int, members: int):
        self.rng, self.calendar = rng, trading_days(start, days)
        self.members = [ids.lei("SELL", m + 1) for m in range(members)]
        self.products = [(ids.isin_code("CN", 300_000 + k, "S"), f"R{k % 5 + 1}")
                         for k in range(25)]
        self.parties, self.accounts, self.assessments, self.sales = [], [], [], []
        self.complaints, self.steps = [], []
        self.labels: list[Label] = []
        self.investor: dict[str, dict] = {}
        for _ in range(investors):
            self.add_investor()

    def add_investor(self, category: str | None = None, lowest: bool | None = None,
                     age: str | None = None, assessed: dt.date | None = None,
                     assess: bool = True) -> str:
        rng = self.rng
        pid = f"IP{len(self.parties) + 1:06d}"
        category = category or str(rng.choice(list(CATEGORY_SHARE),
                                              p=list(CATEGORY_SHARE.values())))
        lowest = (category == "C1" and rng.random() < 0.5) if lowest is None else lowest
        age = age or str(rng.choice(list(AGES), p=list(AGES.values())))
        member = int(rng.integers(len(self.members)))
        self.parties.append({"party_id": pid, "party_type": "PERSON",
                             "region": str(rng.choice(REGIONS)), "investor_class": category})
        self.accounts.append({"account_id": f"IA{len(self.accounts) + 1:06d}",
                              "owner_party_id": pid, "member_lei": self.members[member],
                              "account_type": "CASH", "opened_date": dt.date(2020, 1, 2)})
        self.investor[pid] = {"category": category, "member": member, "age": age}
        if assess:
            self.assess(pid, category, lowest, age, assessed or self.calendar[0]
                        - dt.timedelta(days=int(rng.integers(30, 300))))
        return pid

    def assess(self, pid: str, category: str, lowest: bool, age: str, on: dt.date,
               valid: int | None = 730) -> None:
        self.assessments.append({"party_id": pid, "category": category,
                                 "lowest_category": lowest, "assessed_on": on,
                                 "valid_until": None if valid is None
                                 else on + dt.timedelta(days=valid), "age_band": age,
                                 "ts": midnight_ns(on) + 10 * HOUR})

    def margin(self, pid: str) -> None:
        """A margin account beside the investor's cash account, at the same member."""
        cash = next(a for a in self.accounts if a["owner_party_id"] == pid)
        self.accounts.append({**cash, "account_id": f"IA{len(self.accounts) + 1:06d}",
                              "account_type": "MARGIN"})

    def sell(self, pid: str, day: dt.date, level: str, salesperson: str | None = None,
             campaign: str | None = None, initiated: bool = False, warned: bool = False,
             confirmed: bool = False, recorded: bool | None = None) -> str:
        rng, who = self.rng, self.investor[pid]
        isin = str(rng.choice([i for i, lv in self.products if lv == level]))
        sid = f"SALE{len(self.sales) + 1:07d}"
        high = level in ("R4", "R5") and who["category"] != "PROFESSIONAL"
        self.sales.append({
            "sale_id": sid, "party_id": pid, "isin": isin,
            "member_lei": self.members[who["member"]],
            "amount": f"{rng.integers(1, 500) * 1000}", "currency": "CNY",
            "investor_initiated": initiated, "warning_ref": f"W-{sid}" if warned else None,
            "confirmation_ref": f"K-{sid}" if confirmed else None,
            "recording_id": f"REC-{sid}" if (high if recorded is None else recorded) else None,
            "salesperson_id": salesperson or f"SP{who['member']}-{rng.integers(10)}",
            "channel": str(rng.choice(["BRANCH", "ONLINE", "PHONE", "MOBILE_APP"])),
            "campaign_id": campaign,
            "ts": midnight_ns(day) + int(rng.integers(10, 15)) * HOUR + len(self.sales)})
        return sid

    def complain(self, pid: str, received: dt.date, steps: list[tuple[int, str]]) -> str:
        """A complaint received on `received`, its steps `working days after, event`."""
        who, cid = self.investor[pid], f"CMP{len(self.complaints) + 1:05d}"
        self.complaints.append({"complaint_id": cid, "party_id": pid,
                                "member_lei": self.members[who["member"]],
                                "category": "MIS_SELLING", "description": "simulated",
                                "ts": midnight_ns(received) + 11 * HOUR})
        for after, event in steps:
            self.steps.append({"complaint_id": cid, "event": event,
                               "extended_to": 30 if event == "EXTENDED" else None,
                               "notice_ref": f"N-{cid}" if event == "EXTENDED" else None,
                               "decision": "UPHELD" if event == "DECIDED" else None,
                               "ts": midnight_ns(add_days(received, after)) + 16 * HOUR})
        return cid

    def label(self, typology: str, subject: str, variant: str, first: int, last: int,
              isin: str | None = None) -> None:
        self.labels.append(Label(f"INV-{len(self.labels) + 1:04d}", typology, [], isin, first,
                                 last, variant, subject=subject))

    def label_sale(self, typology: str, sid: str, variant: str) -> None:
        sale = self.sales[int(sid[4:]) - 1]
        self.label(typology, sid, variant, sale["ts"], sale["ts"], sale["isin"])


def simulate_investors(out: Path, seed: int = 1, investors: int = 2_000, days: int = 40,
                       sales_a_day: int = 60, each: int = 3, members: int = 5,
                       start: dt.date = dt.date(2026, 3, 2),
                       fmt: str = "parquet") -> InvestorResult:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    b = _Book(rng, start, days, investors, members)
    ordinary = list(b.investor)
    for day in b.calendar:  # suitable sales
        for pid in rng.choice(ordinary, sales_a_day):
            who = b.investor[pid]
            top = min(_n(who["category"]), 5, 3 if who["age"] == "70_PLUS" else 5)
            b.sell(pid, day, f"R{rng.integers(1, top + 1)}")
    month = b.calendar[len(b.calendar) // 3:]

    def day() -> dt.date:
        return month[int(rng.integers(len(month)))]

    for pid in rng.choice(ordinary, len(ordinary) // 50, replace=False):
        b.complain(pid, day(), [(1, "ACKNOWLEDGED"), (int(rng.integers(3, 15)), "DECIDED")])
    for k in range(each):
        _episodes(b, rng, day, k)
        for variant, steps in (("never decided", [(1, "ACKNOWLEDGED")]),
                               ("extended late", [(1, "ACKNOWLEDGED"), (16, "EXTENDED")])):
            received = day()
            cid = b.complain(b.add_investor(), received, steps)
            due = add_days(received, LADDER[0])
            b.label("COMPLAINT_OVERDUE", cid, variant,
                    midnight_ns(due + dt.timedelta(days=1)),
                    midnight_ns(due + dt.timedelta(days=2)) - 1)
        b.complain(b.add_investor(), day(), [(1, "ACKNOWLEDGED"), (15, "DECIDED")])
        b.complain(b.add_investor(), day(), [(1, "ACKNOWLEDGED"), (12, "EXTENDED"),
                                             (25, "DECIDED")])
    if each:
        _mis_selling_institution(b, rng, day)
        _complaining_institution(b, rng, day)
    # Look-alikes: the allowed exception, a salesperson each; reassessment long before.
    for k in range(2 * each):
        pid = b.add_investor(category=str(rng.choice(["C2", "C3"])), lowest=False,
                             age="UNDER_60")
        b.sell(pid, day(), f"R{_n(b.investor[pid]['category']) + 1}", f"SPX-{k}",
               initiated=True, warned=True, confirmed=True)
        when = day()
        pid = b.add_investor(category="C2", lowest=False, age="UNDER_60",
                             assessed=when - dt.timedelta(days=400))
        b.assess(pid, "C4", False, "UNDER_60", when - dt.timedelta(days=int(rng.integers(30, 60))))
        b.investor[pid]["category"] = "C4"
        b.sell(pid, when, "R4")
        pid = b.add_investor(category="C4", lowest=False, age="70_PLUS")
        b.sell(pid, day(), "R3")
        when = day()
        pid = b.add_investor(category="C3", lowest=False, age="UNDER_60", assess=False)
        b.assess(pid, "C3", False, "UNDER_60",
                 when - dt.timedelta(days=int(rng.integers(600, 700))), valid=None)
        b.sell(pid, when, "R2")
        _profile_look_alikes(b, rng, day, k)
    return InvestorResult(_write(b, out, fmt), b.labels, len(b.sales))


def _episodes(b: _Book, rng, day, k: int) -> None:
    def fresh(category: str, **kw) -> str:
        return b.add_investor(category=category, lowest=kw.pop("lowest", False),
                              age=kw.pop("age", "UNDER_60"), **kw)

    pid = fresh("C2")
    b.label_sale("UNSUITABLE_SALE", b.sell(pid, day(), "R3"), "unsolicited")
    pid = fresh("C1", lowest=True)
    b.label_sale("UNSUITABLE_SALE", b.sell(pid, day(), "R2", initiated=True, warned=True,
                                           confirmed=True), "lowest")
    pid = fresh("C3")
    b.label_sale("UNSUITABLE_SALE", b.sell(pid, day(), "R4", initiated=True), "no warning")
    pid = fresh("C3")
    b.label_sale("UNSUITABLE_SALE", b.sell(pid, day(), "R4", initiated=True, warned=True),
                 "no confirmation")
    when = day()
    pid = fresh("C3", assessed=when + dt.timedelta(days=3))  # assessed after the sale
    b.label_sale("UNSUITABLE_SALE", b.sell(pid, when, "R2"), "no assessment")
    pid = fresh(str(rng.choice(["C4", "C5"])))
    b.label_sale("MISSING_RECORDING", b.sell(pid, day(), "R4", recorded=False), "not recorded")
    when = day()
    pid = fresh("C2", assessed=when - dt.timedelta(days=400))
    b.assess(pid, "C4", False, "UNDER_60", when - dt.timedelta(days=int(rng.integers(1, 6))))
    b.investor[pid]["category"] = "C4"
    b.label_sale("REASSESSMENT_GAMING", b.sell(pid, when, "R4"), "upgraded days before")
    pid = fresh(str(rng.choice(["C4", "C5"])), age="70_PLUS")
    b.label_sale("ELDERLY_HIGH_RISK_SALE", b.sell(pid, day(), "R4"), "70 or more")
    when = day()
    pid = fresh("C3", assess=False)
    b.assess(pid, "C3", False, "UNDER_60",
             when - dt.timedelta(days=int(rng.integers(800, 1000))), valid=None)
    b.label_sale("STALE_ASSESSMENT", b.sell(pid, when, "R2"), "no end, over two years")
    _profile_mismatches(b, rng, day, k, fresh)
    for variant in ("salesperson", "campaign"):
        member = int(rng.integers(len(b.members)))
        who, sold = f"PROMO-{variant[0].upper()}{k}", []
        for _ in range(int(rng.integers(6, 9))):
            pid = fresh(str(rng.choice(["C2", "C3"])))
            b.investor[pid]["member"] = member
            b.accounts[-1]["member_lei"] = b.members[member]
            level = f"R{_n(b.investor[pid]['category']) + 1}"
            sold.append(b.sell(pid, day(), level, salesperson=who if variant == "salesperson"
                               else None, campaign=who if variant == "campaign" else None,
                               initiated=True, warned=True, confirmed=True))
        ts = [b.sales[int(s[4:]) - 1]["ts"] for s in sold]
        b.label("ABOVE_LEVEL_PROMOTION", who, variant, min(ts), max(ts))


def _mis_selling_institution(b: _Book, rng, day) -> None:
    """One member selling above level, unasked, in 6 % of its sales (at least 6)."""
    member = int(rng.integers(len(b.members)))
    lei = b.members[member]
    extra = max(6, round(0.06 * sum(s["member_lei"] == lei for s in b.sales)))
    for _ in range(extra):
        pid = b.add_investor(category=str(rng.choice(["C2", "C3"])), lowest=False,
                             age="UNDER_60")
        b.investor[pid]["member"] = member
        b.accounts[-1]["member_lei"] = lei
        level = f"R{_n(b.investor[pid]['category']) + 1}"
        b.label_sale("UNSUITABLE_SALE", b.sell(pid, day(), level), "at a mis-selling institution")
    ts = [s["ts"] for s in b.sales]
    b.label("MIS_SELLING_RATE", lei, "6 % unasked above level", min(ts), max(ts))


def _buys(b: _Book, pid: str, day, levels: list[str], who: str, papered: bool) -> list[int]:
    sold = [b.sell(pid, day(), lv, who, initiated=papered, warned=papered, confirmed=papered)
            for lv in levels]
    return [b.sales[int(s[4:]) - 1]["ts"] for s in sold]


def _profile_mismatches(b: _Book, rng, day, k: int, fresh) -> None:
    pid = fresh("C2")
    ts = _buys(b, pid, day, ["R4"] * int(rng.integers(3, 5)), f"SPB-{k}", True)
    b.label("RISK_PROFILE_MISMATCH", pid, "beyond: papered R4", min(ts), max(ts))
    pid = fresh("C2")
    b.margin(pid)
    ts = _buys(b, pid, day, [f"R{rng.integers(1, 3)}" for _ in range(3)], None, False)
    b.label("RISK_PROFILE_MISMATCH", pid, "beyond: margin account", min(ts), max(ts))
    pid = fresh("C5")
    ts = _buys(b, pid, day, [f"R{rng.integers(1, 3)}" for _ in range(int(rng.integers(5, 7)))],
               None, False)
    b.label("RISK_PROFILE_MISMATCH", pid, "below: only R1-R2", min(ts), max(ts))


def _profile_look_alikes(b: _Book, rng, day, k: int) -> None:
    def fresh(category: str) -> str:
        return b.add_investor(category=category, lowest=False, age="UNDER_60")

    _buys(b, fresh("C3"), day, ["R4"] * 3, f"SPL-{k}", True)
    pid = fresh("C4")
    b.margin(pid)
    _buys(b, pid, day, [f"R{rng.integers(1, 4)}" for _ in range(3)], None, False)
    _buys(b, fresh("C5"), day, ["R3"] + [f"R{rng.integers(1, 4)}" for _ in range(4)], None,
          False)


def _complaining_institution(b: _Book, rng, day) -> None:
    """One member drawing three times its peers' complaints per sale (8 more at least),
    each decided in time."""
    member = int(rng.integers(len(b.members)))
    lei = b.members[member]
    sales = sum(s["member_lei"] == lei for s in b.sales)
    mine = sum(c["member_lei"] == lei for c in b.complaints)
    others = (len(b.complaints) - mine) / max(1, len(b.sales) - sales)
    buyers = sorted({s["party_id"] for s in b.sales if s["member_lei"] == lei})
    extra = max(8, round(3 * others * sales) - mine)
    for pid in rng.choice(buyers, min(extra, len(buyers)), replace=False):
        b.complain(str(pid), day(), [(1, "ACKNOWLEDGED"), (int(rng.integers(3, 15)), "DECIDED")])
    ts = [c["ts"] for c in b.complaints if c["member_lei"] == lei]
    b.label("COMPLAINT_RATE", lei, "three times the peers' rate", min(ts), max(ts))


def _ids(kind: str) -> pl.Expr:
    """Report ids of a type's file, apart from every other type's."""
    return pl.format(f"IV{kind.replace('_', '').upper()[:12]}{{}}", pl.int_range(pl.len())) \
        .alias("report_id")


def _write(b: _Book, out: Path, fmt: str) -> list[Path]:
    first = midnight_ns(b.calendar[0] - dt.timedelta(days=800))
    env = {"action": "NEW", "submitter": b.members[0]}
    frames = {
        "instrument": pl.DataFrame([{"isin": i, "mic": "XSHG", "name": f"Product {k}",
                                     "asset_class": "FUND", "currency": "CNY",
                                     "tick_size": "0.001", "lot_size": 1, "board": "FUND",
                                     "product_risk_level": lv}
                                    for k, (i, lv) in enumerate(b.products)]),
        "party": pl.DataFrame(b.parties), "account": pl.DataFrame(b.accounts)}
    files = []
    for kind, frame in frames.items():
        frame = frame.with_columns(_ids(kind), ts_event=pl.lit(first),
                                   **{k: pl.lit(v) for k, v in env.items()})
        files.append(write_reports(frame, kind, out, kind, fmt))
    for kind, rows in (("investor_assessment", b.assessments), ("product_sale", b.sales),
                       ("complaint", b.complaints), ("complaint_event", b.steps)):
        frame = pl.DataFrame(rows, infer_schema_length=None).rename({"ts": "ts_event"})
        frame = frame.with_columns(_ids(kind), **{k: pl.lit(v) for k, v in env.items()})
        files.append(write_reports(frame, kind, out, kind, fmt))
    files.append(write_labels(b.labels, out))
    return files
