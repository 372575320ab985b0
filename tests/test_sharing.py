"""An alert shared with another region carries no account number, no exact amount and
no name: accounts as keys the campaign's key makes (the same account the same key, so
regions see a common suspect), amounts in bands, times to the minute."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl

from suptech.federation.sharing import band, redact

ALERT = {"alert_id": "AL-1", "typology": "FAN_IN", "score": 0.91, "isin": None,
         "window_start": 1_772_415_012_345_678_901, "window_end": 1_772_418_000_000_000_001,
         "account_ids": "PAY17;PAY9"}
PAYMENTS = pl.DataFrame({
    "ts_event": [1_772_415_012_345_678_901, 1_772_416_000_123_000_000],
    "payment_id": ["p-1", "p-2"], "debtor_account_id": ["PAY9", "PAY11"],
    "creditor_account_id": ["PAY17", "PAY17"], "amount": [Decimal("48000.00"), Decimal("730.50")],
    "currency": ["CNY", "CNY"], "channel": ["RTGS", "MOBILE"],
    "debtor_name": ["Zhang San", "Li Si"], "remittance_info": ["rent", "loan"]})


def test_no_account_amount_or_name_travels_and_a_suspect_stays_recognisable():
    shared = redact(ALERT, PAYMENTS, b"campaign-key-1")
    text = json.dumps(shared, default=str)
    for secret in ("PAY17", "PAY9", "PAY11", "48000", "730.5", "Zhang", "Li Si", "rent",
                   "p-1", "345678901"):
        assert secret not in text
    first, second = shared["evidence"]
    assert first["creditor_account_id"] == second["creditor_account_id"]  # PAY17 twice
    assert first["creditor_account_id"] in shared["accounts"]
    assert (first["amount"], second["amount"]) == ("10,000-50,000", "500-1,000")
    assert first["ts_event"] % (60 * 10**9) == 0 and first["channel"] == "RTGS"


def test_another_campaigns_key_gives_other_pseudonyms():
    one = redact(ALERT, PAYMENTS, b"campaign-key-1")["accounts"]
    two = redact(ALERT, PAYMENTS, b"campaign-key-2")["accounts"]
    assert set(one).isdisjoint(two)


def test_bands():
    assert [band(x) for x in (0, 3, 12, 60, 999, 1000, 49_999.99, 50_000, None)] == [
        "0", "1-5", "10-50", "50-100", "500-1,000", "1,000-5,000", "10,000-50,000",
        "50,000-100,000", None]
