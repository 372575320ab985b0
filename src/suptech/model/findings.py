"""Validation findings are data: one feedback row per failed rule (spec/REPORTING.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    E001 = "E001"  # required field missing or empty
    E002 = "E002"  # wrong type or unparsable value
    E003 = "E003"  # value not in the allowed set
    E004 = "E004"  # identifier check failed
    E005 = "E005"  # numeric rule failed
    E006 = "E006"  # timestamp in the future or before retention start
    E007 = "E007"  # duplicate report_id for action NEW
    E008 = "E008"  # CORR or CANC for an unknown or already cancelled report_id
    E009 = "E009"  # reference not found
    E010 = "E010"  # cross-field rule failed
    W001 = "W001"  # warning only: suspicious but accepted

    @property
    def is_error(self) -> bool:
        return self.value.startswith("E")


#: The columns of a feedback file, in the order of the specification.
FEEDBACK_COLUMNS = ("file", "row", "report_id", "field", "code", "message")


@dataclass(frozen=True)
class FileSummary:
    """What happened to one submitted file."""

    file: str
    report_type: str | None
    rows: int
    accepted: int
    rejected: int
    warnings: int
    counts: dict[str, int]  # feedback rows per code
    duplicate: bool = False  # the same bytes were ingested before: nothing new stored
    error: str | None = None  # set when the file was unusable as a whole
    batch_id: str | None = None  # the stored submission (the earlier one for a duplicate)

    @property
    def unusable(self) -> bool:
        return self.error is not None


#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(values):
    """A polars frame whose text cells a spreadsheet cannot take for formulas: those
    that begin like one get a leading `'`, as OWASP advises for CSV exports that
    people open in Excel (a rejected record's own value is echoed in feedback)."""
    import polars as pl

    texts = [c for c, t in values.schema.items() if t == pl.String]
    starts = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "]"
    return values.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c)).alias(c) for c in texts)
