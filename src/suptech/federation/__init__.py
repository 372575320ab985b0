"""Coordinated supervision across regions: what regional nodes compute together without
handing over raw reports (issue 25)."""
