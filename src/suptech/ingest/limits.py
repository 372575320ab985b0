"""The limits a submission must keep to, in one place (the README lists them).

They bound what one file, message or request can make the platform spend: a report
type has at most a few dozen fields, so a file of thousands of columns, an object of
thousands of keys or a value nested a hundred deep is not a report file but an attack
or an accident, and is refused with a line that says which limit it broke.
"""

from __future__ import annotations

#: Columns of one file (a CSV header, a Parquet or Arrow schema, the distinct field
#: names of a JSON Lines file).
MAX_COLUMNS = 1_000
#: Keys of one JSON object (one JSON Lines record).
MAX_KEYS = 1_000
#: Nesting of arrays and objects inside one JSON Lines record.
MAX_DEPTH = 32
#: Characters of a CSV header line.
MAX_HEADER_CHARS = 100_000
#: Attributes of one XML element (ISO 20022 elements carry at most one or two).
MAX_XML_ATTRIBUTES = 64
#: Transactions of one pacs.008 file whose schema failures are explained element by
#: element (xmlschema is slow); later failures are described by libxml2's own message.
MAX_EXPLAINED = 200

