"""The shape of a validation check and the registry that holds them.

A check looks at a whole batch and returns `Failure`s: for one code and one field, a
boolean expression that is true on each failing row and a message expression that is
evaluated only on those rows. Checks run in stages because some depend on others:

- ROW: rules on one row's own values (E001-E006, E010, W001);
- REFERENCE: rules that look up other reports in the store (E009, tick and lot sizes);
- LIFECYCLE: NEW/CORR/CANC sequencing (E007, E008), which must know which rows
  survived every other rule, because a rejected NEW creates nothing.

A third party's check registers itself exactly like the built-in ones do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar, Iterable

import polars as pl

from suptech.model.findings import Code

if TYPE_CHECKING:
    from suptech.ingest.validate import Batch


class Stage(IntEnum):
    ROW = 0
    REFERENCE = 1
    LIFECYCLE = 2


@dataclass(frozen=True)
class Failure:
    code: Code
    field: str
    mask: pl.Expr  # true on the rows that fail
    message: pl.Expr  # evaluated on failing rows only


class Check:
    """Base class: set `codes` and `stage`, implement `failures`."""

    codes: ClassVar[tuple[Code, ...]]
    stage: ClassVar[Stage] = Stage.ROW

    def failures(self, batch: Batch) -> Iterable[Failure]:
        raise NotImplementedError


@dataclass
class Registry:
    checks: list[Check] = field(default_factory=list)

    def register(self, cls: type[Check]) -> type[Check]:
        self.checks.append(cls())
        return cls

    def for_stage(self, stage: Stage) -> list[Check]:
        return [c for c in self.checks if c.stage is stage]


REGISTRY = Registry()
register = REGISTRY.register


def quoted(expr: pl.Expr, limit: int = 40) -> pl.Expr:
    """A raw value for a message: as text, shortened so a message stays one line."""
    text = expr.cast(pl.String)
    return (
        pl.when(text.str.len_chars() > limit)
        .then(pl.concat_str(text.str.slice(0, limit), pl.lit("…")))
        .otherwise(text)
        .str.replace_all(r"[\r\n]", " ")
    )


def isin(expr: pl.Expr, values) -> pl.Expr:
    """`expr.is_in(values)` for a Series or any collection of plain values."""
    if isinstance(values, pl.Series):
        return expr.is_in(values.implode())
    return expr.is_in(list(values))


def decimal_text(expr: pl.Expr) -> pl.Expr:
    """A decimal as people write it: 55.5 rather than 55.500000000."""
    return expr.cast(pl.String).str.replace(r"(\.\d*?)0+$", "${1}").str.replace(r"\.$", "")


def message(template: str, *values: pl.Expr) -> pl.Expr:
    """`pl.format` with each value quoted; a template without {} is a literal."""
    if not values:
        return pl.lit(template)
    return pl.format(template, *(quoted(v) for v in values))
