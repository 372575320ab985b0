"""What the consumer says back: each message's answer (its rows' feedback, numbered as its
sender numbered them), a refusal, the bytes sent within NATS' limit, and the alerts
published per region."""

from __future__ import annotations

import json

import numpy as np
import polars as pl


def answers_by_message(feedback: pl.DataFrame, firsts: list[int]) -> list[list[dict]]:
    """A group's feedback split by message (`firsts`: each message's first row in the
    group), rows numbered from 1 within their message as the sender numbered them."""
    out: list[list[dict]] = [[] for _ in firsts]
    if feedback.is_empty():
        return out
    starts = np.asarray(firsts, dtype=np.int64)
    rows = feedback["row"].to_numpy()
    which = np.searchsorted(starts, np.nan_to_num(rows, nan=0).astype(np.int64), "right") - 1
    feedback = feedback.with_columns(
        pl.col("row") - pl.Series(starts[np.maximum(which, 0)]) + 1)
    for i, item in zip(which, feedback.to_dicts()):
        out[max(int(i), 0)].append(item)
    return out


def answer(subject: str, seq: int, batch_id: str | None, first: int, last: int,
           feedback: list[dict], duplicate: bool) -> dict:
    """One message's answer; `feedback` rows numbered from 1 as in the message it sent."""
    failed = len({f["row"] for f in feedback if f["code"].startswith("E")})
    warned = len({f["row"] for f in feedback if f["code"].startswith("W")})
    rows = last - first + 1
    return {"subject": subject, "stream_seq": seq, "batch_id": batch_id, "rows": rows,
            "accepted": rows - failed, "rejected": failed, "warnings": warned,
            "duplicate": duplicate, "error": None, "feedback": feedback}


def feedback_bytes(body: dict, limit: int) -> bytes:
    """An answer as sent: within NATS' payload limit. A message with thousands of
    faulty rows gets its first feedback items, the count, and where to read them all."""
    data = json.dumps(body, default=str).encode()
    items = body["feedback"]
    keep = len(items)
    while len(data) > limit and keep:
        keep = keep * limit // len(data) * 9 // 10  # to about 90 % of the limit
        data = json.dumps({**body, "feedback": items[:keep], "feedback_total": len(items),
                           "feedback_truncated": (
                               f"the first {keep:,} of {len(items):,} feedback items: all "
                               f"of them at GET /v1/submissions/{body['batch_id']}/feedback")},
                          default=str).encode()
    return data


def refusal(subject: str, seq: int, reason: str) -> dict:
    return {"subject": subject, "stream_seq": seq, "batch_id": None, "rows": 0, "accepted": 0,
            "rejected": 0, "duplicate": False, "error": reason, "feedback": []}


async def publish_alerts(nc, prefix: str, alerts: pl.DataFrame) -> None:
    """Each alert on `<prefix>.alerts.<region>` of each region it involves (`unassigned`
    when its accounts' owners are not in the register)."""
    for alert in alerts.to_dicts():
        body = json.dumps(alert).encode()
        for region in alert["regions"] or ["unassigned"]:
            await nc.publish(f"{prefix}.alerts.{region}", body)
