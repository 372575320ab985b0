"""Writing report files of the specification, and the labels that go with simulated ones.

Parquet carries timestamps as int64 nanoseconds since the epoch (UTC) and amounts as
decimals; CSV carries ISO 8601 timestamps with the +08:00 offset of the Chinese
markets, as an institution's system would write them. Payments may also be written as
one ISO 20022 pacs.008 message per file (`xml`), with the same text values as CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from suptech.model.reports import Kind, report_type

FORMATS = ("parquet", "csv")
#: Formats only some report types have: payments as ISO 20022 pacs.008.
TYPE_FORMATS = {"xml": ("payment",)}
#: EVALUATION.md's label columns, and `variant`: how the case was carried out, where a
#: typology is injected more than one way (empty otherwise), so that detection can be
#: scored per variant; and `subject`: for a risk indicator's case that is neither an
#: account's nor a share's (an institution's), whose it is (empty otherwise).
LABEL_COLUMNS = ["scenario_id", "typology", "account_ids", "isin", "window_start", "window_end",
                 "variant", "subject"]


@dataclass(frozen=True)
class Label:
    scenario_id: str
    typology: str
    account_ids: list[str]
    isin: str | None
    window_start_ns: int
    window_end_ns: int
    variant: str = ""
    subject: str = ""


def _iso(ns_column: str) -> pl.Expr:
    return (pl.from_epoch(pl.col(ns_column), "ns").dt.replace_time_zone("UTC")
            .dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m-%dT%H:%M:%S%.9f%:z"))


def write_reports(frame: pl.DataFrame, type_name: str, out: Path, stem: str,
                  fmt: str = "parquet") -> Path:
    """One report file, `<stem>.<fmt>`; columns in the specification's order."""
    rt = report_type(type_name)
    frame = frame.select([f.name for f in rt.all_fields if f.name in frame.columns])
    path = out / f"{stem}.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(path)
        return path
    stamps = [f.name for f in rt.all_fields if f.kind is Kind.TIMESTAMP and f.name in frame.columns]
    text = frame.with_columns(_iso(c).alias(c) for c in stamps)
    if fmt == "xml":
        if type_name not in TYPE_FORMATS["xml"]:
            raise ValueError(f"{type_name} reports have no XML form")
        from suptech.formats.pacs008 import write_pacs008
        return write_pacs008(text.with_columns(pl.all().cast(pl.String)), path)
    text.write_csv(path)
    return path


def anonymous_accounts(accounts: list[str], prefix: str, submitter: str, ts: int,
                       region: str, opened: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Party and account reports for an importer's synthetic accounts (a feed that names
    no trader): each account has an owner of its own, so that no two look related."""
    owners = [f"{prefix}-PUBLIC-{a}" for a in accounts]
    common = {"action": "NEW", "submitter": submitter, "ts_event": ts}
    party = pl.DataFrame({"report_id": [f"{prefix}P{i + 1}" for i in range(len(accounts))],
                          **common, "party_id": owners, "party_type": "PERSON",
                          "region": region})
    account = pl.DataFrame({"report_id": [f"{prefix}A{i + 1}" for i in range(len(accounts))],
                            **common, "account_id": accounts, "owner_party_id": owners,
                            "member_lei": submitter, "account_type": "CASH",
                            "opened_date": opened})
    return party, account


def write_labels(labels: list[Label], out: Path) -> Path:
    frame = pl.DataFrame({
        "scenario_id": [x.scenario_id for x in labels],
        "typology": [x.typology for x in labels],
        "account_ids": [";".join(x.account_ids) for x in labels],
        "isin": [x.isin for x in labels],
        "window_start": [x.window_start_ns for x in labels],
        "window_end": [x.window_end_ns for x in labels],
        "variant": [x.variant for x in labels],
        "subject": [x.subject for x in labels],
    }, schema={"scenario_id": pl.String, "typology": pl.String, "account_ids": pl.String,
               "isin": pl.String, "window_start": pl.Int64, "window_end": pl.Int64,
               "variant": pl.String, "subject": pl.String})
    path = out / "labels.csv"
    frame.with_columns(_iso("window_start").alias("window_start"),
                       _iso("window_end").alias("window_end")).write_csv(path)
    return path


def ns_of(moment: datetime) -> int:
    return int(moment.astimezone(timezone.utc).timestamp() * 1_000_000) * 1000


def write_truth(payment_ids: pl.Series, typologies: pl.Series, out: Path) -> Path:
    """`truth.parquet`: which payments are laundering and of which typology (null when
    benign), for scores over transactions and for training a model."""
    path = out / "truth.parquet"
    pl.DataFrame({"payment_id": payment_ids, "typology": typologies}).with_columns(
        pl.col("typology").is_not_null().alias("is_laundering")).write_parquet(path)
    return path


def institution_parties(institutions: list[tuple[str, str, str]], ts_event: int) -> pl.DataFrame:
    """The reporting institutions themselves as party reports, each by itself:
    (LEI, name, region) each, so that what they sent is shown under their names."""
    return pl.DataFrame({
        "report_id": [f"INST-{lei}" for lei, _, _ in institutions], "action": "NEW",
        "submitter": [lei for lei, _, _ in institutions], "ts_event": ts_event,
        "party_id": [f"INST-{lei}" for lei, _, _ in institutions], "party_type": "ENTITY",
        "lei": [lei for lei, _, _ in institutions],
        "region": [region for _, _, region in institutions],
        "name": [name for _, name, _ in institutions]},
        schema_overrides={"ts_event": pl.Int64})
