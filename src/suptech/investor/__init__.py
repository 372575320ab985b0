"""Investor protection (issue 27): suitability supervision of product sales. Importing
the package registers its detectors."""

from suptech.investor import (  # noqa: F401
    elderly,
    gaming,
    promotion,
    recording,
    unsuitable,
)
