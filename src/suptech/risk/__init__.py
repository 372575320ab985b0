"""Risk monitoring and early warning (issue 26): market-wide indicators computed per
trading day from the report database, each a registered module like a detector, each
raising alerts of its own typology where the rules in force (`rules.toml`) say.
Importing the package registers them."""

from suptech.risk import (  # noqa: F401
    abnormal,
    cancellation,
    concentration,
    debtrank,
    disclosure,
    high_frequency,
    illiquidity,
    limits,
    order_ratios,
    pilot_limits,
    severe,
    tech_coverage,
    tech_incidents,
    tech_review,
)
