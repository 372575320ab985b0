"""What a reader makes of a file: raw columns, and the records it could not decode.

Readers never validate content; they only decode. A file that cannot be decoded as a
whole raises `UnusableFile`; a single record that cannot be decoded (a CSV row with the
wrong number of fields, a JSON line that is not an object, bytes that are not UTF-8)
becomes a `LineProblem` so that the rest of the file is still read.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

#: Row number column carried through validation: the 1-based data row of the file.
ROW = "__row"


class UnusableFile(Exception):
    """The file as a whole cannot be read; the message is one line for the user.

    `code` is the feedback code the file's single feedback row carries.
    """

    def __init__(self, message: str, code: str = "E002"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LineProblem:
    """A record that could not be decoded; `row` None is a problem of the whole file
    that does not stop its records (an ISO 20022 group header failing its schema)."""

    row: int | None
    message: str
    code: str = "E002"
    field: str | None = None
    report_id: str | None = None


@dataclass
class RawFile:
    frame: pl.DataFrame  # raw columns as found, plus ROW
    problems: list[LineProblem]  # rows that could not be decoded (not in frame)
    columns: list[str]  # the header as found


def short(text: str, limit: int = 40) -> str:
    """A value for a one-line message: line breaks as spaces, cut at `limit`."""
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[:limit] + "…"
