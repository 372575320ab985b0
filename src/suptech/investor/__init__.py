"""Investor protection (issue 27): suitability supervision of product sales and the
complaints' clock. Importing the package registers its detectors."""

from suptech.investor import (  # noqa: F401
    complaint_rate,
    elderly,
    gaming,
    mismatch,
    overdue,
    peers,
    promotion,
    recording,
    stale,
    unsuitable,
)
