"""What people are shown: moments in the deployment's one time zone, prices at the tick."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from suptech.model import display

# 2026-03-02 01:30:00 UTC, 09:30 in Shanghai.
OPEN_NS = 1_772_415_000_000_000_000


@pytest.fixture
def zone(monkeypatch):
    def set_zone(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("SUPTECH_TIME_ZONE", raising=False)
        else:
            monkeypatch.setenv("SUPTECH_TIME_ZONE", name)
        display.zone.cache_clear()
    yield set_zone
    display.zone.cache_clear()


def test_moments_are_shown_in_the_deployments_zone_shanghai_by_default(zone):
    zone(None)
    assert display.local_times(pl.Series([OPEN_NS])) == ["2026-03-02 09:30:00.000"]
    assert display.iso_local("2026-03-02T01:30:00.250000+00:00") == "2026-03-02 09:30:00"
    zone("Europe/London")
    assert display.local_times(pl.Series([OPEN_NS])) == ["2026-03-02 01:30:00.000"]


def test_a_zone_that_is_no_zone_is_said_plainly(zone):
    zone("Shanghai")
    with pytest.raises(ValueError, match="SUPTECH_TIME_ZONE='Shanghai' is not a time zone"):
        display.zone()


@pytest.mark.parametrize(("price", "tick", "shown"), [
    ("18.410000000", "0.010000000", "18.41"),
    ("18.400000000", "0.010000000", "18.40"),
    ("7.125000000", "0.005", "7.125"),
    ("1250.000000000", "5", "1250"),
    ("18.410000000", None, "18.41"),
])
def test_a_price_is_shown_to_its_instruments_tick(price, tick, shown):
    assert display.at_tick(Decimal(price), Decimal(tick) if tick else None) == shown


def test_evidence_reads_in_local_time_with_prices_at_the_tick_and_amounts_in_cents(zone):
    zone(None)
    orders = pl.DataFrame({"ts_event": [OPEN_NS], "isin": ["CNE000000081"],
                           "price": [Decimal("18.410000000")], "quantity": [9800]})
    shown = display.readable(orders, {"CNE000000081": Decimal("0.01")})
    assert shown.row(0) == ("2026-03-02 09:30:00.000", "CNE000000081", "18.41", 9800)
    payments = pl.DataFrame({"ts_event": [OPEN_NS], "amount": [Decimal("17246.270000000")]})
    assert display.readable(payments).row(0) == ("2026-03-02 09:30:00.000", "17246.27")
