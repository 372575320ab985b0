"""The shape of a risk indicator: a detector of domain "risk" with levels.

An indicator measures something per day (per instrument, member, account or group) and
says how far the measure is from its rule as a `level`: the measure over its threshold,
1 at the threshold, so that the dashboard's heat map and the alerts read the same
numbers. Its alerts are its rows at level 1 or more on the days a run reports on, one
case per subject and day, scored by how far over the line they are. The thresholds are
its section of the rules in force (`suptech.risk.rules`), which are its parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from suptech.detect.base import Detector, Params, hits_table
from suptech.risk.rules import rules

#: The columns of every indicator's levels, before its own.
LEVEL_COLUMNS = ("day", "isin", "subject", "value", "level")


@dataclass(frozen=True)
class RuleParams(Params):
    """An indicator's section of the rules (a pydantic model), as its parameters."""

    rules: Any

    def as_json(self) -> str:
        plain = ({k: v.model_dump() for k, v in self.rules.items()}
                 if isinstance(self.rules, dict) else self.rules.model_dump())
        return json.dumps(plain, sort_keys=True)


class Indicator(Detector):
    """Set `id`, `typology`, `section`; implement `levels`."""

    domain: ClassVar[str] = "risk"
    calibrated: ClassVar[bool] = False
    #: Its section of the rules (`Rules`' field).
    section: ClassVar[str]
    #: What its subject is: "instrument", "member", "account" or "group".
    subject: ClassVar[str] = "instrument"
    Params: ClassVar[type] = RuleParams

    def __init__(self, params: RuleParams | None = None, rules_path=None):
        # Read when first needed: listing the registry never fails on a rules file.
        self._params, self._path = params, rules_path

    @property
    def params(self) -> RuleParams:
        if self._params is None:
            self._params = RuleParams(getattr(rules(self._path), self.section))
        return self._params

    def data_options(self) -> dict:
        """Its day's history, as long as the rules in force look back."""
        return {"history": rules(self._path).history_days()}

    def by_default(self) -> bool:
        """A plain scan runs the abuse detectors; the risk indicators run by day
        (`suptech risk scan`), over their history."""
        return False

    @property
    def rules(self):
        return self.params.rules

    def levels(self, r) -> ir.Table:
        """Per day and subject: `day`, `isin` (null for a subject's whole day),
        `subject` (its id; the isin for an instrument's), `value` (the measure), `level`
        (1 at the rule's threshold), `accounts` (array of the accounts concerned),
        `why` (a JSON text: what was measured against what) and, where not every day
        at level 1 or more is a case of its own (a rule that counts afresh after a
        trigger, a run of days that is one case), `raised`: the days that are."""
        raise NotImplementedError

    def hits(self, r) -> ir.Table:
        t = r.reported(self.levels(r))
        t = t.filter(t.raised if "raised" in t.columns else at_line(t.level))
        # A case is a subject's day in a share: a member may pass a line in two shares
        # on one day, two cases. Its explanation names the subject first (what an
        # evaluation's label of an institution is matched by).
        return hits_table(t.mutate(
            account_ids=t.accounts, window_start=r.day_start(t.day),
            window_end=r.day_close(t.day), score=t.level / (1 + t.level),
            evidence=ibis.literal([], type="array<string>"),
            explanation=ibis.literal('{"subject": "') + t.subject.cast("string") + '", '
            + t.why.substr(1),
            share=ibis.coalesce(t.isin, "")), case=("subject", "share", "day"))


def at_line(level: ir.FloatingValue) -> ir.BooleanValue:
    """Whether a level is at its line or over: a measure that reaches the line, as the
    rules say, within the last bits of floating point (returns of 5 %, 5 % and 10 % add
    up to 0.19999999999999998)."""
    return level.round(9) >= 1


def begins(t: ir.Table, key: str, order: str, breach: ir.BooleanValue,
            step: int | None = None) -> ir.BooleanValue:
    """A breach raised on the day it begins, not each day it lasts: `breach` where the
    subject's (`key`) row before it in `order` was not in breach; with `step`, a row
    that is not `step` before it (a calendar day with no row) counts as not in breach."""
    before = ibis.window(group_by=key, order_by=order)
    was = ibis.coalesce(breach.lag().over(before), False)
    if step is not None:
        was = was & (t[order].lag().over(before) == t[order] - step)
    return breach & ~was


def why(**parts: ir.Value | str | float) -> ir.StringValue:
    """A JSON object of Ibis values, as text, made by the engine: numbers rounded to 6
    places (a null number is null), texts quoted (ids and names: no quotes in them)."""
    pieces = []
    for name, v in parts.items():
        if not isinstance(v, ir.Value):
            v = ibis.literal(v)
        if v.type().is_numeric():
            text = ibis.coalesce(v.cast("float64").round(6).cast("string"), ibis.literal("null"))
        elif v.type().is_boolean():
            text = ibis.ifelse(v, "true", "false")
        else:
            text = ibis.coalesce(ibis.literal('"') + v.cast("string") + '"',
                                 ibis.literal("null"))
        pieces.append(ibis.literal(f'"{name}": ') + text)
    out = ibis.literal("{")
    for i, p in enumerate(pieces):
        out = out + (ibis.literal(", ") if i else ibis.literal("")) + p
    return out + "}"
