"""The rules the risk indicators measure against, from configuration (`rules.toml`).

The shipped file holds the exchanges' and regulators' published thresholds, board by
board; an installation replaces it whole with its own (`--rules FILE` or the
SUPTECH_RISK_RULES variable). A file that does not say what an indicator needs, or says
it wrongly, is refused with the key and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from suptech import configfile
from suptech.configfile import ConfigError, in_force

SHIPPED = Path(__file__).with_name("rules.toml")
ENV = "SUPTECH_RISK_RULES"

Share = Field(gt=0)
Down = Field(lt=0)


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Board(Section):
    #: The benchmark index of the board's shares by venue (MIC); "*": any other venue.
    index: dict[str, str]
    abnormal_3d: float = Share
    abnormal_turnover_ratio: float | None = Field(default=None, gt=0)
    abnormal_turnover_3d: float | None = Field(default=None, gt=0)
    severe_10d_up: float = Share
    severe_10d_down: float = Down
    severe_30d_up: float = Share
    severe_30d_down: float = Down
    severe_repeats: int = Field(ge=1)
    daily_measure: Literal["deviation", "change"]
    daily_price: float = Share
    daily_amplitude: float = Share
    daily_turnover: float = Share

    def index_at(self, mic: str | None) -> str | None:
        return self.index.get(mic or "", self.index.get("*"))


class OrderRatios(Section):
    max_number: float = Share
    max_volume: float = Share
    min_messages: int = Field(ge=1)
    max_cancellation: float = Field(gt=0, le=1)
    min_orders: int = Field(ge=1)


class HighFrequency(Section):
    per_second: int = Field(ge=1)
    per_day: int = Field(ge=1)


class Concentration(Section):
    hhi_floor: float = Field(gt=0, le=1)
    multiple: float = Share
    history: int = Field(ge=1)
    min_history: int = Field(ge=1)
    min_trades: int = Field(ge=1)


class Illiquidity(Section):
    multiple: float = Share
    days: int = Field(ge=1)
    history: int = Field(ge=1)
    min_history: int = Field(ge=1)


class LimitHits(Section):
    consecutive: int = Field(ge=1)
    top: int = Field(ge=1)


class DebtRank(Section):
    line: float = Field(gt=0, le=1)
    shock: float = Field(gt=0, le=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class Technology(Section):
    min_coverage: float = Share
    grace_days: int = Field(ge=1)
    window_days: int = Field(ge=1)
    max_serious: int = Field(ge=1)
    critical_alone: bool


class Pilots(Section):
    grace_days: int = Field(ge=0)


class Rules(Section):
    boards: dict[str, Board]
    order_ratios: OrderRatios
    high_frequency: HighFrequency
    concentration: Concentration
    illiquidity: Illiquidity
    limit_hits: LimitHits
    debtrank: DebtRank
    technology: Technology
    pilots: Pilots

    def history_days(self) -> int:
        """How many trading days before a scanned day its indicators read."""
        return max(30, self.concentration.history, self.illiquidity.history) + 1


RulesError = ConfigError


def load(path: Path | str) -> Rules:
    """The rules in the file at `path`, or a RulesError that names the file, the key
    and what is wrong with it."""
    return configfile.load(path, Rules, "risk rules")


def rules(path: Path | str | None = None) -> Rules:
    """The rules in force: `path`'s, else SUPTECH_RISK_RULES's file, else the shipped."""
    return in_force(Rules, "risk rules", SHIPPED, ENV, path)
