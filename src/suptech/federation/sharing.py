"""An alert as another region may see it: its evidence redacted to what an agreement
allows (issue 25). Accounts become pseudonymous keys (HMAC-SHA256 under the
federation's key for the campaign: the same account is the same key in every alert of
the campaign, so two regions can see they share a suspect, and no one without the key
can go back to the account); amounts become bands; names, free text and any field not
listed are dropped; times are kept to the minute.
"""

from __future__ import annotations

import hashlib
import hmac
import math

import polars as pl

#: Fields of evidence that may travel, and how: a pseudonym, a band, kept, or to the minute.
ACCOUNTS = ("account_id", "debtor_account_id", "creditor_account_id", "buy_account_id",
            "sell_account_id")
AMOUNTS = ("amount", "quantity")
KEPT = ("currency", "channel", "purpose", "debtor_country", "creditor_country", "isin",
        "side", "event_type")
TIMES = ("ts_event",)
MINUTE = 60 * 10**9
#: What a shared alert carries, as an agreement for the `alerts` job names it.
RELEASED = ("typology", "score", "pseudonyms", "amount_bands", "times")


def pseudonym(key: bytes, account: str | None) -> str | None:
    if account is None:
        return None
    return "PK-" + hmac.new(key, account.encode(), hashlib.sha256).hexdigest()[:20]


def band(value) -> str | None:
    """The power-of-ten band a value falls in, halved: 10,000-50,000, 50,000-100,000."""
    if value is None:
        return None
    v = float(value)
    if v <= 0:
        return "0"
    decade = 10 ** math.floor(math.log10(v))
    lo, hi = (decade, 5 * decade) if v < 5 * decade else (5 * decade, 10 * decade)
    return f"{lo:,.0f}-{hi:,.0f}" if lo >= 1 else f"<{hi:g}"


def redact(alert: dict, evidence: pl.DataFrame, key: bytes) -> dict:
    """The alert and its evidence as shared: only the fields above, each as it says."""
    rows = []
    for row in evidence.to_dicts():
        shared = {}
        for name, value in row.items():
            if name in ACCOUNTS:
                shared[name] = pseudonym(key, value)
            elif name in AMOUNTS:
                shared[name] = band(value)
            elif name in TIMES:
                shared[name] = None if value is None else value // MINUTE * MINUTE
            elif name in KEPT:
                shared[name] = value
        rows.append(shared)
    return {"alert_id": alert["alert_id"], "typology": alert["typology"],
            "score": alert["score"], "isin": alert.get("isin"),
            "window_start": alert["window_start"] // MINUTE * MINUTE,
            "window_end": alert["window_end"] // MINUTE * MINUTE,
            "accounts": [pseudonym(key, a) for a in alert["account_ids"].split(";")],
            "evidence": rows}
