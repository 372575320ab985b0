"""E002: a text value holding a control character (NUL and the other C0 codes).

No report field is binary: a NUL or a backspace inside an identifier or a name is a
writer's bug or an attempt to make two values look alike (and NUL cuts strings short
in C tools that read the store downstream). Tab, line feed and carriage return are
left alone: a free-text field may hold them. Only free-text fields are looked at:
every other kind of text (identifiers, codes, enums) has a pattern or a code list that
a control character already fails.
"""

from __future__ import annotations

import polars as pl

from suptech.ingest.checks.base import Check, Failure, register
from suptech.model.findings import Code
from suptech.model.reports import Kind

#: The control characters: C0 but tab, line feed and carriage return, and DEL. Looked
#: for as so many literals (a regular expression's class took half again as long).
CONTROL = [chr(c) for c in (*range(0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f)]


@register
class ControlCharacters(Check):
    codes = (Code.E002,)

    def failures(self, batch):
        for f in batch.rt.all_fields:
            if batch.has_column(f.name) and f.kind is Kind.TEXT:
                yield Failure(Code.E002, f.name, pl.col(f.name).str.contains_any(CONTROL),
                              pl.lit(f"{f.name} holds a control character (such as NUL)"))
