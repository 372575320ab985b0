"""Data-sharing agreements: which regions may run which joint job together, on which
fields, who learns the result and what a release may cost; versioned configuration
the coordinator publishes and every node checks before it takes part (issue 25).

An agreements file is JSON: a list of agreements, each with an id and a version. The
newest version of an id is the one in force (an older one is kept for the record of
what earlier jobs ran under). A node asks `Agreements.allow` before it answers a job;
a job no agreement covers is refused, saying why, and the refusal goes into the node's
audit log (`refuse`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel, Field, ValidationError, field_serializer, field_validator, model_validator)

from suptech.ops import audit
from suptech.ops.access import JURISDICTIONS, Refused

#: The joint jobs (`federation.psi`, `.linkage`, `.secure_sum`, alerts shared as
#: `.sharing` redacts them, cases worked jointly (`.joint`), and the next to come).
Job = Literal["psi", "linkage", "secure_sum", "alerts", "joint_cases", "risk_propagation"]


class Agreement(BaseModel):
    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    job: Job
    regions: frozenset[str] = Field(min_length=2)
    #: What the job may read: identifier kinds for PSI, fields for linkage, indicators
    #: for an aggregate.
    fields: frozenset[str] = Field(min_length=1)
    #: The regions that learn the result (the others only take part).
    released_to: frozenset[str]
    #: A secure sum's largest privacy budget per release (zCDP rho); None: not a sum.
    max_rho: float | None = Field(default=None, gt=0)
    valid_from: date
    valid_to: date | None = None

    @field_validator("regions", "released_to")
    @classmethod
    def _known(cls, regions: frozenset[str]) -> frozenset[str]:
        unknown = sorted(regions - set(JURISDICTIONS))
        if unknown:
            raise ValueError(f"unknown regions {unknown} (regions: {', '.join(JURISDICTIONS)})")
        return regions

    @field_serializer("regions", "released_to", "fields")
    def _sorted(self, names: frozenset[str]) -> list[str]:
        return sorted(names)

    @model_validator(mode="after")
    def _coherent(self) -> Agreement:
        if not self.released_to <= self.regions:
            raise ValueError("released_to names a region that is not a party")
        if (self.job == "secure_sum") != (self.max_rho is not None):
            raise ValueError("max_rho is a secure sum's, and a secure sum needs one")
        return self


class Agreements:
    """The agreements in force, newest version of each id."""

    def __init__(self, agreements: list[Agreement]):
        self.all = agreements
        newest: dict[str, Agreement] = {}
        for a in agreements:
            if a.id not in newest or a.version > newest[a.id].version:
                newest[a.id] = a
        self.in_force = sorted(newest.values(), key=lambda a: a.id)

    @classmethod
    def load(cls, path: Path) -> Agreements:
        """From a JSON file; a malformed one is refused naming the agreement and field."""
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a readable JSON file of agreements ({e})") from None
        if not isinstance(raw, list):
            raise ValueError(f"{path}: a JSON list of agreements is expected")
        found = []
        for i, item in enumerate(raw):
            try:
                found.append(Agreement.model_validate(item))
            except ValidationError as e:
                where = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
                errors = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'agreement'}: {x['msg']}"
                                   for x in e.errors())
                raise ValueError(f"{path}: agreement {where}: {errors}") from None
        return cls(found)

    def allow(self, job: str, regions: set[str], asker: str, fields: set[str],
              on: date, rho: float | None = None) -> Agreement:
        """The agreement in force under which `asker` may run `job` with `regions` on
        `fields` and learn its result; else Refused, saying why."""
        parties = frozenset(regions | {asker})
        covering = [a for a in self.in_force if a.job == job and parties <= a.regions
                    and a.valid_from <= on and (a.valid_to is None or on <= a.valid_to)]
        if not covering:
            raise Refused("no agreement in force for {job} between {regions}", job=job,
                          regions=", ".join(sorted(parties)))
        for a in covering:
            if asker in a.released_to and fields <= a.fields and (
                    rho is None or a.max_rho is None or rho <= a.max_rho):
                return a
        a = covering[0]
        if asker not in a.released_to:
            raise Refused("{asker} may take part in {job} but not learn its result "
                          "(agreement {id} v{version})", asker=asker, job=job, id=a.id,
                          version=a.version)
        if not fields <= a.fields:
            raise Refused("{fields} not in agreement {id} v{version}",
                          fields=", ".join(sorted(fields - a.fields)), id=a.id, version=a.version)
        raise Refused("a release of rho {rho} is over agreement {id} v{version}'s {max_rho}",
                      rho=rho, id=a.id, version=a.version, max_rho=a.max_rho)


def refuse(con, node: str, asker: str, job: str, refused: Refused) -> None:
    """Put a refusal into this node's audit log: who asked for what, and why not."""
    audit.record(con, asker, "federation.refused", "job", job, node=node, why=str(refused))


def checked(agreements: Agreements, ops, member: str, job: str, others: set[str], asker: str,
            fields: set[str], rho: float | None = None) -> Agreement:
    """The agreement `member` goes by for `asker`'s job today; else Refused, the refusal
    first put into `member`'s audit log (its operational database `ops`)."""
    try:
        return agreements.allow(job, others, asker, fields, date.today(), rho)
    except Refused as e:
        with ops.begin() as con:
            refuse(con, member, asker, job, e)
        raise
