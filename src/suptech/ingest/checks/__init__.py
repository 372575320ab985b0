"""Built-in validation checks, one module per rule; importing registers them."""

from suptech.ingest.checks import (  # noqa: F401
    crossfield,
    enums,
    identifiers,
    lifecycle,
    numeric,
    owner,
    references,
    required,
    selfmatch,
    text,
    ticks,
    timestamps,
    types,
)
