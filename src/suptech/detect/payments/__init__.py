"""Money-laundering detectors on the payment flow, one module each; importing registers them."""

from suptech.detect.payments import (  # noqa: F401
    bipartite,
    corridor,
    cycle,
    dormant,
    fan_in,
    fan_out,
    gather_scatter,
    learned,
    random_walk,
    rapid,
    scatter_gather,
    stack,
    structuring,
)
