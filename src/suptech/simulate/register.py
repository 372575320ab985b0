"""The new-technology risk register and the innovation pilots for `suptech simulate risk`:
institutions' applications of new technologies with their assessments, cover and
incidents, and pilots with their limits and activity, with labelled breaches.

An ordinary application is covered 1.2-1.5 times over, reviewed long after the month
and has a low or medium incident now and then; an ordinary pilot stays under 80 % of its
limits and ends after the month. Each breach is made from its rule's definition, on its
own application or pilot, on a day of the month (`L`), and labelled on that day:

- cover: the insurance lapses the day before L, or the exposure is raised on L to twice;
- review: the next review fell due 31 days before L, or it went live then unassessed;
- incidents: high incidents 20 and 10 days before L and on L, or one critical on L;
- pilots: customers or volume past the limit reported on L, still live the day after
  its end, or business reported on L after exiting 3 days before.

Look-alikes, not labelled: an exposure raised a tenth (still covered), a review that
falls due and is done before the grace ends, two high incidents and a medium, a pilot
extended before its end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from suptech.formats import ids
from suptech.formats.files import Label
from suptech.model.calendar import DEFAULT
from suptech.model.reports_risk import BUSINESSES, TECHNOLOGIES
from suptech.simulate.market import midnight_ns

HOUR = 3600 * 1_000_000_000
#: Ordinary applications and pilots besides those of the breaches.
ORDINARY_APPS, ORDINARY_PILOTS = 24, 6
KINDS = ("cover", "review", "incidents", "pilots")


@dataclass
class Filings:
    rows: dict[str, list[dict]] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)

    def add(self, kind: str, when: dt.date, **fields) -> None:
        rows = self.rows.setdefault(kind, [])
        fields.setdefault("submitter", ids.lei("BANK", 1))
        rows.append({"report_id": f"R{kind[:4].upper()}{len(rows)}", "action": "NEW",
                     "ts_event": midnight_ns(when) + 18 * HOUR + len(rows), **fields})

    def label(self, typology: str, subject: str, when: dt.date, variant: str) -> None:
        start = midnight_ns(when)
        self.labels.append(Label(f"REG-{len(self.labels) + 1:03d}", typology, [], None, start,
                                 DEFAULT.close(DEFAULT.local_day(start)), variant,
                                 subject=subject))

    def frames(self) -> dict[str, pl.DataFrame]:
        return {k: pl.DataFrame(v) for k, v in self.rows.items()}


def simulate_register(rng, calendar: list[dt.date], month: int, banks: int = 40,
                      each: int = 2) -> Filings:
    """Filings over `calendar`, `each` breaches of every kind and variant pair (and as many
    look-alikes) on days of its last `month` days."""
    f = Filings()
    first = calendar[0]
    # Each breach is of a subject of its own: two may fall on one day.
    days = (calendar[int(k)] for k in iter(lambda: rng.integers(len(calendar) - month,
                                                                 len(calendar)), None))
    n = 0

    def app(live: dt.date | None = None, assessed: bool = True, cover: float = 1.2,
            insurance_to: dt.date | None = None) -> tuple[str, float]:
        nonlocal n
        n += 1
        aid, bank = f"APP{n:04d}", ids.lei("BANK", int(rng.integers(banks)) + 1)
        exposure = float(round(rng.uniform(1e6, 5e8), -3))
        live = live or first - dt.timedelta(days=int(rng.integers(30, 400)))
        f.add("tech_application", first, submitter=bank, application_id=aid,
              institution_lei=bank, technology=str(rng.choice(TECHNOLOGIES)),
              business=str(rng.choice(BUSINESSES)), description="simulated application",
              customer_type="RETAIL", customers=int(rng.integers(100, 100_000)),
              volume=f"{exposure * rng.uniform(5, 50):.0f}", exposure=f"{exposure:.0f}",
              currency="CNY", live_from=live)
        if assessed:
            f.add("tech_assessment", first, submitter=bank, application_id=aid,
                  assessed_on=live - dt.timedelta(days=5),
                  next_review=calendar[-1] + dt.timedelta(days=int(rng.integers(60, 300))),
                  inherent_risk="HIGH", residual_risk="MEDIUM", operational="MEDIUM",
                  cyber="MEDIUM", data_protection="MEDIUM", model="LOW", third_party="LOW",
                  conduct="LOW")
        # A provision of 0.8-0.9 of the exposure and an insurance for the rest and more.
        provision = rng.uniform(0.8, 0.9)
        f.add("risk_cover", first, submitter=bank, application_id=aid, cover_type="PROVISION",
              amount=f"{exposure * provision:.0f}", currency="CNY", valid_to=None)
        f.add("risk_cover", first, submitter=bank, application_id=aid, cover_type="INSURANCE",
              amount=f"{exposure * (cover - provision + rng.uniform(0, 0.3)):.0f}",
              currency="CNY", valid_to=insurance_to or calendar[-1] + dt.timedelta(days=365))
        return aid, exposure

    def incident(aid: str, when: dt.date, severity: str) -> None:
        f.add("tech_incident", when, application_id=aid, incident_id=f"I{aid}-{when}",
              severity=severity, category="OUTAGE", loss="10000", currency="CNY",
              customers_affected=10, description="simulated incident", pilot_id=None)

    for _ in range(ORDINARY_APPS):
        aid, _ = app()
        for d in rng.choice(len(calendar), 2, replace=False):  # now and then, minor
            incident(aid, calendar[int(d)], str(rng.choice(["LOW", "MEDIUM"])))
    for k in range(each):
        day = next(days)  # cover: an insurance lapsing the day before
        aid, _ = app(insurance_to=day - dt.timedelta(days=1))
        f.label("TECH_COVER_SHORTFALL", aid, day, "insurance lapsed")
        day = next(days)  # cover: the exposure raised to twice
        aid, exposure = app()
        _reraise(f, aid, day, exposure * 2)
        f.label("TECH_COVER_SHORTFALL", aid, day, "exposure raised")
        aid, exposure = app()  # look-alike: raised a tenth, still covered
        _reraise(f, aid, next(days), exposure * 1.1)
        day = next(days)  # review due 31 days before
        aid, _ = app(assessed=False)
        _assess(f, aid, first, day - dt.timedelta(days=31))
        f.label("TECH_REVIEW_OVERDUE", aid, day, "review overdue")
        day = next(days)  # live 31 days before, never assessed
        aid, _ = app(live=day - dt.timedelta(days=31), assessed=False)
        f.label("TECH_REVIEW_OVERDUE", aid, day, "never assessed")
        day = next(days)  # look-alike: due, and done within the grace
        aid, _ = app(assessed=False)
        _assess(f, aid, first, day - dt.timedelta(days=31))
        _assess(f, aid, day - dt.timedelta(days=2), calendar[-1] + dt.timedelta(days=200))
        day = next(days)  # three high incidents within 90 days
        aid, _ = app()
        for back, sev in ((20, "HIGH"), (10, "HIGH"), (0, "HIGH")):
            incident(aid, day - dt.timedelta(days=back), sev)
        f.label("TECH_INCIDENTS", aid, day, "three high")
        day = next(days)  # one critical
        aid, _ = app()
        incident(aid, day, "CRITICAL")
        f.label("TECH_INCIDENTS", aid, day, "one critical")
        day = next(days)  # look-alike: two high and a medium
        aid, _ = app()
        for back, sev in ((20, "HIGH"), (10, "MEDIUM"), (0, "HIGH")):
            incident(aid, day - dt.timedelta(days=back), sev)
    _pilots(rng, f, calendar, banks, days, each)
    return f


def _reraise(f: Filings, aid: str, when: dt.date, exposure: float) -> None:
    """The application filed again on `when` with a new exposure (the rest as it was)."""
    was = next(r for r in reversed(f.rows["tech_application"]) if r["application_id"] == aid)
    f.add("tech_application", when, **{k: v for k, v in was.items()
                                        if k not in ("report_id", "action", "ts_event")}
          | {"exposure": f"{exposure:.0f}"})


def _assess(f: Filings, aid: str, when: dt.date, next_review: dt.date) -> None:
    """Filed on `when`, made then or (a review already due) half a year before it."""
    f.add("tech_assessment", when, application_id=aid,
          assessed_on=min(when, next_review - dt.timedelta(days=180)),
          next_review=next_review, inherent_risk="HIGH", residual_risk="MEDIUM",
          operational="MEDIUM", cyber="MEDIUM", data_protection="MEDIUM", model="LOW",
          third_party="LOW", conduct="LOW")


def _pilots(rng, f: Filings, calendar, banks: int, days, each: int) -> None:
    first, last = calendar[0], calendar[-1]
    made = 0

    def pilot(ends: dt.date | None = None, until: dt.date = last) -> tuple[str, int, float]:
        nonlocal made
        made += 1
        pid, bank = f"PILOT{made:03d}", ids.lei("BANK", int(rng.integers(banks)) + 1)
        customers, volume = int(rng.integers(200, 5_000)), float(round(rng.uniform(1e7, 1e9), -3))
        f.add("pilot", first, pilot_id=pid, institution_lei=bank, name=f"Pilot {made}",
              technology=str(rng.choice(TECHNOLOGIES)), business=str(rng.choice(BUSINESSES)),
              status="LIVE", max_customers=customers, max_volume=f"{volume:.0f}",
              currency="CNY", ends_on=ends or last + dt.timedelta(days=int(rng.integers(30, 365))),
              conditions="within the limits stated")
        for d in [d for d in calendar[::5] if d < until]:  # weekly, under 80 % of the limits
            activity(pid, d, int(customers * rng.uniform(0.1, 0.8)), volume * rng.uniform(0.1, 0.8))
        return pid, customers, volume

    def activity(pid: str, when: dt.date, customers: int, volume: float) -> None:
        f.add("pilot_activity", when, pilot_id=pid, customers=customers,
              volume=f"{volume:.0f}", currency="CNY")

    def status(pid: str, when: dt.date, new: str, **more) -> None:
        was = next(r for r in reversed(f.rows["pilot"]) if r["pilot_id"] == pid)
        f.add("pilot", when, **{k: v for k, v in was.items()
                                if k not in ("report_id", "action", "ts_event")}
              | {"status": new, **more})

    for _ in range(ORDINARY_PILOTS):
        pilot()
    for _ in range(each):
        day = next(days)
        pid, customers, volume = pilot()
        activity(pid, day, customers + int(rng.integers(1, 50)), volume * 0.5)
        f.label("PILOT_LIMIT_BREACH", pid, day, "customers")
        day = next(days)
        pid, customers, volume = pilot()
        activity(pid, day, customers // 2, volume * rng.uniform(1.01, 1.2))
        f.label("PILOT_LIMIT_BREACH", pid, day, "volume")
        day = next(days)
        pid, _, _ = pilot(ends=day - dt.timedelta(days=1))
        f.label("PILOT_LIMIT_BREACH", pid, day, "past its end")
        day = next(days)
        pid, customers, volume = pilot(until=day - dt.timedelta(days=3))
        status(pid, day - dt.timedelta(days=3), "EXITED")
        activity(pid, day, customers // 3, volume * 0.2)
        f.label("PILOT_LIMIT_BREACH", pid, day, "business after exit")
        day = next(days)  # look-alike: extended before its end
        pid, _, _ = pilot(ends=day)
        status(pid, day - dt.timedelta(days=2), "EXTENDED", ends_on=last + dt.timedelta(days=90))
