"""The alert: what a detector raises, in batch or in real time, as stored and exported.

Spelled once here; the store's table, the scan's and the stream's frames, the API's
shape and the exports are derived from these fields. Its first eight fields are the
export format of spec/EVALUATION.md; the rest say which detector, version and
parameters raised it and how.

An alert's id comes from its detector and its case: the key that makes two findings one
case (for most typologies the account, the instrument and the trading day). A case found
again, by a later scan or by the stream before it, keeps its id, and the fuller finding
replaces the partial one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    alert_id: str
    detector: str
    typology: str
    score: float  # 0..1, rounded to 4 places
    account_ids: str  # sorted, joined by ";"
    isin: str | None
    window_start: int  # ns since the epoch, UTC
    window_end: int
    evidence: str  # ids of order events, trades or payments, sorted, joined by ";"
    detector_version: str
    parameters: str  # the detector's parameters as JSON
    explanation: str | None  # JSON: a learned detector's reasons; the other detectors (`also`)
    scan_id: str | None = None  # the scan or stream run that stored it


FIELDS: dict[str, type] = {f.name: f.type for f in dataclasses.fields(Alert)}
#: What a detector run produces; `scan_id` is added where it is stored.
COLUMNS: list[str] = [name for name in FIELDS if name != "scan_id"]
#: Python types of the fields, for the store's, the frames' and the API's schemas.
TYPES: dict[str, type] = {"alert_id": str, "detector": str, "typology": str, "score": float,
                          "account_ids": str, "isin": str, "window_start": int,
                          "window_end": int, "evidence": str, "detector_version": str,
                          "parameters": str, "explanation": str, "scan_id": str}
#: Fields that may be empty.
OPTIONAL = frozenset({"isin", "explanation", "scan_id"})
assert set(TYPES) == set(FIELDS)


def alert_id(detector: str, case: str) -> str:
    """The same case found again gets the same id: re-scans and the stream do not
    re-alert it. `case` is the detector's case key, as text."""
    return "AL-" + hashlib.sha256(f"{detector}|{case}".encode()).hexdigest()[:16]


def also(explanation: str | None, others: list[dict]) -> str | None:
    """`explanation` with the alerts that found the same case (and joined this one)
    listed under "also": each one's detector, typology, score and own explanation."""
    if not others:
        return explanation
    e = json.loads(explanation) if explanation else {}
    e.setdefault("also", []).extend(
        {"detector": o["detector"], "typology": o["typology"], "score": o["score"],
         "explanation": json.loads(o["explanation"]) if o["explanation"] else None}
        for o in others)
    return json.dumps(e)


def detectors(detector: str, explanation: str | None) -> list[str]:
    """Every detector that found an alert's case: its own, then those it joined."""
    if not explanation or '"also"' not in explanation:
        return [detector]
    return [detector] + [o["detector"] for o in json.loads(explanation).get("also", [])]
