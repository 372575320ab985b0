"""Suitability as the CSRC's Measures for the Suitability Management of Securities and
Futures Investors (2017, amended 2022) define it, written once: the detectors, the
pages and the tests read it from here.

- Ordinary investors are in five risk-tolerance categories, C1 (lowest) to C5; products
  in five risk levels, R1 to R5. A sale is suitable when the product's level is within
  the investor's category (R_n to C_m with n <= m); professional investors may buy any.
- Above the investor's category, a sale is prohibited to the lowest category (art. 19:
  the lowest risk tolerance, a part of C1); otherwise allowed only when the investor
  asked for it (an institution may not promote it, art. 22), was given a special written
  risk warning and confirmed that they still want it (art. 22-23).
- A sale of a high-risk product (R4, R5) to an ordinary investor is recorded, sound or
  video, from start to end (art. 24).
- An investor is assessed before any sale (art. 8-10); an assessment past its
  `valid_until` is no assessment.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

CATEGORIES = ("C1", "C2", "C3", "C4", "C5")
LEVELS = ("R1", "R2", "R3", "R4", "R5")
PROFESSIONAL = "PROFESSIONAL"
HIGH_RISK = ("R4", "R5")

#: Why a sale is unsuitable, worst first, with the score an alert of it carries.
REASONS = {
    "PROHIBITED_LOWEST": 1.0,  # above the lowest category's level: never allowed
    "NO_ASSESSMENT": 0.95,  # sold to an investor not assessed (or past the assessment)
    "UNSOLICITED": 0.9,  # above level, and the investor did not ask for it
    "NO_WARNING": 0.85,  # asked for, but no special risk warning given
    "NO_CONFIRMATION": 0.8,  # warned, but the investor did not confirm
}


def rank(value: ir.StringValue, names: tuple[str, ...]) -> ir.IntegerValue:
    """1-5 of a category or level; null for any other value."""
    return value.cases(*[(name, k + 1) for k, name in enumerate(names)], else_=None)


def unsuitable(level: ir.StringValue, category: ir.StringValue, lowest: ir.BooleanValue,
               initiated: ir.BooleanValue, warning: ir.StringValue,
               confirmation: ir.StringValue) -> ir.StringValue:
    """The reason (of `REASONS`) a sale of a product of `level` to an investor of
    `category` (null: not assessed) is unsuitable, or null where it is suitable or
    allowed by the exceptions' evidence."""
    above = rank(level, LEVELS) > rank(category, CATEGORIES)
    return ibis.cases(
        (category.isnull(), "NO_ASSESSMENT"),
        (category == PROFESSIONAL, ibis.null("string")),
        (~above, ibis.null("string")),
        (ibis.coalesce(lowest, False), "PROHIBITED_LOWEST"),
        (~ibis.coalesce(initiated, False), "UNSOLICITED"),
        (warning.isnull(), "NO_WARNING"),
        (confirmation.isnull(), "NO_CONFIRMATION"),
        else_=ibis.null("string"))


def needs_recording(level: ir.StringValue, category: ir.StringValue) -> ir.BooleanValue:
    """Whether the sale must be recorded: a high-risk product to an ordinary investor (or
    one not assessed, who is no professional)."""
    return level.isin(HIGH_RISK) & (ibis.coalesce(category, "") != PROFESSIONAL)
