"""Reconciliation's settings, from configuration (`rules.toml`): the tolerances within
which two reports of one execution agree, and each report type's deadline, per market
where it differs."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from suptech.configfile import ConfigError, in_force

SHIPPED = Path(__file__).with_name("rules.toml")
ENV = "SUPTECH_RECONCILE_RULES"
WHAT = "reconciliation rules"
RulesError = ConfigError


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(Section):
    price: float = Field(0.0, ge=0)
    quantity: int = Field(0, ge=0)
    time_ms: int = Field(1000, ge=0)
    accounts: bool = True


class Deadline(Section):
    days: int = Field(ge=0)
    time: str

    @field_validator("time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        h, _, m = v.partition(":")
        if not (h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60):
            raise ValueError(f"{v!r} is not a time of day HH:MM")
        return v

    @property
    def minutes(self) -> int:
        h, m = self.time.split(":")
        return int(h) * 60 + int(m)


class Rules(Section):
    match: Match = Match()
    deadlines: dict[str, Deadline] = {}
    markets: dict[str, dict[str, Deadline]] = {}

    @field_validator("deadlines")
    @classmethod
    def _types(cls, v: dict) -> dict:
        from suptech.model.reports import REPORT_TYPES

        unknown = sorted(set(v) - set(REPORT_TYPES))
        if unknown:
            raise ValueError(f"no report type {', '.join(unknown)} (one of "
                             f"{', '.join(REPORT_TYPES)})")
        return v

    @field_validator("markets")
    @classmethod
    def _market_types(cls, v: dict) -> dict:
        for deadlines in v.values():
            cls._types(deadlines)
        return v

    def timed(self, report_type: str) -> bool:
        """Whether reports of the type have a deadline, in general or in some market."""
        return report_type in self.deadlines or any(report_type in m
                                                    for m in self.markets.values())

    def deadline(self, report_type: str, mic: str | None = None) -> Deadline | None:
        """A report type's deadline in a market (its own there, else the general one)."""
        return self.markets.get(mic or "", {}).get(report_type) \
            or self.deadlines.get(report_type)


def rules(path: Path | str | None = None) -> Rules:
    """The settings in force: `path`'s, else SUPTECH_RECONCILE_RULES's file, else the
    shipped."""
    return in_force(Rules, WHAT, SHIPPED, ENV, path)
