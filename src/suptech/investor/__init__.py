"""Investor protection (issue 27): suitability supervision of product sales and the
complaints' clock. Importing the package registers its detectors."""

from suptech.investor import (  # noqa: F401
    elderly,
    gaming,
    overdue,
    peers,
    promotion,
    recording,
    unsuitable,
)
